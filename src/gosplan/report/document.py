"""The parts of a report and their rendering: one self-contained HTML file.

A :class:`Report` is a title, a few key facts, sections of text, tables and
figures, the inputs with their status (sourced / derived / illustrative) and the
manifest. :meth:`Report.html` renders it with the Jinja2 template in
``templates/``: styles inline, charts inline SVG (matplotlib, text kept as text so
it stays searchable and small), no script and nothing fetched from the network,
so the file opens offline and prints as it shows. Large results are summarised:
a table shows its first ``max_rows`` rows and says how many it leaves out.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Fact", "Figure", "Report", "Section", "Table", "fmt", "markdown", "svg", "thousands"]

#: rows a table shows before it is cut (the rest are counted, not drawn)
MAX_ROWS = 30
_FIGURES = itertools.count(1)


def fmt(x: Any, digits: int = 4) -> str:
    """A number as people read it: thousands separators, ``digits`` significant
    digits below 1,000, none after the point above; text as it is."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, (int,)) and not isinstance(x, bool):
        return f"{x:,}"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "–"
    if math.isinf(v):
        return "no limit" if v > 0 else "−∞"
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.{digits}g}"


@dataclass
class Fact:
    """One key figure at the top of a report."""

    label: str
    value: str
    unit: str = ""


@dataclass
class Table:
    """A table: ``columns`` are (label, unit) pairs, ``rows`` already formatted text.
    ``total`` is how many rows the full result has (more than shown: the table says so)."""

    caption: str
    columns: list[tuple[str, str]]
    rows: list[list[str]]
    note: str = ""
    total: int | None = None
    numeric: list[bool] | None = None

    def __post_init__(self):
        if self.numeric is None:
            self.numeric = [i > 0 for i in range(len(self.columns))]
        if self.total is None:
            self.total = len(self.rows)

    @property
    def cut(self) -> bool:
        return self.total > len(self.rows)


@dataclass
class Figure:
    """An inline SVG chart and its caption."""

    svg: str
    caption: str
    title: str = ""


@dataclass
class Section:
    """A heading, paragraphs and the tables and figures under it."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    items: list[Table | Figure] = field(default_factory=list)
    html: str = ""  # trusted markup made here (e.g. :func:`markdown` of a report's own text)

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


@dataclass
class Report:
    """A report of one result (see :mod:`gosplan.report`)."""

    title: str
    kind: str
    subtitle: str = ""
    facts: list[Fact] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    inputs: Table | None = None
    status_counts: dict[str, int] | None = None
    sources: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def figures(self) -> list[Figure]:
        return [i for s in self.sections for i in s.items if isinstance(i, Figure)]

    def html(self) -> str:
        """The report as one self-contained HTML document."""
        from datetime import UTC, datetime

        import gosplan

        env = _environment()
        return env.get_template("report.html.j2").render(
            r=self, version=gosplan.__version__, manifest=_flatten(self.manifest),
            made=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )

    def write(self, path: str | Path) -> Path:
        """Write :meth:`html` to ``path`` (parent folders made) and return the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.html(), encoding="utf-8")
        return p


def _environment():
    from gosplan.errors import MissingDependencyError

    try:
        import jinja2
    except ImportError as exc:  # a report needs Jinja2; today it ships with the server extra
        raise MissingDependencyError(
            "HTML reports need Jinja2, which is not installed: pip install jinja2 (or 'gosplan[server]')"
        ) from exc
    return jinja2.Environment(
        loader=jinja2.PackageLoader("gosplan.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _flatten(d: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A nested manifest as (dotted key, text) rows."""
    out: list[tuple[str, str]] = []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(d, (list, tuple)):
        out.append((prefix, ", ".join(map(str, d))))
    else:
        out.append((prefix, str(d)))
    return out


def svg(fig) -> str:
    """A matplotlib figure as inline SVG (text kept as text), then closed."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "gosplan", "font.family": "DejaVu Sans"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    from gosplan.plots import pyplot

    pyplot().close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # drop the XML declaration and DOCTYPE: inline SVG takes neither
    # matplotlib numbers its ids per figure (figure_1, clip paths...): several charts inline in one page
    # would share them and clip each other, so each figure's ids get a prefix of their own
    pre = f"c{next(_FIGURES)}-"
    text = re.sub(r'\bid="([^"]+)"', rf'id="{pre}\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{pre}\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{pre}\1"', text)
    # scale with the page: keep the viewBox, let CSS set the size
    # its natural width as the largest it is drawn, narrower on a narrow page
    text = re.sub(r'<svg([^>]*?) width="([^"]*)" height="[^"]*"', r'<svg\1 class="chart" style="max-width: \2"', text, count=1)
    return text


def markdown(text: str) -> str:
    """Markdown (with tables) as HTML; raw HTML in the text is escaped, not passed on."""
    from markdown_it import MarkdownIt

    return MarkdownIt("js-default").render(text)


def thousands(*axes) -> None:
    """Tick labels with thousands separators (10,000 rather than 1e4) on matplotlib axes
    (``ax.xaxis`` / ``ax.yaxis``)."""
    from matplotlib.ticker import FuncFormatter

    for a in axes:
        a.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}" if abs(x) >= 1000 else f"{x:g}"))
