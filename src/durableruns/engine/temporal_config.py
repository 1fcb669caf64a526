"""Where and how to reach Temporal: Temporal's own client configuration
(``temporalio.envconfig``: ``TEMPORAL_*`` variables and temporal.toml profiles) with
our ``DURABLERUNS_*`` settings and flags on top.

Reusing Temporal's configuration means a user who already runs ``temporal`` against
Temporal Cloud or a secured cluster needs nothing new: the same profile or variables
work. Our settings only override what they explicitly set.

Connection failures that retrying cannot fix (a certificate the server rejects, a CA
that does not match, a wrong API key) are turned into one clear sentence here, so the
CLI can stop at once with one line instead of retrying for 30 s or printing a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import temporalio.service
from temporalio.envconfig import ClientConfigProfile, ClientConfigTLS, DataSource

from durableruns.errors import (
    TemporalConfigError as TemporalConfigError,  # defined in errors.py (the one tree)
)
from durableruns.settings import Settings


@dataclass(frozen=True)
class TemporalTarget:
    """Everything ``Client.connect`` needs beyond the data converter."""

    address: str
    namespace: str
    api_key: str | None
    tls: bool | temporalio.service.TLSConfig
    rpc_metadata: dict[str, str]

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``temporalio.client.Client.connect``."""
        kwargs: dict[str, Any] = {"namespace": self.namespace, "tls": self.tls}
        if self.api_key:
            kwargs["api_key"] = self.api_key
        if self.rpc_metadata:
            kwargs["rpc_metadata"] = self.rpc_metadata
        return kwargs

    @property
    def describe(self) -> str:
        """``host:port`` plus how we authenticate, for banners and errors."""
        parts = []
        if self.tls:
            parts.append("TLS")
        if isinstance(self.tls, temporalio.service.TLSConfig) and self.tls.client_cert:
            parts.append("client certificate")
        if self.api_key:
            parts.append("API key")
        return self.address + (f" ({', '.join(parts)})" if parts else "")


def load_profile(settings: Settings) -> ClientConfigProfile:
    """The temporal.toml profile with the ``TEMPORAL_*`` variables applied."""
    source = settings.temporal_config_file
    if source is not None and not source.exists():
        raise TemporalConfigError(f"Temporal config file {source} does not exist")
    try:
        return ClientConfigProfile.load(profile=settings.temporal_profile, config_source=source)
    except (RuntimeError, ValueError, OSError) as exc:
        raise TemporalConfigError(f"Cannot read the Temporal client config: {exc}") from exc


def resolve_settings(settings: Settings) -> Settings:
    """``settings`` with the address and namespace the profile gives, where ours were
    not set explicitly (so every part of the process sees the namespace in use)."""
    profile = load_profile(settings)
    given = settings.model_fields_set
    update: dict[str, Any] = {}
    if profile.address and "temporal_address" not in given:
        update["temporal_address"] = profile.address
    if profile.namespace and "namespace" not in given:
        update["namespace"] = profile.namespace
    return settings.model_copy(update=update) if update else settings


def temporal_target(settings: Settings) -> TemporalTarget:
    """The connection for ``settings``: profile and ``TEMPORAL_*`` first, ours on top."""
    profile = load_profile(settings)
    resolved = resolve_settings(settings)
    base = profile.tls or ClientConfigTLS()
    ca = _source(settings.temporal_tls_ca, base.server_root_ca_cert, "CA certificate")
    cert = _source(settings.temporal_tls_cert, base.client_cert, "client certificate")
    key = _source(settings.temporal_tls_key, base.client_private_key, "client key")
    if (cert is None) != (key is None):
        raise TemporalConfigError(
            "mTLS needs both a client certificate and its key "
            "(DURABLERUNS_TEMPORAL_TLS_CERT and DURABLERUNS_TEMPORAL_TLS_KEY)"
        )
    server_name = settings.temporal_tls_server_name or base.server_name
    api_key = settings.temporal_api_key or profile.api_key
    wants_tls = any(v is not None for v in (ca, cert, server_name)) or bool(api_key)
    if settings.temporal_tls is not None:
        enabled = settings.temporal_tls
    elif base.disabled is not None:
        enabled = not base.disabled
    else:
        enabled = wants_tls
    tls: bool | temporalio.service.TLSConfig = False
    if enabled:
        tls = temporalio.service.TLSConfig(
            server_root_ca_cert=ca, domain=server_name, client_cert=cert, client_private_key=key
        )
    return TemporalTarget(
        address=resolved.temporal_address,
        namespace=resolved.namespace,
        api_key=api_key,
        tls=tls,
        rpc_metadata=dict(profile.grpc_meta),
    )


def _source(ours: Path | None, theirs: DataSource | None, what: str) -> bytes | None:
    """PEM bytes from our path, else from the profile's path or inline data."""
    chosen: DataSource | None = ours if ours is not None else theirs
    if chosen is None:
        return None
    if isinstance(chosen, Path):
        try:
            return chosen.read_bytes()
        except OSError as exc:
            raise TemporalConfigError(f"Cannot read the TLS {what} {chosen}: {exc}") from exc
    return chosen.encode() if isinstance(chosen, str) else chosen


_PERMANENT = (
    ("UnknownIssuer", "the server's certificate is not signed by the configured CA"),
    ("unknown ca", "the server does not trust our client certificate's CA"),
    ("certificate verify failed", "the server's certificate did not verify"),
    ("NotValidForName", "the server's certificate does not name this host"),
    ("invalid peer certificate", "the server's certificate did not verify"),
    ("No required SSL certificate", "the server requires a client certificate (mTLS)"),
    ("status: 400", "the server refused the connection (400 Bad Request)"),
    ("Unauthenticated", "the server rejected our credentials (API key)"),
    ("401 Unauthorized", "the server rejected our credentials (API key)"),
    ("PermissionDenied", "permission denied (API key or namespace)"),
    ("403 Forbidden", "permission denied (API key or namespace)"),
    ("certificate", "a TLS certificate problem"),
    ("handshake", "the TLS handshake failed"),
    ("InvalidContentType", "the server does not speak TLS (unset TLS?)"),
    ("CorruptMessage", "the server does not speak TLS (unset TLS?)"),
)


def permanent_failure(target: TemporalTarget, error: BaseException) -> str | None:
    """A one-line explanation if ``error`` cannot be fixed by retrying, else None."""
    text = " ".join(str(error).split())
    for needle, meaning in _PERMANENT:
        if needle.lower() in text.lower():
            if needle == "status: 400" and not _has_client_cert(target):
                meaning = (
                    "the server requires a client certificate and none is configured (set "
                    "DURABLERUNS_TEMPORAL_TLS_CERT/_KEY or TEMPORAL_TLS_CLIENT_CERT/KEY_PATH)"
                )
            return f"Cannot connect to Temporal at {target.describe}: {meaning} [{_short(text)}]"
    return None


def _has_client_cert(target: TemporalTarget) -> bool:
    return isinstance(target.tls, temporalio.service.TLSConfig) and bool(target.tls.client_cert)


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
