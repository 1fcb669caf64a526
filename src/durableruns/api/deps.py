"""Dependencies shared by the routes: the run service and the secret-key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from durableruns.api.errors import ApiHTTPError
from durableruns.engine.batch_service import BatchService
from durableruns.engine.service import RunService
from durableruns.settings import Settings


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_service(request: Request) -> RunService:
    """The run service bound to this app's Temporal client."""
    service: RunService = request.app.state.service
    return service


def get_secret_key(request: Request) -> str:
    """The environment's secret key, resolved once at app creation."""
    key: str = request.app.state.secret_key
    return key


def get_batch_service(request: Request) -> BatchService:
    """The batch service bound to this app's Temporal client."""
    service: BatchService = request.app.state.batches
    return service


def require_secret_key(request: Request) -> None:
    """401 unless ``Authorization: Bearer <the environment's secret key>``."""
    expected: str = request.app.state.secret_key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), expected):
        raise ApiHTTPError(401, "Invalid or Missing API key")


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[RunService, Depends(get_service)]
SecretKeyDep = Annotated[str, Depends(get_secret_key)]
BatchServiceDep = Annotated[BatchService, Depends(get_batch_service)]
