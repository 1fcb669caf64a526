"""``durableruns setup``: prepare the namespaces a deployment uses, and the check
``worker``/``api`` make at start.

Setup registers, in each served environment's namespace, the search attributes that
namespace lacks (service/namespace_setup.py), and says what it did; run again, it adds
nothing. Temporal Cloud namespaces are changed through Cloud's control plane, so for a
Cloud address (or with ``--print-commands``) it prints the ``tcld`` commands instead.
The start check is :func:`durableruns.cli.serve.require_search_attributes`.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

from durableruns.cli.serve import connect, say
from durableruns.service import namespace_setup as ns
from durableruns.settings import Settings


async def run_setup(settings: Settings, *, print_commands: bool) -> int:
    """Register what is missing (or print the commands); the exit status: 1 if a
    namespace is still not ready."""
    namespaces = settings.served_namespaces
    cloud = ns.is_cloud(settings.temporal_address)
    if print_commands:
        for namespace in namespaces:
            _print_cloud_commands(namespace, list(ns.REQUIRED))
        return 0
    client = await connect(settings)
    say(f"Temporal {settings.temporal_address}")
    ready = True
    for namespace in namespaces:
        if cloud:
            state = await ns.inspect(client, namespace)
            if state.ready:
                say(f"namespace {namespace}: all {len(ns.REQUIRED)} search attributes registered")
            else:
                _print_cloud_commands(namespace, state.missing or list(ns.REQUIRED))
                ready = False
            continue
        added, state = await ns.register(client, namespace)
        ready = _report(namespace, added, state) and ready
    return 0 if ready else 1


def _report(namespace: str, added: list[str], state: ns.NamespaceState) -> bool:
    if state.unknown:
        say(f"namespace {namespace}: cannot read its search attributes ({state.unknown})")
        if "NOT_FOUND" in state.unknown:
            say(f"  create it first: temporal operator namespace create {namespace}")
        return False
    if added:
        say(f"namespace {namespace}: registered {len(added)}: {', '.join(added)}")
    else:
        say(f"namespace {namespace}: all {len(ns.REQUIRED)} search attributes already registered")
    for name, found in state.mistyped.items():
        key = next(k for k in ns.REQUIRED if k.name == name)
        say(
            f"  {name} is registered as {found}, durableruns needs {ns.type_name(key)}: "
            f"remove it (temporal operator search-attribute remove --namespace {namespace} "
            f"--name {name}), then run setup again"
        )
    return state.ready


def _print_cloud_commands(namespace: str, keys: list[SearchAttributeKey[Any]]) -> None:
    say(
        f"# Temporal Cloud namespace {namespace}: register these search attributes with tcld "
        "(or in the Cloud UI: Namespaces, then the namespace, then Search Attributes)"
    )
    for command in ns.cloud_commands(namespace, keys):
        say(command)
