"""``POST /api/v1/auth/jwt/claims``: the claims the official client's
``auth.createPublicToken`` puts in the public tokens it signs with the secret key
(Trigger.dev answers the environment and ``pub``; see ``api.tokens``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from durableruns.api.deps import EnvironmentDep
from durableruns.api.tokens import jwt_claims

router = APIRouter(tags=["auth"])


@router.post("/api/v1/auth/jwt/claims")
async def public_token_claims(environment: EnvironmentDep) -> dict[str, Any]:
    """The claims of a public access token for the caller's environment."""
    return jwt_claims(environment.name)
