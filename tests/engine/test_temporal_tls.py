"""Connecting to a secured Temporal the way Temporal's own tools do: the test's dev
server behind nginx terminating TLS, requiring a client certificate (mTLS) and an API
key. The right credentials (from a temporal.toml profile, from ``TEMPORAL_*`` variables,
from our flags) connect; a wrong CA, a missing client certificate and a wrong key each
stop ``durableruns worker``/``api`` at start with one clear line, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.helpers.tls_proxy import NGINX, Pki, free_port, make_pki, running_proxy

pytestmark = pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed")

ROOT = Path(__file__).resolve().parents[2]
DURABLERUNS = str(Path(sys.executable).parent / "durableruns")
API_KEY = "temporal-api-key-for-tests"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def proxy(
    temporal_env: WorkflowEnvironment, pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    upstream = temporal_env.client.service_client.config.target_host
    with running_proxy(tmp_path_factory.mktemp("nginx"), pki, upstream, API_KEY) as address:
        yield address


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "DURABLERUNS_"))}
    env["PYTHONPATH"] = str(ROOT)
    env["DURABLERUNS_TASK_QUEUE_PREFIX"] = "tls-test"
    env["TEMPORAL_CONFIG_FILE"] = "/nonexistent/temporal.toml"  # never the user's own
    return {**env, **extra}


def run_until_joined(args: list[str], env: dict[str, str], tmp_path: Path) -> str:
    """Start the command; return its first stdout line once it joined, then stop it."""
    process = subprocess.Popen(
        [DURABLERUNS, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "joined" in line, (line, process.stderr.read() if process.poll() else "")
        return line
    finally:
        process.terminate()
        process.wait(timeout=60)


def fails_with_one_line(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [DURABLERUNS, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: Cannot connect to Temporal"), lines[0]
    assert "Traceback" not in done.stderr
    return lines[0]


def test_a_worker_joins_with_a_temporal_toml_profile(proxy: str, pki: Pki, tmp_path: Path) -> None:
    toml = tmp_path / "temporal.toml"
    toml.write_text(
        f"""
[profile.secured]
address = "{proxy}"
namespace = "default"
api_key = "{API_KEY}"
[profile.secured.tls]
server_ca_cert_path = "{pki.ca}"
client_cert_path = "{pki.client_cert}"
client_key_path = "{pki.client_key}"
"""
    )
    env = clean_env(TEMPORAL_CONFIG_FILE=str(toml), TEMPORAL_PROFILE="secured")
    line = run_until_joined(["worker", "--tasks", "activities"], env, tmp_path)
    assert proxy in line


def test_the_facade_joins_with_temporal_variables_and_is_ready(
    proxy: str, pki: Pki, tmp_path: Path
) -> None:
    port = free_port()
    env = clean_env(
        TEMPORAL_ADDRESS=proxy,
        TEMPORAL_API_KEY=API_KEY,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH=str(pki.ca),
        TEMPORAL_TLS_CLIENT_CERT_PATH=str(pki.client_cert),
        TEMPORAL_TLS_CLIENT_KEY_PATH=str(pki.client_key),
        DURABLERUNS_STATE_DIR=str(tmp_path),
    )
    process = subprocess.Popen(
        [DURABLERUNS, "api", "--api-port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "joined" in process.stdout.readline()
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert "default" in ready.json()["namespaces"]
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_our_flags_override_and_connect(proxy: str, pki: Pki, tmp_path: Path) -> None:
    env = clean_env(DURABLERUNS_TEMPORAL_API_KEY=API_KEY)
    args = ["worker", "--tasks", "activities", "--temporal-address", proxy]
    args += ["--tls-ca", str(pki.ca), "--tls-cert", str(pki.client_cert)]
    args += ["--tls-key", str(pki.client_key)]
    run_until_joined(args, env, tmp_path)


@pytest.mark.parametrize("command", ["worker", "api"])
def test_a_wrong_ca_fails_at_start_in_one_line(command: str, proxy: str, pki: Pki) -> None:
    env = clean_env(
        TEMPORAL_ADDRESS=proxy,
        TEMPORAL_API_KEY=API_KEY,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH=str(pki.other_ca),
        TEMPORAL_TLS_CLIENT_CERT_PATH=str(pki.client_cert),
        TEMPORAL_TLS_CLIENT_KEY_PATH=str(pki.client_key),
    )
    line = fails_with_one_line(
        [command, "--api-port", str(free_port())] if command == "api" else [command], env
    )
    assert "certificate" in line.lower()


def test_a_missing_client_certificate_fails_at_start_in_one_line(proxy: str, pki: Pki) -> None:
    env = clean_env(
        TEMPORAL_ADDRESS=proxy,
        TEMPORAL_API_KEY=API_KEY,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH=str(pki.ca),
    )
    line = fails_with_one_line(["worker"], env)
    assert "client certificate" in line


def test_a_wrong_api_key_fails_at_start_in_one_line(proxy: str, pki: Pki) -> None:
    env = clean_env(
        TEMPORAL_ADDRESS=proxy,
        TEMPORAL_API_KEY="not-the-key",
        TEMPORAL_TLS_SERVER_CA_CERT_PATH=str(pki.ca),
        TEMPORAL_TLS_CLIENT_CERT_PATH=str(pki.client_cert),
        TEMPORAL_TLS_CLIENT_KEY_PATH=str(pki.client_key),
    )
    line = fails_with_one_line(["worker"], env)
    assert "API key" in line
