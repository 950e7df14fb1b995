"""The one `guideminer` command: each stage registers its own commands (spaCy style).

Each stage's CLI module imports its heavy libraries inside the command functions, so
`guideminer --help` stays fast.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="guideminer",
    help="Turn historical support conversations into a reviewed, air-gapped agent.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# Each module exposes `register(app)`; order is the order shown in --help.
STAGE_CLI_MODULES = (
    "guideminer.ingest.cli",
    "guideminer.mining.cli",
    "guideminer.mining.export_cli",
    "guideminer.offline_runtime.cli",
    "guideminer.evaluation.cli",
    "guideminer.evaluation.demo_cli",
)


def _register_all() -> None:
    for module_name in STAGE_CLI_MODULES:
        importlib.import_module(module_name).register(app)


_register_all()


def main() -> None:
    app()
