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


#: how each scenario is drawn: the first (the baseline) grey and dashed with squares,
#: the others solid in colour with circles, so that no two scenarios share a style
_SCENARIO_STYLES = [
    {"color": "0.35", "ls": "--", "marker": "s", "mfc": "white"},
    {"color": "tab:red", "ls": "-", "marker": "o"},
    {"color": "tab:blue", "ls": "-.", "marker": "^"},
    {"color": "tab:green", "ls": ":", "marker": "D"},
    {"color": "tab:purple", "ls": "-", "marker": "v"},
]


def scenario_style(k: int) -> dict:
    """Line style of the k-th scenario of a comparison (the first is the baseline)."""
    return dict(_SCENARIO_STYLES[k % len(_SCENARIO_STYLES)])


def scenario_chart(comp, *, names=None, unit: str = "", products=None,
                   up_label: str = "manufactures", down_label: str = "farm goods",
                   ratio_scale: float | None = None, ratio_scale_label: str = "",
                   title: str | None = None, note: str | None = None, path=None):
    """Scenarios of a multi-year comparison side by side, one panel per question.

    Top row: gross output of each product (one panel each, so that paths which
    coincide are seen to coincide rather than hidden under one another). Bottom
    row: total investment, the two group price indices (axis from 0, the first
    period = 1 drawn as a line) and the scissors index (``up`` over ``down``).

    Parameters
    ----------
    comp : :class:`gosplan.planning.scenarios.Comparison`.
    names : product id -> name shown (default: the ids).
    unit : unit of outputs and investment, shown on their axes.
    products : products drawn in the top row (default: the three with the
        largest output in the first scenario's first period).
    ratio_scale, ratio_scale_label : the scissors index is drawn as ``ratio_scale
        * index`` against another base (e.g. 2.0, "1913 = 1"), with a line at 1
        (parity with that base); without it, against the first period.
    note : a line printed under the chart (e.g. which inputs are illustrative).
    path : where to save the figure (PNG, SVG, PDF by suffix).
    """
    import numpy as np

    plt = pyplot()
    names = dict(names or {})
    scen = list(comp.plans)
    first = comp.plans[scen[0]]
    periods = [str(p) for p in first.periods]
    xs = np.arange(len(periods))
    if products is None:
        products = list(first.outputs.iloc[0].sort_values(ascending=False).index[:3])
    n_top = max(len(products), 3)
    fig, axes = plt.subplots(2, n_top, figsize=(4.3 * n_top, 8.2), squeeze=False)
    unit_txt = f", {unit}" if unit else ""

    def line(ax, k, ys, label=None):
        st = scenario_style(k)
        ax.plot(xs, np.asarray(ys, dtype=float), ls=st["ls"], color=st["color"], marker=st["marker"],
                mfc=st.get("mfc", st["color"]), mec=st["color"], ms=5, lw=1.8, label=label)

    for i, prod in enumerate(products):
        ax = axes[0, i]
        for k, s in enumerate(scen):
            line(ax, k, comp.plans[s].outputs[prod], s)
        ax.set_title(f"Output: {names.get(prod, prod)}", fontsize=10, wrap=True)
        ax.set_ylabel(f"gross output{unit_txt}", fontsize=8)
        ax.set_ylim(bottom=0)
        ref = first.outputs[prod].to_numpy(dtype=float)
        gap = max(float(np.max(np.abs(comp.plans[s].outputs[prod].to_numpy(dtype=float) - ref) / np.maximum(np.abs(ref), 1e-12)))
                  for s in scen)
        if len(scen) > 1 and gap < 0.01:  # lines drawn on top of each other: say so
            ax.text(0.97, 0.06, "scenarios coincide" if gap < 1e-4 else f"scenarios within {100 * gap:.1f} % of each other",
                    transform=ax.transAxes, ha="right", fontsize=8, color="0.2", bbox={"fc": "white", "ec": "0.7"})
    for j in range(len(products), n_top):
        axes[0, j].axis("off")

    ax = axes[1, 0]
    for k, s in enumerate(scen):
        line(ax, k, comp.plans[s].total_investment, s)
    ax.set_title("Investment (new capacity started)", fontsize=10)
    ax.set_ylabel(f"capital goods{unit_txt}", fontsize=8)
    ax.set_ylim(bottom=0)

    ax = axes[1, 1]
    for k, s in enumerate(scen):
        st = scenario_style(k)
        ax.plot(xs, comp.price_lines[(s, "up")].to_numpy(), ls=st["ls"], color=st["color"], marker="^", ms=5,
                mfc=st.get("mfc", st["color"]), lw=1.8, label=f"{up_label}, {s}")
        ax.plot(xs, comp.price_lines[(s, "down")].to_numpy(), ls=st["ls"], color=st["color"], marker="v", ms=5,
                mfc="white", lw=1.0, alpha=0.8, label=f"{down_label}, {s}")
    ax.axhline(1.0, color="0.6", lw=0.8)
    ax.set_ylim(0, 1.15 * max(1.0, float(np.nanmax(comp.price_lines.to_numpy()))))
    ax.set_title(f"Price indices ({periods[0]} = 1, axis from 0)", fontsize=10)
    ax.set_ylabel(f"price index, {periods[0]} = 1", fontsize=8)

    ax = axes[1, 2]
    scale = 1.0 if ratio_scale is None else float(ratio_scale)
    for k, s in enumerate(scen):
        line(ax, k, scale * comp.scissors[s].to_numpy(), s)
        ax.annotate(f"{scale * comp.scissors[s].iloc[-1]:.2f}", (xs[-1], scale * comp.scissors[s].iloc[-1]),
                    textcoords="offset points", xytext=(-4, 7 if k == 0 else -13), ha="right", fontsize=8,
                    color=scenario_style(k)["color"])
    if ratio_scale is not None:
        ax.axhline(1.0, color="tab:green", lw=1.2, ls=":")
        ax.text(xs[0], 1.03, f"parity with {ratio_scale_label.split('=')[0].strip() or 'the base'}",
                fontsize=8, color="tab:green")
        ax.set_ylabel(f"{up_label} / {down_label} prices, {ratio_scale_label}", fontsize=8)
        ax.set_title(f"Scissors index ({ratio_scale_label})", fontsize=10)
        right = ax.secondary_yaxis("right", functions=(lambda y: y / scale, lambda y: y * scale))
        right.set_ylabel(f"{periods[0]} = 1", fontsize=8)
    else:
        ax.axhline(1.0, color="0.6", lw=0.8)
        ax.set_ylabel(f"{up_label} / {down_label} prices, {periods[0]} = 1", fontsize=8)
        ax.set_title(f"Scissors index ({periods[0]} = 1)", fontsize=10)
    ax.set_ylim(0, 1.15 * scale * max(1.0, float(np.nanmax(comp.scissors.to_numpy()))))
    for j in range(3, n_top):
        axes[1, j].axis("off")
    for ax in axes.ravel():
        if ax.axison:
            ax.set_xticks(xs, periods, rotation=30, fontsize=8)
            ax.tick_params(axis="y", labelsize=8)
            ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    axes[1, 1].legend(fontsize=7, frameon=False, loc="lower left", ncol=1)
    if title:
        fig.suptitle(title, fontsize=12, fontweight="bold", y=0.995)
    fig.legend(handles, labels, loc="upper center", ncol=len(scen), frameon=False, fontsize=9,
               bbox_to_anchor=(0.5, 0.965 if title else 1.0))
    if note:
        fig.text(0.5, 0.005, note, ha="center", va="bottom", fontsize=8.5, color="darkred", wrap=True)
    fig.tight_layout(rect=(0, 0.05 if note else 0, 1, 0.93 if title else 0.96))
    return _save(fig, path)


def comparison_chart(comp, path, up_label: str = "manufactures", down_label: str = "farm goods",
                     unit: str = "gross output", *, names=None, products=None, ratio_scale: float | None = None,
                     ratio_scale_label: str = "", title: str | None = None, note: str | None = None):
    """:func:`scenario_chart` of a :class:`gosplan.planning.scenarios.Comparison`, saved
    at ``path`` (PNG, SVG or PDF by suffix), which is returned. ``unit`` labels the
    output and investment axes ("gross output, million roubles" or just the unit)."""
    unit = unit.removeprefix("gross output").lstrip(", ")
    fig = scenario_chart(comp, names=names, unit=unit, products=products, up_label=up_label, down_label=down_label,
                         ratio_scale=ratio_scale, ratio_scale_label=ratio_scale_label, title=title, note=note)
    fig.savefig(Path(path), dpi=110)
    pyplot().close(fig)
    return Path(path)
