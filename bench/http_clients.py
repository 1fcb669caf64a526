"""CPU per HTTP request of the load generator's candidate clients, in one process.

``bench/throughput.py`` runs its HTTP client in the same process (and on the same 2
cores) as the worker and the facade, so the client's own CPU counts against the
durableruns side. This measures that CPU for httpx (the SDK's client) and aiohttp,
at 1, 8 and 32 requests in flight, against two servers uvicorn serves here:

* ``asgi``: a minimal ASGI app answering ``{}`` (what uvicorn itself costs);
* ``facade``: the real facade's ``GET /healthz`` (``durableruns.api.create_app``).

Figures are CPU microseconds of this whole process (client + server) per request, the
best of ``--repeats``; compare the clients within one run. See bench/README.md.

Run: ``.venv/bin/python bench/http_clients.py [--requests 3200] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
from temporalio.client import Client
from throughput import serving

from durableruns.api import create_app
from durableruns.event_loop import run_service
from durableruns.settings import Settings

CONCURRENCY = (1, 8, 32)


async def minimal_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app that answers every request with ``{}`` (and handles lifespan)."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"{}"})


Get = Callable[[str], Awaitable[int]]


async def cpu_per_request(get: Get, path: str, requests: int, in_flight: int) -> float:
    """CPU µs of this process per request, ``requests`` sent through ``in_flight`` slots."""

    async def slot(count: int) -> None:
        for _ in range(count):
            status = await get(path)
            if status != 200:
                raise RuntimeError(f"GET {path}: {status}")

    share = requests // in_flight
    await asyncio.gather(*(slot(max(1, share // 10)) for _ in range(in_flight)))  # warm up
    before = time.process_time()
    await asyncio.gather(*(slot(share) for _ in range(in_flight)))
    return (time.process_time() - before) * 1e6 / (share * in_flight)


async def measure(base_url: str, path: str, args: argparse.Namespace) -> None:
    for in_flight in CONCURRENCY:
        figures: dict[str, float] = {}
        async with httpx.AsyncClient(
            base_url=base_url,
            limits=httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight),
        ) as http:

            async def httpx_get(p: str) -> int:
                return (await http.get(p)).status_code

            figures["httpx"] = min(
                [
                    await cpu_per_request(httpx_get, path, args.requests, in_flight)
                    for _ in range(args.repeats)
                ]
            )
        async with aiohttp.ClientSession(
            base_url, connector=aiohttp.TCPConnector(limit=in_flight)
        ) as session:

            async def aiohttp_get(p: str) -> int:
                async with session.get(p) as response:
                    await response.read()
                    return response.status

            figures["aiohttp"] = min(
                [
                    await cpu_per_request(aiohttp_get, path, args.requests, in_flight)
                    for _ in range(args.repeats)
                ]
            )
        print(
            f"  {in_flight:>2} in flight: httpx {figures['httpx']:6.0f} us, aiohttp "
            f"{figures['aiohttp']:6.0f} us, ratio {figures['httpx'] / figures['aiohttp']:5.1f}x",
            flush=True,
        )


async def main(args: argparse.Namespace) -> int:
    print(f"CPU per request (client + server, this process), best of {args.repeats}:")
    print("minimal ASGI app:")
    async with serving(minimal_app) as base_url:  # type: ignore[arg-type]
        await measure(base_url, "/", args)
    print("the facade, GET /healthz:")
    # /healthz needs no engine call; a client that never connects is enough for the app.
    client = await Client.connect("127.0.0.1:1", lazy=True)
    async with serving(create_app(Settings(environment="bench"), client=client)) as base_url:
        await measure(base_url, "/healthz", args)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3200, help="requests per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per figure")
    sys.exit(run_service(main(parser.parse_args())))
