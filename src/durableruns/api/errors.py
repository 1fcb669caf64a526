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

from durableruns.errors import DurableRunsError

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

    @app.exception_handler(DurableRunsError)
    async def _ours(_: Request, exc: DurableRunsError) -> JSONResponse:
        # The status is data on the error tree (errors.py), one handler for all of it.
        if exc.http_status is None:
            logger.error("unhandled error", exc_info=exc)
            return error_response(500, "Internal error")
        if exc.http_status >= 500:
            logger.warning("%s: %s", type(exc).__name__, exc)
        headers = None if exc.should_retry else {"x-should-retry": "false"}
        return error_response(exc.http_status, exc.public_message(), headers)

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
