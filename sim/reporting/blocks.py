"""Report blocks (headings, paragraphs, lists, code, tables, figures, folded details) and
their two renderings: Markdown (figures linked from `figures/`) and one self-contained HTML
page (inline CSS, figures as base64 PNG; it loads nothing from anywhere).

All text is escaped (`html.escape`, and Markdown punctuation in report.md), so a scenario
description containing markup shows as text. Tables fit a 1,400-pixel page: a table with
more than `MAX_COLUMNS` columns is split into several that repeat its first column, and long
cells wrap.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..figures import FigureInfo

MAX_COLUMNS = 7  # wider tables are split (first column repeated) to fit the page


@dataclass
class H:
    level: int
    text: str


@dataclass
class P:
    text: str
    muted: bool = False


@dataclass
class Items:
    items: list[str]


@dataclass
class Code:
    text: str


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""
    right: frozenset[int] | None = None  # right-aligned (numeric) columns; None: all but 1st

    def is_right(self, i: int) -> bool:
        """Whether column `i` is right-aligned (by default every column but the first).

        Args:
            i: Index of the column.

        Returns:
            True for right alignment.
        """
        return i >= 1 if self.right is None else i in self.right


@dataclass
class Fig:
    info: FigureInfo
    number: int = 0


@dataclass
class Details:
    summary: str
    blocks: list = field(default_factory=list)


def split_wide(table: Table, max_columns: int = MAX_COLUMNS) -> list[Table]:
    """`table` as tables of at most `max_columns` columns, each repeating the first column
    (the row labels); the caption says which part each is."""
    n = len(table.headers)
    if n <= max_columns:
        return [table]
    step = max_columns - 1
    starts = range(1, n, step)
    parts = []
    for k, s in enumerate(starts, start=1):
        cols = [0, *range(s, min(s + step, n))]
        caption = f"{table.caption} (part {k} of {len(starts)})".strip()
        parts.append(
            Table(
                [table.headers[c] for c in cols],
                [[r[c] for c in cols] for r in table.rows],
                caption=caption,
                right=frozenset(i for i, c in enumerate(cols) if table.is_right(c)),
            )
        )
    return parts


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#<>~])")


def md_escape(text: Any) -> str:
    """Text for Markdown: no markup survives (HTML escaped, Markdown punctuation escaped)."""
    t = " ".join(str(text).split())
    t = _MD_SPECIAL.sub(r"\\\1", t)
    return html.escape(t, quote=False).replace("\\&lt;", "&lt;").replace("\\&gt;", "&gt;")


def h_escape(text: Any) -> str:
    """Escape text for HTML (quotes included).

    Args:
        text: The text (any value, converted with `str`).

    Returns:
        The escaped text.
    """
    return html.escape(str(text), quote=True)


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def render_markdown(blocks: list, base: Path) -> str:
    """Render report blocks as Markdown.

    Args:
        blocks: The report blocks.
        base: Directory the report is written to (figure links are relative to it).

    Returns:
        The Markdown text.
    """
    out: list[str] = []

    def emit(bs: list) -> None:
        """Append the Markdown of each block to the output."""
        for b in bs:
            if isinstance(b, H):
                out.append(f"{'#' * b.level} {md_escape(b.text)}\n")
            elif isinstance(b, P):
                out.append((f"*{md_escape(b.text)}*" if b.muted else md_escape(b.text)) + "\n")
            elif isinstance(b, Items):
                out.append("\n".join(f"- {md_escape(i)}" for i in b.items) + "\n")
            elif isinstance(b, Code):
                fence = "````" if "```" in b.text else "```"
                out.append(f"{fence}\n{b.text}\n{fence}\n")
            elif isinstance(b, Table) and len(b.headers) > MAX_COLUMNS:
                emit(split_wide(b))
            elif isinstance(b, Table):
                if not b.rows:
                    continue
                head = "| " + " | ".join(md_escape(h) for h in b.headers) + " |"
                sep = (
                    "|"
                    + "|".join("---:" if b.is_right(i) else "---" for i in range(len(b.headers)))
                    + "|"
                )
                body = ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in b.rows]
                if b.caption:
                    out.append(f"*{md_escape(b.caption)}*\n")
                out.append("\n".join([head, sep, *body]) + "\n")
            elif isinstance(b, Fig):
                rel = b.info.png.relative_to(base).as_posix()
                svg = b.info.svg.relative_to(base).as_posix()
                out.append(f"![{md_escape(b.info.title)}]({rel})\n")
                out.append(
                    f"*Figure {b.number}. {md_escape(b.info.title)}.* "
                    f"{md_escape(b.info.caption)} ([SVG]({svg}))\n"
                )
            elif isinstance(b, Details):
                out.append(f"**{md_escape(b.summary)}**\n")
                emit(b.blocks)

    emit(blocks)
    return "\n".join(out)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 max-width:1300px;margin:2em auto;padding:0 1.2em;color:#1a1a1a;line-height:1.45}
h1{font-size:1.7em;border-bottom:2px solid #0072B2;padding-bottom:.2em}
h2{font-size:1.3em;margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.15em}
h3{font-size:1.08em;margin-top:1.4em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.86em}
th,td{border:1px solid #d0d0d0;padding:.25em .55em;vertical-align:top}
th{background:#eef3f8;text-align:left}
td{overflow-wrap:anywhere}
td.num{text-align:right;font-variant-numeric:tabular-nums}
div.table{max-width:100%;overflow-x:auto}
tr:nth-child(even) td{background:#fafafa}
caption{caption-side:top;text-align:left;font-style:italic;color:#444;padding:.2em 0}
figure{margin:1.2em 0 2em}
figure img{max-width:100%;height:auto;border:1px solid #e3e3e3}
figcaption{font-size:.9em;color:#333;max-width:900px}
pre{background:#f5f5f5;padding:.6em;overflow-x:auto;font-size:.85em}
.muted{color:#555;font-style:italic}
details{margin:.5em 0 1em}
summary{cursor:pointer;font-weight:600}
nav ul{columns:2;font-size:.92em}
"""


