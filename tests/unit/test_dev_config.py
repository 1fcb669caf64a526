"""``temporal-dev.yml``, the precedence of ``durableruns dev``'s settings, and the dev
server command built from them. Pure logic: no server is started."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from durableruns.dev_config import (
    DevConfigError,
    DevFlags,
    DevOptions,
    DevServerConfig,
    config_path,
    load_dev_config,
    resolve_dev_options,
    split_modules,
    task_modules,
)
from durableruns.engine import search_attributes as sa
from durableruns.service.dev_server import DevServerError, dev_server_command

REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = Path("/state")


def test_temporal_dev_yml_lists_exactly_the_engines_search_attributes() -> None:
    config = load_dev_config(REPO_ROOT / "temporal-dev.yml")
    expected = {key.name: sa.type_name(key) for key in sa.ALL}
    assert config.search_attributes == expected
    assert list(config.search_attributes) == [key.name for key in sa.ALL]


def test_temporal_dev_yml_keeps_the_documented_defaults() -> None:
    config = load_dev_config(REPO_ROOT / "temporal-dev.yml")
    assert (config.ip, config.port, config.namespace) == ("127.0.0.1", 7233, "default")
    assert (config.ui.enabled, config.ui.port) == (True, 8233)
    assert config.db_filename == Path(".durableruns/temporal.db")
    assert config.sqlite_pragmas == {"journal_mode": "wal", "synchronous": "normal"}
    assert config.dynamic_config_json() == {"history.transferProcessorMaxPollRPS": "1000"}


def test_a_missing_temporal_dev_yml_in_cwd_means_built_in_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_dev_config() == DevServerConfig()


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(DevConfigError, match="Cannot read"):
        load_dev_config(tmp_path / "nope.yml")


def test_unknown_keys_in_the_yml_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dev.yml"
    path.write_text("prot: 7233\n")
    with pytest.raises(DevConfigError, match="prot"):
        load_dev_config(path)


# --- precedence: flags > env > yml > defaults -----------------------------------------
@dataclass
class Case:
    flags: DevFlags = field(default_factory=DevFlags)
    env: dict[str, str] = field(default_factory=dict)
    yml: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)


PRECEDENCE = {
    "defaults": Case(
        expected={
            "api_port": 3030,
            "temporal_port": 7233,
            "ui_port": 8233,
            "ui_enabled": True,
            "namespace": "default",
            "db": STATE_DIR / "temporal.db",
            "temporal_address": None,
            "tasks": ("activities", "workflows"),
        }
    ),
    "yml over defaults": Case(
        yml={"port": 7000, "ui": {"port": 8000, "enabled": False}, "namespace": "ns"},
        expected={"temporal_port": 7000, "ui_port": 8000, "ui_enabled": False, "namespace": "ns"},
    ),
    "env over yml": Case(
        env={
            "DURABLERUNS_TEMPORAL_PORT": "7001",
            "DURABLERUNS_UI_PORT": "8001",
            "DURABLERUNS_NAMESPACE": "env-ns",
        },
        yml={"port": 7000, "ui": {"port": 8000}, "namespace": "ns"},
        expected={"temporal_port": 7001, "ui_port": 8001, "namespace": "env-ns"},
    ),
    "flags over env": Case(
        flags=DevFlags(api_port=3002, temporal_port=7002, ui_port=8002),
        env={
            "DURABLERUNS_API_PORT": "3001",
            "DURABLERUNS_TEMPORAL_PORT": "7001",
            "DURABLERUNS_UI_PORT": "8001",
        },
        expected={"api_port": 3002, "temporal_port": 7002, "ui_port": 8002},
    ),
    "yml db file": Case(yml={"db_filename": "x.db"}, expected={"db": Path("x.db")}),
    "yml null db is in memory": Case(yml={"db_filename": None}, expected={"db": None}),
    "env db over yml": Case(
        env={"DURABLERUNS_DB": "env.db"}, yml={"db_filename": None}, expected={"db": Path("env.db")}
    ),
    "env in-memory over yml": Case(
        env={"DURABLERUNS_IN_MEMORY": "1"}, yml={"db_filename": "x.db"}, expected={"db": None}
    ),
    "env in-memory false is not set": Case(
        env={"DURABLERUNS_IN_MEMORY": "0"},
        yml={"db_filename": "x.db"},
        expected={"db": Path("x.db")},
    ),
    "flag db over env in-memory": Case(
        flags=DevFlags(db=Path("flag.db")),
        env={"DURABLERUNS_IN_MEMORY": "true"},
        expected={"db": Path("flag.db")},
    ),
    "flag in-memory over env db": Case(
        flags=DevFlags(in_memory=True), env={"DURABLERUNS_DB": "env.db"}, expected={"db": None}
    ),
    "env tasks": Case(env={"DURABLERUNS_TASKS": "a, b c"}, expected={"tasks": ("a", "b", "c")}),
    "flag tasks over env": Case(
        flags=DevFlags(tasks=("x",)), env={"DURABLERUNS_TASKS": "a"}, expected={"tasks": ("x",)}
    ),
    "env address": Case(
        env={"DURABLERUNS_TEMPORAL_ADDRESS": "t:1"}, expected={"temporal_address": "t:1"}
    ),
    "flag address over env": Case(
        flags=DevFlags(temporal_address="f:2"),
        env={"DURABLERUNS_TEMPORAL_ADDRESS": "t:1"},
        expected={"temporal_address": "f:2"},
    ),
}


@pytest.mark.parametrize("case", PRECEDENCE.values(), ids=PRECEDENCE.keys())
def test_precedence(case: Case) -> None:
    config = DevServerConfig.model_validate(case.yml)
    options = resolve_dev_options(case.flags, case.env, config, state_dir=STATE_DIR)
    assert {name: getattr(options, name) for name in case.expected} == case.expected


BAD = {
    "flag db and in-memory": (DevFlags(db=Path("a.db"), in_memory=True), {}),
    "env db and in-memory": (
        DevFlags(),
        {"DURABLERUNS_DB": "a.db", "DURABLERUNS_IN_MEMORY": "1"},
    ),
    "env port not a number": (DevFlags(), {"DURABLERUNS_API_PORT": "http"}),
    "env port out of range": (DevFlags(), {"DURABLERUNS_TEMPORAL_PORT": "70000"}),
    "env bool not a bool": (DevFlags(), {"DURABLERUNS_IN_MEMORY": "maybe"}),
}


@pytest.mark.parametrize(("flags", "env"), BAD.values(), ids=BAD.keys())
def test_contradictions_and_bad_values_are_refused(flags: DevFlags, env: dict[str, str]) -> None:
    with pytest.raises(DevConfigError):
        resolve_dev_options(flags, env, DevServerConfig(), state_dir=STATE_DIR)


def test_the_address_is_the_dev_servers_unless_one_is_given() -> None:
    options = _options()
    assert options.address == "127.0.0.1:7233"
    given = resolve_dev_options(
        DevFlags(temporal_address="far:7233"), {}, DevServerConfig(), state_dir=STATE_DIR
    )
    assert given.address == "far:7233"


@pytest.mark.parametrize(
    ("values", "expected"),
    [((), ()), (("a",), ("a",)), (("a,b", "c"), ("a", "b", "c")), (("a b",), ("a", "b"))],
)
def test_task_flags_may_repeat_or_hold_lists(
    values: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    assert split_modules(values) == expected


@pytest.mark.parametrize(
    ("values", "env", "expected"),
    [
        ((), {}, ("activities", "workflows")),
        ((), {"DURABLERUNS_TASKS": "a,b"}, ("a", "b")),
        (("x",), {"DURABLERUNS_TASKS": "a"}, ("x",)),
    ],
)
def test_worker_task_modules_follow_flags_then_env_then_the_examples(
    values: tuple[str, ...], env: dict[str, str], expected: tuple[str, ...]
) -> None:
    assert task_modules(values, env) == expected


@pytest.mark.parametrize(
    ("flag", "env", "expected"),
    [
        (None, {}, None),
        (None, {"DURABLERUNS_CONFIG": "env.yml"}, Path("env.yml")),
        (Path("flag.yml"), {"DURABLERUNS_CONFIG": "env.yml"}, Path("flag.yml")),
    ],
)
def test_the_config_file_follows_flag_then_env_then_cwd(
    flag: Path | None, env: dict[str, str], expected: Path | None
) -> None:
    assert config_path(flag, env) == expected


# --- the dev server command -------------------------------------------------------------
def _options(**yml: Any) -> DevOptions:
    return resolve_dev_options(
        DevFlags(), {}, DevServerConfig.model_validate(yml), state_dir=STATE_DIR
    )


def _pairs(command: list[str], flag: str) -> list[str]:
    return [command[i + 1] for i, part in enumerate(command) if part == flag]


def test_the_command_registers_all_search_attributes_even_if_the_yml_lists_none() -> None:
    command = dev_server_command(DevServerConfig(), _options())
    assert _pairs(command, "--search-attribute") == [
        f"{key.name}={sa.type_name(key)}" for key in sa.ALL
    ]


def test_extra_yml_search_attributes_are_registered_too() -> None:
    config = DevServerConfig.model_validate({"search_attributes": {"Customer": "Keyword"}})
    command = dev_server_command(config, _options())
    assert _pairs(command, "--search-attribute")[-1] == "Customer=Keyword"


def test_a_yml_type_conflicting_with_the_engine_is_refused() -> None:
    config = DevServerConfig.model_validate({"search_attributes": {"TriggerStatus": "Text"}})
    with pytest.raises(DevServerError, match="TriggerStatus"):
        dev_server_command(config, _options())


def test_a_file_gets_the_sqlite_pragmas_and_memory_does_not() -> None:
    config = DevServerConfig()
    with_file = dev_server_command(config, _options())
    assert _pairs(with_file, "--db-filename") == [str(STATE_DIR / "temporal.db")]
    assert _pairs(with_file, "--sqlite-pragma") == ["journal_mode=wal", "synchronous=normal"]
    in_memory = dev_server_command(config, _options(db_filename=None))
    assert "--db-filename" not in in_memory and "--sqlite-pragma" not in in_memory


def test_the_command_binds_ports_namespace_and_dynamic_config() -> None:
    config = DevServerConfig.model_validate(
        {"dynamic_config": {"limit.x": 5, "history.transferProcessorMaxPollRPS": 500}}
    )
    command = dev_server_command(config, _options(port=7100, ui={"port": 8100}, namespace="n"))
    assert command[1:3] == ["server", "start-dev"]
    assert _pairs(command, "--ip") == ["127.0.0.1"]
    assert _pairs(command, "--port") == ["7100"]
    assert _pairs(command, "--ui-port") == ["8100"]
    assert _pairs(command, "--namespace") == ["n", "staging", "prod"], "one per environment"
    assert _pairs(command, "--dynamic-config-value") == [
        "history.transferProcessorMaxPollRPS=500",
        "matching.numTaskqueueReadPartitions=1",
        "matching.numTaskqueueWritePartitions=1",
        "limit.x=5",
    ]
    assert "--headless" not in command


def test_a_disabled_ui_makes_the_server_headless() -> None:
    command = dev_server_command(DevServerConfig(), _options(ui={"enabled": False}))
    assert "--headless" in command
