"""The ``lpsflow`` typer application and its entry point (user errors: exit 2)."""

from __future__ import annotations

import sys

import typer

from lpsflow.errors import LpsflowError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Screen nucleation accelerants for Li2S-P2S5 glass-ceramic electrolytes.",
)


def echo(msg: str) -> None:
    """A progress or status line, to stderr (stdout carries tables and data)."""
    typer.echo(msg, err=True)


#: Third-party modules whose warnings are noise for users (deprecations, CIF
#: rounding notes, torch internals); lpsflow's own warnings are kept.
_QUIET_MODULES = (
    r"(pymatgen|chgnet|torch|numpy|monty|atomate2|jobflow|maggma|ase|spglib|emmet"
    r"|pydantic|montydb|sevenn|scipy|e3nn|torch_geometric)(\..*)?$"
)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch system's time limit, ``kill``): stop as Ctrl-C does."""


def stop_on_sigterm() -> None:
    """Make SIGTERM stop a run as Ctrl-C does: workers stopped, finished work kept."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise Terminated

    signal.signal(signal.SIGTERM, handler)


def main() -> None:
    """Entry point: user errors become one line and exit status 2."""
    import warnings

    warnings.filterwarnings("ignore", module=_QUIET_MODULES)
    try:
        # typer returns the status of a typer.Exit (and 130 after Ctrl-C)
        status = app(standalone_mode=False)
    except LpsflowError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # usage errors of click (or the click typer vendors)
        kinds = {c.__name__ for c in type(exc).__mro__}
        if "ClickException" in kinds:
            exc.show()
            sys.exit(exc.exit_code)
        if "Abort" in kinds:
            sys.exit(1)
        raise
    if isinstance(status, int) and status:
        sys.exit(status)
