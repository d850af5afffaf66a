"""The ``lpsflow`` command line: one module per command.

Each command module registers its command on
:data:`lpsflow.cli.application.app`; importing this package registers them all, in
the order ``lpsflow --help`` lists them (:data:`COMMANDS`).
"""

from importlib import import_module

from lpsflow.cli.application import app, main

#: The command modules, in the order of a campaign's life.
COMMANDS = (
    "validate",
    "run",
    "status",
    "results",
    "report",
    "structures",
    "submit",
    "rerun",
    "inputs",
    "phase",
    "phases",
)
for _name in COMMANDS:
    import_module(f"lpsflow.cli.{_name}")

__all__ = ["COMMANDS", "app", "main"]
