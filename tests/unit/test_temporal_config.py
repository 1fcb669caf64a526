"""Precedence of the Temporal connection settings: a temporal.toml profile, then
``TEMPORAL_*`` variables, then our ``DURABLERUNS_*`` settings and flags on top; and
the task-module rules of ``--tasks`` (``+name`` adds to the examples)."""

from __future__ import annotations

from pathlib import Path

import pytest
import temporalio.service

from durableruns.dev_config import (
    DEFAULT_TASK_MODULES,
    DevFlags,
    DevServerConfig,
    combine_modules,
    resolve_dev_options,
)
from durableruns.engine.temporal_config import (
    TemporalConfigError,
    permanent_failure,
    resolve_settings,
    temporal_target,
)
from durableruns.settings import Settings


@pytest.fixture(autouse=True)
def no_ambient_temporal_config(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("TEMPORAL_", "DURABLERUNS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", "/nonexistent/temporal.toml")


def _toml(tmp_path: Path) -> Path:
    (tmp_path / "ca.pem").write_text("CA")
    path = tmp_path / "temporal.toml"
    path.write_text(
        f"""
[profile.default]
address = "localhost:7233"

[profile.cloud]
address = "ns.acct.tmprl.cloud:7233"
namespace = "ns.acct"
api_key = "from-profile"
[profile.cloud.tls]
server_ca_cert_path = "{tmp_path / "ca.pem"}"
"""
    )
    return path


def test_nothing_configured_is_the_local_dev_server_without_tls() -> None:
    target = temporal_target(Settings())
    assert (target.address, target.namespace, target.tls, target.api_key) == (
        "127.0.0.1:7233",
        "default",
        False,
        None,
    )


def test_a_profile_gives_address_namespace_key_and_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(_toml(tmp_path)))
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    settings = resolve_settings(Settings())
    assert (settings.temporal_address, settings.namespace) == (
        "ns.acct.tmprl.cloud:7233",
        "ns.acct",
    )
    target = temporal_target(Settings())
    assert target.api_key == "from-profile"
    assert isinstance(target.tls, temporalio.service.TLSConfig)
    assert target.tls.server_root_ca_cert == b"CA"


def test_our_settings_win_over_the_profile_and_temporal_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(_toml(tmp_path)))
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "from-variable")
    (tmp_path / "ours.pem").write_text("OURS")
    settings = Settings(
        temporal_address="mine:7233", temporal_api_key="ours", temporal_tls_ca=tmp_path / "ours.pem"
    )
    target = temporal_target(settings)
    assert (target.address, target.namespace, target.api_key) == (
        "mine:7233",
        "from-variable",
        "ours",
    )
    assert isinstance(target.tls, temporalio.service.TLSConfig)
    assert target.tls.server_root_ca_cert == b"OURS"
    assert temporal_target(Settings(namespace="flag", temporal_tls=False)).tls is False
    assert temporal_target(Settings(namespace="flag")).namespace == "flag"


def test_an_api_key_alone_turns_tls_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_API_KEY", "k")
    assert isinstance(temporal_target(Settings()).tls, temporalio.service.TLSConfig)


def test_unusable_tls_files_fail_before_connecting(tmp_path: Path) -> None:
    with pytest.raises(TemporalConfigError, match="Cannot read the TLS CA certificate"):
        temporal_target(Settings(temporal_tls_ca=tmp_path / "missing.pem"))
    (tmp_path / "cert.pem").write_text("C")
    with pytest.raises(TemporalConfigError, match="both a client certificate and its key"):
        temporal_target(Settings(temporal_tls_cert=tmp_path / "cert.pem"))
    with pytest.raises(TemporalConfigError, match="does not exist"):
        temporal_target(Settings(temporal_config_file=tmp_path / "nope.toml"))


def test_refused_connections_are_permanent_and_refused_ports_are_not() -> None:
    target = temporal_target(Settings(temporal_address="127.0.0.1:40123"))
    refused = RuntimeError("Failed client connect: tcp connect error 127.0.0.1:40123 refused")
    assert permanent_failure(target, refused) is None
    unknown = RuntimeError("InvalidCertificate(UnknownIssuer)")
    message = permanent_failure(target, unknown)
    assert message is not None and "not signed by the configured CA" in message


def test_plus_adds_to_the_examples_and_plain_names_replace_them(tmp_path: Path) -> None:
    assert combine_modules(["+mine"]) == (*DEFAULT_TASK_MODULES, "mine")
    assert combine_modules(["mine", "+more"]) == ("mine", "more")
    assert combine_modules([]) == DEFAULT_TASK_MODULES
    config = DevServerConfig(tasks=["extra"])
    options = resolve_dev_options(DevFlags(), {}, config, state_dir=tmp_path)
    assert options.tasks == (*DEFAULT_TASK_MODULES, "extra"), "tasks: in the yml adds"
    flagged = resolve_dev_options(DevFlags(tasks=("+mine",)), {}, config, state_dir=tmp_path)
    assert flagged.tasks == (*DEFAULT_TASK_MODULES, "mine"), "flags win over the yml"


def test_a_durableruns_variable_wins_over_a_temporal_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "theirs")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "theirs:7233")
    monkeypatch.setenv("DURABLERUNS_NAMESPACE", "ours")
    target = temporal_target(Settings())
    assert (target.address, target.namespace) == ("theirs:7233", "ours")
