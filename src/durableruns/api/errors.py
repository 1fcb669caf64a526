"""Every error the facade answers is ``{"error": "<field>: <reason>"}`` with a 4xx/5xx
status chosen like Trigger.dev's (400 malformed, 401 auth, 404 unknown, 422 invalid);
never 409 for a business rule, since the official client retries 409."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from durableruns.errors import (
    EngineUnavailableError,
    InvalidInputError,
    RunNotFoundError,
    RunStateError,
    ScheduleNotFoundError,
)
from durableruns.wait_tokens import TokenNotFoundError, TokenTimedOutError

logger = logging.getLogger(__name__)

BODY_PARSE_FAILURE = "There was an error parsing the body"
"""FastAPI's detail when the body is not parsable at all (e.g. nested past Python's
recursion limit)."""


class ApiHTTPError(Exception):
    """Raised by routes to answer ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one error shape. A message quoting the caller's bad input (a lone surrogate)
    is escaped, so the error itself can always be encoded."""
    safe = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return JSONResponse({"error": safe}, status_code=status, headers=headers)


def describe_validation_error(error: dict[str, Any]) -> str:
    """``options.maxAttempts: Input should be greater than or equal to 1``."""
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    reason = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{'.'.join(loc) or 'body'}: {reason}"


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure to the one error shape."""

    @app.exception_handler(ApiHTTPError)
    async def _api_error(_: Request, exc: ApiHTTPError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        first = errors[0] if errors else {}
        if first.get("type") == "json_invalid":
            return error_response(400, f"body: not valid JSON ({first.get('msg', '')})")
        return error_response(422, describe_validation_error(first))

    @app.exception_handler(InvalidInputError)
    async def _invalid(_: Request, exc: InvalidInputError) -> JSONResponse:
        return error_response(exc.status, str(exc))

    @app.exception_handler(RunStateError)
    async def _state(_: Request, exc: RunStateError) -> JSONResponse:
        return error_response(400, str(exc))

    @app.exception_handler(RunNotFoundError)
    async def _not_found(_: Request, exc: RunNotFoundError) -> JSONResponse:
        # Fail fast: without it the official client retries a 404 for about 9 seconds.
        return error_response(404, "Run not found", {"x-should-retry": "false"})

    @app.exception_handler(ScheduleNotFoundError)
    async def _schedule_not_found(_: Request, exc: ScheduleNotFoundError) -> JSONResponse:
        return error_response(404, "Schedule not found", {"x-should-retry": "false"})

    @app.exception_handler(TokenNotFoundError)
    async def _token_not_found(_: Request, exc: TokenNotFoundError) -> JSONResponse:
        return error_response(404, str(exc), {"x-should-retry": "false"})

    @app.exception_handler(TokenTimedOutError)
    async def _token_timed_out(_: Request, exc: TokenTimedOutError) -> JSONResponse:
        return error_response(400, str(exc), {"x-should-retry": "false"})

    @app.exception_handler(EngineUnavailableError)
    async def _engine(_: Request, exc: EngineUnavailableError) -> JSONResponse:
        # Temporal's own words (gRPC statuses, blob limits) never reach a caller.
        logger.warning("engine unavailable: %s", exc)
        action = str(exc).partition(": ")[0]
        return error_response(503, f"{action}: the run engine is unavailable, try again")

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == BODY_PARSE_FAILURE:
            return error_response(400, "body: not valid JSON (nested too deeply to parse)")
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # A bug: logged with its traceback; the caller sees the error shape, no internals.
        logger.error("unhandled error", exc_info=exc)
        return error_response(500, "Internal error")
