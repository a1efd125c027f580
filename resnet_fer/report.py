"""The ``fer-compare`` report: ``results.json``, ``report.md``, ``report.html`` and figures.

Everything is read from one :class:`~bpnet.comparison.ComparisonResult`
(:mod:`resnet_fer.report_text` writes the text, :mod:`resnet_fer.report_figures` draws the
figures), so every number in the report comes from ``results.json`` (the tests check it).
The report is a list of blocks (headings, paragraphs, tables, figures) rendered to markdown
or to one self-contained HTML page with the figures embedded.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

from bpnet.comparison import ComparisonResult
from bpnet.outdir import RunDir

from .report_figures import make_figures
from .report_text import SMOKE_RUN, blocks

__all__ = ["SMOKE_RUN", "render", "write_report"]


def write_report(result: ComparisonResult, run: RunDir) -> dict[str, Path]:
    """Write ``results.json``, the figures, ``report.md`` and ``report.html`` into ``run``."""
    out = run.path
    with run.writing("the figures"):  # a full disk: one line naming the folder
        figures = make_figures(result, out, run.file)
    paths = {"json": run.write_text("results.json", result.to_json()),
             "markdown": run.write_text("report.md", render(result, figures, "markdown")),
             "html": run.write_text("report.html", render(result, figures, "html", out))}
    return {**paths, **{k: out / v for k, v in figures.items()}}


def render(result: ComparisonResult, figures: dict[str, str], fmt: str = "markdown",
           folder: Path | None = None) -> str:
    """The report as markdown, or as one self-contained HTML page (figures read from ``folder``)."""
    parts_of = blocks(result, figures)
    if fmt == "markdown":
        out = []
        for b in parts_of:
            if b[0] == "h":
                out.append("#" * b[1] + " " + b[2])
            elif b[0] == "p":
                out.append(b[1])
            elif b[0] == "table":
                out.append("| " + " | ".join(b[1]) + " |")
                out.append("|" + "|".join("---" for _ in b[1]) + "|")
                out.extend("| " + " | ".join(r) + " |" for r in b[2])
            else:
                out.append(f"![{b[2]}]({figures[b[1]]})")
            out.append("")
        return "\n".join(out)
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>fer-compare report</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
             "padding:3px 8px;text-align:right}img{max-width:100%}</style></head><body>"]
    for b in parts_of:
        if b[0] == "h":
            parts.append(f"<h{b[1]}>{html.escape(b[2])}</h{b[1]}>")
        elif b[0] == "p":
            parts.append(f"<p>{html.escape(b[1])}</p>")
        elif b[0] == "table":
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b[1])
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                           for r in b[2])
            parts.append(f"<table><tr>{head}</tr>{rows}</table>")
        else:
            data = base64.b64encode((folder / figures[b[1]]).read_bytes()).decode("ascii")
            parts.append(f"<figure><img src='data:image/png;base64,{data}' alt=''>"
                         f"<figcaption>{html.escape(b[2])}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
