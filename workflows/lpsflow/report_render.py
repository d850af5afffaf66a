"""A report as sections of text, tables, figures and placeholders.

Rendered as HTML, Markdown or plain text. HTML is one self-contained page (figures
as base64 PNG ``data:`` URIs, inline CSS); Markdown writes each figure as a PNG
beside the ``.md`` file; plain text (the summaries of ``lpsflow results``) aligns
the tables and leaves the figures out.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Text:
    """A paragraph (plain text, escaped on output)."""

    text: str


@dataclass
class Table:
    """A table; ``classes`` may colour cells (same shape as ``rows``, or empty)."""

    headers: list[str]
    rows: list[list[str]]
    caption: str = ""
    classes: list[list[str]] = field(default_factory=list)


@dataclass
class Figure:
    """A PNG figure; ``name`` is its file stem in Markdown."""

    name: str
    png: bytes
    caption: str


@dataclass
class Placeholder:
    """Something not computed in this campaign (never a made-up plot)."""

    what: str
    why: str


Block = Text | Table | Figure | Placeholder


@dataclass
class Section:
    """A titled part of the report; ``id`` is its HTML anchor."""

    id: str
    title: str
    blocks: list[Block]


NOT_COMPUTED = "not computed in this campaign"

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1150px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right;vertical-align:top}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
td.pass{background:#d9f2d9}td.fail{background:#f8d7d7}
td.nc{background:#eee;color:#777}td.flag{background:#ffe08a;font-weight:bold}
td.text{text-align:left}caption{caption-side:top;text-align:left;color:#555}
img{max-width:100%;border:1px solid #ddd}
.placeholder{border:2px dashed #bbb;padding:1.2em;color:#666;background:#fafafa}
nav a{margin-right:.8em}figure{margin:.8em 0}figcaption{color:#555;font-size:.9em}
"""


def to_html(title: str, sections: list[Section]) -> str:
    """One self-contained HTML page."""
    nav = " ".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><nav>{nav}</nav>",
    ]
    for s in sections:
        parts.append(f'<section id="{s.id}"><h2>{html.escape(s.title)}</h2>')
        parts += [_html_block(b) for b in s.blocks]
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_block(block: Block) -> str:
    if isinstance(block, Text):
        return f"<p>{html.escape(block.text)}</p>"
    if isinstance(block, Placeholder):
        return (
            f'<div class="placeholder"><strong>{html.escape(block.what)}: '
            f"{NOT_COMPUTED}.</strong> {html.escape(block.why)}</div>"
        )
    if isinstance(block, Figure):
        data = base64.b64encode(block.png).decode("ascii")
        return (
            f'<figure><img alt="{html.escape(block.name)}" '
            f'src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(block.caption)}</figcaption></figure>"
        )
    head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
    body = []
    for i, row in enumerate(block.rows):
        cls = block.classes[i] if i < len(block.classes) else []
        cells = "".join(
            (f'<td class="{cls[j]}">' if j < len(cls) and cls[j] else "<td>")
            + f"{html.escape(c)}</td>"
            for j, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    caption = (
        f"<caption>{html.escape(block.caption)}</caption>" if block.caption else ""
    )
    return f"<table>{caption}<tr>{head}</tr>{''.join(body)}</table>"


def to_markdown(
    title: str, sections: list[Section], path: Path
) -> tuple[str, list[Path]]:
    """Markdown text and the PNG files written beside ``path`` (``<stem>_<name>``)."""
    lines = [f"# {title}", ""]
    written: list[Path] = []
    for s in sections:
        lines += [f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, Text):
                lines += [b.text, ""]
            elif isinstance(b, Placeholder):
                lines += [f"> **{b.what}: {NOT_COMPUTED}.** {b.why}", ""]
            elif isinstance(b, Figure):
                png = path.with_name(f"{path.stem}_{b.name}.png")
                png.write_bytes(b.png)
                written.append(png)
                lines += [f"![{b.caption}]({png.name})", "", f"*{b.caption}*", ""]
            else:
                if b.caption:
                    lines += [f"*{b.caption}*", ""]
                lines.append("| " + " | ".join(_md(h) for h in b.headers) + " |")
                lines.append("|" + "---|" * len(b.headers))
                lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in b.rows]
                lines.append("")
    return "\n".join(lines), written


def to_text(sections: list[Section]) -> str:
    """Plain text: titles, paragraphs, aligned tables; figures left out."""
    lines: list[str] = []
    for s in sections:
        lines += ["", f"{s.title}:"]
        for b in s.blocks:
            if isinstance(b, Text):
                lines.append(f"  {b.text}")
            elif isinstance(b, Placeholder):
                lines.append(f"  {b.what}: {NOT_COMPUTED} ({b.why})")
            elif isinstance(b, Table):
                if b.caption:
                    lines.append(f"  {b.caption}")
                lines += [f"  {row}" for row in _aligned(b.headers, b.rows)]
    return "\n".join(lines)


def _aligned(headers: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell: the first left, the others right."""
    table = [list(map(str, headers)), *([str(c) for c in r] for r in rows)]
    widths = [max(len(r[j]) for r in table) for j in range(len(headers))]
    return [
        "  ".join(
            c.ljust(w) if j == 0 else c.rjust(w)
            for j, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in table
    ]


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