def render_html(blocks: list, title: str) -> str:
    """Render report blocks as a standalone HTML page, with a table of contents.

    Args:
        blocks: The report blocks.
        title: Title of the page.

    Returns:
        The HTML text.
    """
    out: list[str] = []
    toc = [b for b in blocks if isinstance(b, H) and b.level == 2]

    def emit(bs: list) -> None:
        """Append the HTML of each block to the output."""
        for b in bs:
            if isinstance(b, H):
                anchor = f' id="{_anchor(b.text)}"' if b.level == 2 else ""
                out.append(f"<h{b.level}{anchor}>{h_escape(b.text)}</h{b.level}>")
                if b.level == 1 and toc:
                    out.append("<nav><ul>")
                    out.extend(
                        f'<li><a href="#{_anchor(t.text)}">{h_escape(t.text)}</a></li>' for t in toc
                    )
                    out.append("</ul></nav>")
            elif isinstance(b, P):
                cls = ' class="muted"' if b.muted else ""
                out.append(f"<p{cls}>{h_escape(b.text)}</p>")
            elif isinstance(b, Items):
                out.append("<ul>" + "".join(f"<li>{h_escape(i)}</li>" for i in b.items) + "</ul>")
            elif isinstance(b, Code):
                out.append(f"<pre><code>{h_escape(b.text)}</code></pre>")
            elif isinstance(b, Table) and len(b.headers) > MAX_COLUMNS:
                emit(split_wide(b))
            elif isinstance(b, Table):
                if not b.rows:
                    continue
                out.append('<div class="table">')
                out.append("<table>")
                if b.caption:
                    out.append(f"<caption>{h_escape(b.caption)}</caption>")
                out.append(
                    "<thead><tr>"
                    + "".join(f"<th>{h_escape(h)}</th>" for h in b.headers)
                    + "</tr></thead><tbody>"
                )
                for r in b.rows:
                    cells = "".join(
                        f'<td class="num">{h_escape(c)}</td>'
                        if b.is_right(i)
                        else f"<td>{h_escape(c)}</td>"
                        for i, c in enumerate(r)
                    )
                    out.append(f"<tr>{cells}</tr>")
                out.append("</tbody></table></div>")
            elif isinstance(b, Fig):
                data = base64.b64encode(b.info.png.read_bytes()).decode("ascii")
                out.append(
                    f'<figure id="figure-{b.number}"><img alt="{h_escape(b.info.title)}" '
                    f'src="data:image/png;base64,{data}"><figcaption><b>Figure {b.number}. '
                    f"{h_escape(b.info.title)}.</b> {h_escape(b.info.caption)} "
                    f"(Vector version: {h_escape(b.info.svg.name)} in figures/.)"
                    "</figcaption></figure>"
                )
            elif isinstance(b, Details):
                out.append(f"<details><summary>{h_escape(b.summary)}</summary>")
                emit(b.blocks)
                out.append("</details>")

    emit(blocks)
    body = "\n".join(out)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{h_escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )
