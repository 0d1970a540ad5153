"""Charts: small functions, one per chart, each returning a matplotlib Figure.

matplotlib is imported inside each function with the Agg backend, so that
``import gosplan`` stays light and charts render on servers without a display.
Add a chart by adding a function here: data in (labelled pandas objects), a
Figure out, ``path`` to save it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _pyplot():
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
    plt = _pyplot()
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


def world_gains_chart(table: pd.DataFrame, *, resource: str = "labour", title: str | None = None, path=None):
    """The gain from pooling by region: the basket multiple each region reaches alone (autarky)
    and in the pooled world plan (max-min), regions sorted by their multiple alone.

    ``table``: :attr:`gosplan.planning.world.AutarkyComparison.table`.
    """
    plt = _pyplot()
    t = table.sort_values("multiple_alone")
    fig, ax = plt.subplots(figsize=(max(6, 0.28 * len(t)), 4))
    x = range(len(t))
    ax.bar([i - 0.2 for i in x], t["multiple_alone"], width=0.4, label="alone (autarky)", color="#b0b0b0")
    ax.bar([i + 0.2 for i in x], t["multiple_pooled"], width=0.4, label="pooled (max-min)", color="#c0392b")
    ax.set_xticks(list(x))
    ax.set_xticklabels(t.index, rotation=90, fontsize=7)
    ax.set_ylabel("multiple of the region's basket")
    ax.set_title(title or f"Alone and pooled: each region's basket multiple (resource: {resource})")
    ax.legend(fontsize=8)
    return _save(fig, path)


def coordination_chart(rounds: pd.DataFrame, prices: pd.DataFrame | None = None, *, top: int = 8, path=None):
    """The centre's coordination round by round: master value and certified bound (left), and
    the prices of the ``top`` most valued coupling rows (right)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2 if prices is not None else 1, figsize=(10 if prices is not None else 5, 3.5))
    axes = list(axes) if prices is not None else [axes]
    r = rounds[rounds["phase"] == 2] if "phase" in rounds else rounds
    axes[0].plot(r["round"], r["value"], label="master value")
    if "bound" in r:
        b = r["bound"].where(r["bound"].abs() < 1e300)
        axes[0].plot(r["round"], b, label="bound", linestyle="--")
    axes[0].set_xlabel("round")
    axes[0].legend(fontsize=8)
    if prices is not None and len(prices.columns):
        cols = prices.abs().iloc[-1].sort_values(ascending=False).index[:top]
        for c in cols:
            axes[1].plot(prices.index, prices[c], label=str(c), linewidth=1)
        axes[1].set_xlabel("round")
        axes[1].set_ylabel("price (shadow value)")
        axes[1].legend(fontsize=6)
    return _save(fig, path)
