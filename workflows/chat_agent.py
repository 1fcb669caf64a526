"""``chat-agent``: a conversational agent on input streams, runnable with no API key.

The run waits for the user's next message on the input stream ``message``
(``messages.wait``: the run is WAITING between messages and holds no slot and no
process, so a conversation that lasts a week costs nothing while idle). Each reply is
made in a durable step by a deterministic stand-in for a model (the same text on every
resume), then streamed out word by word as the run's stream ``reply-<turn>``. A message
starting with ``/tool`` asks for a "tool call": the agent waits for a human's approval
on a wait token (its id in the run's metadata as ``approvalTokenId``) before running the
tool in a step. Sending anything to the input stream ``cancel`` (read with ``on`` while
the code runs) stops the reply being streamed and ends the conversation; a cancel sent
while the agent waits for a message is read as the next message comes (that reply is
not streamed). ``/bye``, ``max_turns`` messages, or no message for ``idle_timeout`` end
it too.

Talk to it from Python::

    handle = await tasks.trigger("chat-agent", {})
    await messages.send(handle.id, {"text": "hello"})
    async for chunk in runs.subscribe_to_stream(handle, "reply-0"): print(chunk)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel

from durableruns import TaskContext, step, streams, task, wait


class ChatMessage(BaseModel):
    """What the user sends on ``message``."""

    text: str


class ChatOptions(BaseModel):
    """The run's payload."""

    max_turns: int = 20
    idle_timeout: str = "7d"
    word_delay_s: float = 0.01


messages = streams.input("message", model=ChatMessage)
cancel = streams.input("cancel")


def stand_in_model(text: str, turn: int) -> str:
    """A deterministic 'model': the reply depends only on the message and the turn."""
    if text.startswith("/tool"):
        return f"I would like to run the tool with {text.removeprefix('/tool').strip()!r}."
    return f"Turn {turn}: you said {text!r}, which has {len(text.split())} words."


def run_tool(argument: str) -> str:
    """The "tool" (here: a stand-in that shouts)."""
    return argument.upper()


async def _words(reply: str, stopped: asyncio.Event, delay_s: float) -> AsyncIterator[str]:
    for word in reply.split(" "):
        if stopped.is_set():
            return
        yield word + " "
        await asyncio.sleep(delay_s)


@task(id="chat-agent")
async def chat_agent(payload: ChatOptions, ctx: TaskContext) -> dict[str, Any]:
    """The conversation loop; returns the turns it took and why it ended."""
    stopped = asyncio.Event()
    cancel.on(lambda _value: stopped.set())
    transcript: list[dict[str, str]] = []
    ended = "max_turns"
    for turn in range(payload.max_turns):
        message = await messages.wait(timeout=payload.idle_timeout)
        if not message.ok or message.output is None:
            ended = "idle"
            break
        text = message.output.text
        if text == "/bye":
            ended = "bye"
            break
        reply = await step.run(f"reply-{turn}", stand_in_model, text, turn)
        await ctx.stream(f"reply-{turn}", _words(reply, stopped, payload.word_delay_s))
        # Journaled, so a resumed execution takes the same path (the flag is per process).
        if await step.run(f"stopped-{turn}", stopped.is_set):
            ended = "canceled"
            break
        if text.startswith("/tool"):
            reply += " " + await _tool_call(ctx, turn, text.removeprefix("/tool").strip())
        transcript.append({"user": text, "agent": reply})
        ctx.metadata.set("turns", len(transcript))
    return {"turns": transcript, "ended": ended}


async def _tool_call(ctx: TaskContext, turn: int, argument: str) -> str:
    """Ask a human before running the tool (a wait token), then run it in a step."""
    token = await wait.create_token(timeout="1d", tags=["chat-agent-approval"])
    ctx.metadata.set("approvalTokenId", token.id)
    decision = await wait.for_token(token)
    ctx.metadata.set("approvalTokenId", None)
    if not decision.ok or not (decision.output or {}).get("approved"):
        return "(tool call not approved)"
    result = await step.run(f"tool-{turn}", run_tool, argument)
    return f"Tool said: {result}"
