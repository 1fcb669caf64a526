"""Dependencies shared by the routes: the run service and the secret-key check.

The dependencies are ``async def`` although they never await: FastAPI runs a plain
``def`` dependency in its thread pool, a thread hop per dependency and request — five
on a trigger, about a sixth of the facade's CPU per request (bench/README.md, issue 28).
They only read ``request.state`` (and check a key), so they run on the loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

import durableruns.api.session as session
from durableruns.api.environments import Environment, authenticate
from durableruns.api.errors import ApiHTTPError
from durableruns.api.scopes import RUN_DENIED, public_token_use
from durableruns.service.batches import BatchService
from durableruns.service.runs import RunService
from durableruns.service.tokens import TokenService
from durableruns.settings import DEV_KEY_FILE, Settings


def get_environment(request: Request) -> Environment:
    """The caller's environment (set by :func:`require_secret_key`), else the app's own."""
    environment: Environment | None = getattr(request.state, "environment", None)
    if environment is None:
        environment = request.app.state.environments[0]
    return environment


async def caller_environment(request: Request) -> Environment:
    """:func:`get_environment` as a dependency (run on the loop, not in a thread)."""
    return get_environment(request)


async def get_settings(request: Request) -> Settings:
    """The settings as seen from the caller's environment."""
    return get_environment(request).settings


async def get_service(request: Request) -> RunService:
    """The run service of the caller's environment."""
    return get_environment(request).runs


async def get_secret_key(request: Request) -> str:
    """The caller's environment's secret key."""
    return get_environment(request).secret_key


async def get_token_service(request: Request) -> TokenService:
    """The wait-token service of the caller's environment."""
    return get_environment(request).tokens


async def get_batch_service(request: Request) -> BatchService:
    """The batch service of the caller's environment."""
    return get_environment(request).batches


async def require_secret_key(request: Request) -> None:
    """401 unless ``Authorization: Bearer <an environment's secret key>``, or an
    unexpired public access token on a route that declares it may be read with one
    (``api.scopes.PUBLIC_READ``; 403 on any other route; the route itself refuses, 403,
    what the token's scopes do not cover), or, from the
    dashboard, a valid session cookie (403 if a write fails the CSRF check)."""
    environments: list[Environment] = request.app.state.environments
    dev = environments[0]
    if "authorization" not in request.headers and session.has_session(request, dev.secret_key):
        if not session.passes_csrf_check(request):
            raise ApiHTTPError(403, "Cross-site request refused (dashboard CSRF check)")
        request.state.environment = dev
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    principal = authenticate(environments, token.strip()) if scheme.lower() == "bearer" else None
    if principal is None:
        raise ApiHTTPError(401, _missing_key_message(request))
    if principal.scopes is not None:
        use = public_token_use(request.scope.get("route"))  # declared on the route
        if use == "complete-token":
            if not principal.scopes.can_complete_token(request.path_params.get("token_id", "")):
                raise ApiHTTPError(403, "This public access token may not complete this token")
            request.state.environment = principal.environment
            return
        if use == "send-input":
            if not principal.scopes.can_send_input(request.path_params.get("run_id", "")):
                raise ApiHTTPError(403, "This public access token may not send to this run")
            request.state.environment = principal.environment
            return
        if use != "read":
            raise ApiHTTPError(403, RUN_DENIED)
        request.state.scopes = principal.scopes
    request.state.environment = principal.environment


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[RunService, Depends(get_service)]
SecretKeyDep = Annotated[str, Depends(get_secret_key)]
BatchServiceDep = Annotated[BatchService, Depends(get_batch_service)]
EnvironmentDep = Annotated[Environment, Depends(caller_environment)]
TokenServiceDep = Annotated[TokenService, Depends(get_token_service)]


def _missing_key_message(request: Request) -> str:
    """Trigger.dev's 401 message; on a server using the generated dev key it also says
    where that key is (a newcomer's first curl otherwise has no lead)."""
    settings: Settings = request.app.state.settings
    if settings.secret_key:
        return "Invalid or Missing API key"
    where = settings.state_dir / DEV_KEY_FILE
    return (
        "Invalid or Missing API key: send 'Authorization: Bearer <key>'; this server's"
        f" dev key is in {where}"
    )
