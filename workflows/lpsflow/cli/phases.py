"""``lpsflow phases``: the bundled starting structures."""

from __future__ import annotations

from lpsflow.cli.application import app, echo


@app.command()
def phases() -> None:
    """List the bundled starting structures."""
    from lpsflow.structures.library import BUNDLED, data_path

    for name, entry in BUNDLED.items():
        ok = "" if data_path(entry.filename).exists() else "  (missing)"
        echo(f"{name:10s} {entry.filename:32s} {entry.description}{ok}")
