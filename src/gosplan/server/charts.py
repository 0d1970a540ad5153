"""Charts of published results as inline SVG (matplotlib, no pyplot, no browser script).

A figure is made per request from the stored result; pyplot's global state is
avoided so that charts drawn by concurrent requests cannot mix.
"""

from __future__ import annotations

import html
import io
import re
import uuid


def _svg(fig, label: str = "") -> str:  # noqa: ANN001
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.find("<svg"):]
    # matplotlib numbers the ids of every figure alike (figure_1, patch_1, clip paths): prefix
    # them, so that several charts on one page neither share ids nor borrow each other's clips
    prefix = f"c{uuid.uuid4().hex[:8]}-"
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}\1"', text)
    # an image to assistive technology, named by its title (the figure's caption says it too)
    label = label or (fig.axes[0].get_title() if fig.axes else "chart")
    return text.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label, quote=True)}" ', 1)


def _figure(w: float = 6.0, h: float = 3.2):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h))
    return fig, fig.add_subplot()


def plan_charts(result: dict, top: int = 12, names: dict[str, str] | None = None,
                unit: str = "") -> list[tuple[str, str]]:
    """The ``top`` largest targets against their planned gross output, and the ``top``
    highest valuations (shadow prices); products by ``names`` where given, amounts in ``unit``."""
    names = names or {}
    short = lambda k: (lambda n: n if len(n) <= 40 else n[:39] + "…")(names.get(k, k))  # noqa: E731
    plan = result["plan"]
    output = plan.get("output") or {}
    charts = []
    if output:
        targets = plan.get("targets") or {}
        ranked = sorted(output, key=lambda k: (-targets.get(k, 0.0), -output[k]))[:top]
        fig, ax = _figure(7.5, 0.9 + 0.36 * len(ranked))
        y = range(len(ranked))
        ax.barh([i - 0.2 for i in y], [targets.get(k, 0.0) for k in ranked], height=0.4, label="target (final demand)")
        ax.barh([i + 0.2 for i in y], [output[k] for k in ranked], height=0.4, label="gross output")
        ax.set_yticks(list(y), [short(k) for k in ranked], fontsize=8)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        if unit:
            ax.set_xlabel(unit)
        ax.set_title(f"The {len(ranked)} largest targets and their gross output")
        ax.legend(fontsize=8)
        charts.append(("Largest targets and planned gross output", _svg(fig)))
    prices = plan.get("prices") or {}
    if prices:
        ids = sorted(prices, key=lambda k: -prices[k])[:top]
        fig, ax = _figure(7.5, 0.9 + 0.3 * len(ids))
        ax.barh([short(k) for k in ids], [prices[k] for k in ids], color="tab:red")
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=8)
        ax.set_xlabel(f"valuation: the objective ({plan.get('objective', '')}) per unit of the product")
        ax.set_title("Highest valuations (shadow prices)")
        charts.append(("Valuations (shadow prices)", _svg(fig)))
    return charts


def budget_charts(result: dict, projects: list[dict]) -> list[tuple[str, str]]:
    """Funded projects against cost and votes, and the distribution of voters' satisfaction."""
    funded = set(result.get("funded") or [])
    votes = result.get("votes") or {}
    fig, ax = _figure()
    for is_funded, colour, label in ((True, "tab:green", "funded"), (False, "tab:gray", "not funded")):
        pts = [(p["cost"], votes.get(p["key"], 0)) for p in projects if (p["key"] in funded) == is_funded]
        if pts:
            ax.scatter([c for c, _ in pts], [v for _, v in pts], c=colour, label=label)
    for p in projects:
        ax.annotate(p["key"], (p["cost"], votes.get(p["key"], 0)), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("cost")
    ax.set_ylabel("votes (score)")
    ax.set_title("Projects: cost against votes")
    ax.legend()
    charts = [("Projects: cost against votes", _svg(fig))]
    sat = result.get("satisfaction") or []
    if sat:
        fig, ax = _figure()
        top = int(max(sat)) if sat else 0
        counts = [sum(1 for s in sat if int(s) == k) for k in range(top + 1)]
        ax.bar(range(top + 1), counts)
        ax.set_xticks(range(top + 1))
        ax.set_xlabel("funded projects on the voter's ballot")
        ax.set_ylabel("voters")
        ax.set_title("Satisfaction of voters")
        charts.append(("Satisfaction of voters", _svg(fig)))
    return charts


def election_charts(result: dict, names: dict[int, str]) -> list[tuple[str, str]]:
    scores = result.get("scores") or {}
    if not scores:
        return []
    elected = {int(e) for e in result.get("elected") or []}
    fig, ax = _figure()
    keys = list(scores)
    ax.bar([names.get(int(k), k) for k in keys], [scores[k] for k in keys],
           color=["tab:green" if int(k) in elected else "tab:gray" for k in keys])
    ax.set_title("Candidates (green: elected)")
    ax.tick_params(axis="x", rotation=30)
    return [("Candidates", _svg(fig))]


def group_chart(groups: list[str], asked: dict[str, dict[str, float]], delivered: dict[str, float],
                unit: str) -> list[tuple[str, str]]:
    """What each council asked for, by group, against the plan's targets (what it delivers at least).

    ``asked`` maps a council's name to its proposed amount per group, ``delivered`` the
    plan's targets per group; all in ``unit`` (a chart of sums needs one unit).
    """
    import numpy as np

    shown = [g for g in groups if delivered.get(g, 0.0) > 0 or any(a.get(g, 0.0) > 0 for a in asked.values())]
    if not shown:
        return []
    fig, ax = _figure(7.5, 0.9 + 0.42 * len(shown))
    series = [*asked.items(), ("the plan", {g: delivered.get(g, 0.0) for g in shown})]
    height = 0.8 / len(series)
    y = np.arange(len(shown))
    for i, (name, values) in enumerate(series):
        ax.barh(y + (i - (len(series) - 1) / 2) * height, [values.get(g, 0.0) for g in shown], height=height,
                label=name, color="#8b0000" if name == "the plan" else None)
    ax.set_yticks(y, [g if len(g) <= 45 else g[:44] + "…" for g in shown], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.set_title("Asked by each council and targeted by the plan, by section")
    ax.legend(fontsize=8)
    return [("What each council asked for and what the plan delivers, by section", _svg(fig))]
