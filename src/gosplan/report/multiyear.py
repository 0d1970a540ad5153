"""Reports of multi-year plans and of scenario comparisons: output, investment,
capital stocks, consumption and the price scissors by year."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from gosplan.report.document import (
    MAX_ROWS,
    Fact,
    Figure,
    Report,
    Section,
    Table,
    fmt,
    markdown,
    svg,
)
from gosplan.report.plan import labels, one_unit, units

__all__ = ["comparison_report", "multiyear_report", "parameters_table"]

#: products drawn one line each in a chart; the others are summed in the tables
TOP_PRODUCTS = 6


def parameters_table(parameters: pd.DataFrame, caption: str = "Parameters this run read, with their source and status") -> Table:
    """A table of parameters with columns parameter, value, unit, status and, where
    present, year and source_id (the locator within the source stays in the file)."""
    cols = [c for c in ("parameter", "value", "unit", "year", "status", "source_id") if c in parameters]
    def cell(c, v) -> str:
        if c == "value":
            return fmt(v)
        text = "" if pd.isna(v) else str(v)
        return text.replace("+", " + ") if c == "source_id" else text  # several sources: room to wrap

    rows = [[cell(c, v) for c, v in zip(cols, r)] for r in parameters[cols].itertuples(index=False)]
    return Table(caption, [(c.replace("_", " "), "") for c in cols], rows, numeric=[c == "value" for c in cols])


def status_counts(parameters: pd.DataFrame) -> dict[str, int]:
    c = parameters["status"].value_counts()
    return {k: int(c.get(k, 0)) for k in ("sourced", "derived", "illustrative")}


def _line_chart(frames: Mapping[str, pd.DataFrame | pd.Series], columns: Sequence[str], names: Mapping[str, str],
                ylabel: str, title: str, ncols: int = 3):
    """One small panel per column, one line per scenario (styles of :func:`gosplan.plots.scenario_style`)."""
    from gosplan.plots import pyplot, scenario_style

    plt = pyplot()
    n = len(columns)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.1 * nrows + 0.6), squeeze=False)
    for i, col in enumerate(columns):
        ax = axes.flat[i]
        for k, (scen, fr) in enumerate(frames.items()):
            ys = fr[col] if isinstance(fr, pd.DataFrame) else fr
            st = scenario_style(k if len(frames) > 1 else 1)  # a plan alone is drawn as a plan, not as a baseline
            xs = np.arange(len(ys))
            ax.plot(xs, ys.to_numpy(dtype=float), ls=st["ls"], color=st["color"], marker=st["marker"],
                    mfc=st.get("mfc", st["color"]), ms=4, lw=1.6, label=scen)
            ax.set_xticks(xs, [str(p) for p in ys.index], rotation=30, fontsize=7)
        ax.set_title(names.get(col, str(col)), fontsize=9)
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(alpha=0.3)
    for j in range(n, nrows * ncols):
        axes.flat[j].axis("off")
    axes.flat[0].set_ylabel(ylabel, fontsize=8)
    if len(frames) > 1:  # the figure's caption carries the title; the legend takes the top
        h, lab = axes.flat[0].get_legend_handles_labels()
        fig.legend(h, lab, loc="upper center", ncol=len(frames), frameon=False, fontsize=8)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    else:
        fig.tight_layout()
    return fig


def _by_year_table(caption: str, frames: Mapping[str, pd.DataFrame], columns: Sequence[str], names: Mapping[str, str],
                   unit: str, total: bool = True) -> Table:
    several = len(frames) > 1  # a scenario column only where there is more than one
    cols = [("year", "")] + ([("scenario", "")] if several else []) + [(names.get(c, str(c)), unit) for c in columns]
    if total:
        cols.append(("all products", unit))
    rows = []
    first = next(iter(frames.values()))
    for t in first.index:
        for scen, fr in frames.items():
            row = [str(t)] + ([scen] if several else []) + [fmt(float(fr.loc[t, c])) for c in columns]
            if total:
                row.append(fmt(float(fr.loc[t].sum())))
            rows.append(row)
    lead = 2 if several else 1
    return Table(caption, cols, rows, numeric=[False] * lead + [True] * (len(cols) - lead))


def multiyear_report(plans, economy, *, title: str | None = None, comparison=None, parameters: pd.DataFrame | None = None,
                     consumption: Sequence[str] | None = None, explanation: str = "", chart_options: Mapping[str, Any] | None = None,
                     sources: Sequence[str] = (), warnings: Sequence[str] = (), max_rows: int = MAX_ROWS) -> Report:
    """The report of one multi-year plan (a :class:`~gosplan.planning.dynamic.DynamicPlan`)
    or of several by name (``{"baseline": plan, ...}``).

    Sections: output, investment, capital stocks and consumption by year (charts of
    the largest products, one panel each, and tables), with a ``comparison``
    (:class:`~gosplan.planning.scenarios.Comparison`) the price indices and the
    scissors index; ``explanation`` (Markdown) is shown as it is; ``parameters``
    (a table with a ``status`` column: sourced / derived / illustrative) is listed
    with its counts. ``consumption``: the products households consume (default:
    every product with final use).
    """
    if not isinstance(plans, Mapping):
        plans = {"plan": plans}
    eco = economy
    names_full = labels(eco.products, eco.product_ids)
    unit = one_unit(units(eco.products, eco.product_ids))
    scen = list(plans)
    first = plans[scen[0]]
    periods = [str(p) for p in first.periods]
    top = list(first.outputs.mean().sort_values(ascending=False).index[:TOP_PRODUCTS])
    def short_name(p) -> str:
        n = str(eco.products["name"].get(p, p)) if "name" in eco.products else str(p)
        n = n if n.strip() else str(p)
        return n if len(n) <= 48 else n[:45] + "…"

    short = {p: short_name(p) for p in eco.product_ids}
    many = len(eco.product_ids) > TOP_PRODUCTS
    cons_cols = list(consumption) if consumption is not None else None

    def cons(p) -> pd.DataFrame:
        return p.consumption if cons_cols is None else p.consumption[cons_cols]

    facts = [Fact("horizon", f"{periods[0]} – {periods[-1]}", f"{len(periods)} periods"),
             Fact("scenarios" if len(scen) > 1 else "plan", ", ".join(scen))]
    for s_ in scen:
        p = plans[s_]
        facts.append(Fact(f"{'household consumption' if cons_cols is not None else 'consumption, all products'}, {s_}",
                          fmt(float(cons(p).to_numpy().sum())),
                          f"{unit}, summed over the years" if unit else "summed over the years"))
        facts.append(Fact(f"investment, {s_}", fmt(float(p.total_investment.sum())),
                          f"{unit}, summed over the years" if unit else "summed over the years"))
    if comparison is not None:
        for s_ in scen:
            facts.append(Fact(f"scissors index in {periods[-1]}, {s_}", fmt(float(comparison.scissors[s_].iloc[-1])),
                              f"{periods[0]} = 1"))

    sections = []
    if comparison is not None:
        from gosplan.plots import scenario_chart

        opts = dict(chart_options or {})
        opts.setdefault("names", short)
        fig = scenario_chart(comparison, unit=unit, **opts)
        sections.append(Section(
            "The scenarios at a glance",
            [f"Each scenario keeps one style in every panel: {', '.join(scen)}. Output panels share no axis: each "
             "starts at 0. Price indices start at 0 with the first year = 1; the scissors index is manufactures' "
             "prices over farm goods' (or the groups named)."],
            [Figure(svg(fig), "Output by product, investment, price indices and the scissors index, by year and scenario.")],
        ))
    if explanation:
        sections.append(Section("What the numbers say", html=markdown(explanation)))

    # output
    out_frames = {s_: plans[s_].outputs for s_ in scen}
    fig = _line_chart(out_frames, top, short, f"gross output, {unit}" if unit else "gross output",
                      f"Gross output of the {len(top)} largest products" if many else "Gross output by product")
    sections.append(Section(
        "Output by year",
        [f"Gross output per product and year{', in ' + unit if unit else ''}."
         + (f" The economy has {len(eco.product_ids):,} products: the charts and tables show the {len(top)} largest, "
            "the last column sums all." if many else "")],
        [Figure(svg(fig), "Gross output by year."),
         _by_year_table("Gross output by year", out_frames, top, short, unit)],
    ))

    # investment
    inv = {s_: plans[s_].investment for s_ in scen}
    inv_cols = [c for c in first.investment.columns if any(float(inv[s_][c].abs().sum()) > 0 for s_ in scen)][:TOP_PRODUCTS]
    tot = {s_: plans[s_].total_investment for s_ in scen}
    fig = _line_chart({s_: pd.DataFrame({"total": tot[s_]}) for s_ in scen}, ["total"], {"total": "all investment"},
                      f"capital goods, {unit}" if unit else "capital goods", "Investment: capital goods delivered for new capacity")
    items = [Figure(svg(fig), "Total investment by year (capital goods delivered for capacity started that year).")]
    if inv_cols:
        items.append(_by_year_table("Investment by capital good and year", inv, inv_cols, short, unit))
    last = {s_: float(tot[s_].iloc[-1]) for s_ in scen}
    paras = ["Investment is the capital goods the plan delivers to start new capacity; capacity started in a year is "
             "usable after its gestation lag."]
    ends = [s_ for s_ in scen if float(tot[s_].max()) > 0 and last[s_] < 0.2 * float(tot[s_].max())]
    if all(float(tot[s_].abs().max()) == 0 for s_ in scen):
        paras = ["The plan invests nothing: " + ("the economy has no capital coefficients, so capacity is given."
                                                if eco.capital is None else "no new capacity pays within the horizon.")]
        items = []
    if ends:
        paras.append(f"In {', '.join(ends)} investment falls to {', '.join(fmt(last[s_]) for s_ in ends)} in the last year: "
                     "capacity started then adds nothing within the horizon, so a plan that values nothing after it stops "
                     "building (the end-of-horizon effect). A terminal condition that asks for a growing capital stock "
                     "(Terminal('stocks', growth)) or a value on terminal stocks (terminal_weight) removes it.")
    sections.append(Section("Investment by year", paras, items))

    # stocks
    stk = {s_: plans[s_].stocks for s_ in scen}
    stk_cols = [c for c in first.stocks.columns if any(float(stk[s_][c].abs().sum()) > 0 for s_ in scen)][:TOP_PRODUCTS]
    if stk_cols:
        fig = _line_chart(stk, stk_cols, short,
                          f"capital stock, {unit}" if unit else "capital stock", "Capital stocks held, by capital good")
        def handed_on(p) -> pd.Series:
            tc = p.terminal_capacity
            K = eco.capital[:, eco.activity_ids.get_indexer(tc.index)]
            return pd.Series(K @ tc.to_numpy(dtype=float), index=eco.product_ids)

        term = [[s_] + [fmt(float(handed_on(plans[s_])[c])) for c in stk_cols] for s_ in scen]
        sections.append(Section(
            "Capital stocks by year",
            ["Capital goods tied up in the capacity usable each year (summed over the activities that hold them)."],
            [Figure(svg(fig), "Capital stocks by year."),
             _by_year_table("Capital stocks by year", stk, stk_cols, short, unit, total=False),
             Table("Capital handed on after the last year", [("scenario" if len(scen) > 1 else "plan", "")]
                   + [(short[c], unit) for c in stk_cols], term)],
        ))

    # consumption
    cf = {s_: cons(plans[s_]) for s_ in scen}
    c_cols = list(cf[scen[0]].abs().mean().sort_values(ascending=False).index[:TOP_PRODUCTS])
    c_cols = [c for c in c_cols if any(float(cf[s_][c].abs().sum()) > 0 for s_ in scen)]
    if c_cols:
        fig = _line_chart(cf, c_cols, short,
                          f"consumption, {unit}" if unit else "consumption", "Household consumption by product")
        paras = ["Consumption is the floors plus what the objective adds." + (
            f" Counted here: {', '.join(names_full[c] for c in cons_cols)}; other final use (e.g. investment outside "
            "the model's sectors) is left out." if cons_cols is not None else "")]
        sections.append(Section("Consumption by year", paras, [
            Figure(svg(fig), "Consumption by year."),
            _by_year_table("Consumption by year", cf, c_cols, short, unit)]))

    # prices
    if comparison is not None:
        rows = []
        for t in comparison.scissors.index:
            for s_ in scen:
                rows.append([str(t), s_, fmt(float(comparison.price_lines.loc[t, (s_, "up")])),
                             fmt(float(comparison.price_lines.loc[t, (s_, "down")])), fmt(float(comparison.scissors.loc[t, s_]))])
        group_names = {**short, **dict((chart_options or {}).get("names", {}))}  # the chart's short names
        up = ", ".join(group_names.get(p, str(p)) for p in comparison.up)
        down = ", ".join(group_names.get(p, str(p)) for p in comparison.down)
        sections.append(Section(
            "Prices and the scissors",
            [f"Leontief prices of each year at the techniques the plan runs then; group price indices (Laspeyres, "
             f"{periods[0]} = 1) of {up} and of {down}, and their ratio, the scissors index."],
            [Table("Price indices and the scissors index by year",
                   [("year", ""), ("scenario", ""), (f"price index: {up}", f"{periods[0]} = 1"),
                    (f"price index: {down}", f"{periods[0]} = 1"), ("scissors index", f"{periods[0]} = 1")], rows,
                   numeric=[False, False, True, True, True])],
        ))

    inputs = None
    counts = None
    if parameters is not None and len(parameters):
        inputs = parameters_table(parameters)
        counts = status_counts(parameters) if "status" in parameters else None
    srcs = list(sources)
    meta = dict(getattr(eco, "meta", {}) or {})
    if meta.get("source"):
        srcs.insert(0, f"Economy: {eco.name or ''} — source: {meta['source']}")
    manifest = {s_: plans[s_].manifest for s_ in scen if getattr(plans[s_], "manifest", None)}
    return Report(
        title=title or (f"{len(scen)} scenarios for {eco.name}" if len(scen) > 1 else f"Multi-year plan for {eco.name}"),
        kind="scenario comparison" if len(scen) > 1 else "multi-year plan",
        subtitle=f"{periods[0]} – {periods[-1]}; {len(eco.product_ids):,} products" + (f"; {unit}" if unit else ""),
        facts=facts, warnings=list(warnings), sections=sections, inputs=inputs, status_counts=counts,
        sources=srcs, manifest=manifest,
    )


def comparison_report(comparison, economy, **options) -> Report:
    """The report of a :class:`~gosplan.planning.scenarios.Comparison` (see
    :func:`multiyear_report` for the options)."""
    return multiyear_report(dict(comparison.plans), economy, comparison=comparison, **options)
