"""The ``durableruns`` command line: commands (commands.py), serving and signals
(serve.py), the dev stack (dev.py) with hot reload (reload.py), and ``init``
(scaffold.py)."""

from durableruns.cli.commands import app, main, run

__all__ = ["app", "main", "run"]
