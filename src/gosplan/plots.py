"""Charts: small functions, one per chart, each returning a matplotlib Figure.

matplotlib is imported inside each function with the Agg backend, so that
``import gosplan`` stays light and charts render on servers without a display.
Add a chart by adding a function here: data in (labelled pandas objects), a
Figure out, ``path`` to save it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def pyplot():
    """matplotlib's ``pyplot`` on the Agg backend (unless one was chosen): the one
    place charts get it, so that no display is needed."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    if path is not None:
        fig.savefig(Path(path), dpi=150, bbox_inches="tight")
    return fig


def scissors_chart(frame: pd.DataFrame, *, up_label: str = "manufactured goods",
                   down_label: str = "agricultural goods", title: str = "The price scissors",
                   unit: str = "price index", bounds: pd.Series | None = None,
                   extra_ratios: dict[str, pd.Series] | None = None,
                   uncertain: list | None = None, since=None, path=None):
    """The two price lines and their ratio, as the literature on the 1923 scissors draws it.

    Parameters
    ----------
    frame : output of :func:`gosplan.prices.scissors_index` (columns ``up``,
        ``down``, ``ratio``; index the periods).
    bounds : lower bounds of the ratio by period (e.g. "over 3"), drawn as
        upward triangles.
    extra_ratios : further ratio series (e.g. barter terms of trade rebased to
        the same base) drawn on the ratio panel.
    uncertain : periods whose ``up`` or ``down`` value is flagged unverified,
        drawn with hollow markers.
    since : first period drawn (e.g. ``"1922"``); an earlier base period where
        both indices are equal (1913 = 100) is drawn as a dotted level instead
        of a point joined across the gap.
    path : where to save the figure (PNG, SVG, PDF by suffix).
    """
    plt = pyplot()
    base = None
    if len(frame) and frame["up"].iloc[0] == frame["down"].iloc[0]:
        base = (frame.index[0], float(frame["up"].iloc[0]), float(frame["ratio"].iloc[0]))
    if since is not None:
        since = pd.Timestamp(since)
        frame = frame[frame.index >= since]
        bounds = None if bounds is None else bounds[bounds.index >= since]
        extra_ratios = {k: v[v.index >= since] for k, v in (extra_ratios or {}).items()}
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 6.5), height_ratios=[3, 2])
    top.plot(frame.index, frame["up"], "-o", color="tab:red", label=up_label)
    top.plot(frame.index, frame["down"], "-s", color="tab:green", label=down_label)
    for period in uncertain or []:
        if period in frame.index:
            top.plot([period], [frame.loc[period, "up"]], "o", mfc="white", mec="black", ms=10,
                     label="unverified value")
    if base is not None and (since is None or base[0] < since):
        when = base[0].year if hasattr(base[0], "year") else base[0]
        top.axhline(base[1], color="grey", ls=":", lw=1, label=f"base period ({when} = {base[1]:g})")
    top.set_ylabel(unit)
    top.set_title(title)
    top.legend(loc="upper left", frameon=False)
    top.grid(alpha=0.3)
    bottom.plot(frame.index, frame["ratio"], "-D", color="black", label=f"{up_label} / {down_label}")
    for period in uncertain or []:  # a ratio is no surer than the values it divides
        if period in frame.index:
            bottom.plot([period], [frame.loc[period, "ratio"]], "D", mfc="white", mec="black", ms=9)
    for label, series in (extra_ratios or {}).items():
        bottom.plot(series.index, series.to_numpy(), "--^", color="tab:blue", alpha=0.8, label=label)
    if bounds is not None and len(bounds):
        bottom.plot(bounds.index, bounds.to_numpy(), "^", color="tab:orange", ms=9, linestyle="none",
                    label="ratio at least (lower bound)")
    bottom.axhline(1.0, color="grey", lw=0.8)
    bottom.set_ylabel("ratio (base = 1)")
    bottom.legend(loc="lower left", frameon=False, fontsize=8)
    bottom.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _save(fig, path)


def comparison_chart(comp, path, up_label: str = "manufactures", down_label: str = "farm goods",
                     unit: str = "gross output"):
    """Two panels of a :class:`gosplan.planning.scenarios.Comparison`: gross output paths
    per product and scenario, and the two price lines (``up`` and ``down`` group price
    indices) per scenario; saved as PNG at ``path``, which is returned. ``unit`` labels
    the output axis."""
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    names = list(comp.plans)
    dashes = ["--", "-", ":", "-."]
    styles = {n: dashes[i % len(dashes)] for i, n in enumerate(names)}
    products = list(next(iter(comp.plans.values())).outputs.columns)
    cycle = ["tab:green", "tab:red", "tab:blue", "tab:orange", "tab:purple", "tab:brown", "tab:grey"]
    colours = {p: cycle[i % len(cycle)] for i, p in enumerate(products)}
    for name, plan in comp.plans.items():
        for prod in plan.outputs.columns:
            ax1.plot(range(len(plan.periods)), plan.outputs[prod], styles.get(name, "-"), color=colours.get(prod),
                     marker="o" if name == names[0] else None, markersize=3, label=f"{prod} ({name})")
    periods = list(next(iter(comp.plans.values())).periods)
    ax1.set_xticks(range(len(periods)), periods, rotation=30)
    ax1.set_ylabel(unit)
    ax1.set_title("Output paths")
    ax1.legend(fontsize=7)
    for name in comp.plans:
        ax2.plot(range(len(periods)), comp.price_lines[(name, "up")], styles.get(name, "-"), color="tab:red",
                 marker="o" if name == names[0] else None, markersize=3, label=f"{up_label} ({name})")
        ax2.plot(range(len(periods)), comp.price_lines[(name, "down")], styles.get(name, "-"), color="tab:green",
                 label=f"{down_label} ({name})")
    ax2.set_xticks(range(len(periods)), periods, rotation=30)
    ax2.set_ylabel(f"price index ({periods[0]} = 1)")
    ax2.set_title("The two price lines (Leontief prices)")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(Path(path), dpi=130)
    plt.close(fig)
    return Path(path)
