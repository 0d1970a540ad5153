"""The report of an input-output analysis: gross output for a demand, multipliers,
linkages and factor footprints by region."""

from __future__ import annotations

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
    svg,
    thousands,
)
from gosplan.report.plan import bar_chart, labels, one_unit, units

__all__ = ["analysis_report"]


def _footprint_chart(fp: pd.DataFrame, factor: str, unit: str):
    """Stacked bars: each consumer's footprint of ``factor``, split by region of origin."""
    from gosplan.plots import pyplot

    plt = pyplot()
    d = fp.loc[factor]  # origin x consumer
    consumers = list(d.columns)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(consumers) + 2), 4.2))
    bottom = np.zeros(len(consumers))
    cmap = plt.get_cmap("tab20")
    for k, origin in enumerate(d.index):
        vals = d.loc[origin].to_numpy(dtype=float)
        ax.bar(np.arange(len(consumers)), vals, bottom=bottom, color=cmap(k % 20), label=str(origin) or "(none)")
        bottom += vals
    ax.set_xticks(np.arange(len(consumers)), [str(c) for c in consumers], rotation=30, fontsize=8)
    ax.set_ylabel(f"{factor}, {unit}".rstrip(", "), fontsize=9)
    ax.set_title(f"Footprint of {factor} by consuming region, split by region of origin", fontsize=10)
    ax.legend(title="produced in", fontsize=7, title_fontsize=8, frameon=False, bbox_to_anchor=(1.01, 1), loc="upper left")
    thousands(ax.yaxis)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def analysis_report(economy, table: pd.DataFrame, *, footprints: pd.DataFrame | None = None,
                    linkages: pd.DataFrame | None = None, method: str = "", title: str | None = None,
                    top: int = 15, max_rows: int = MAX_ROWS, income: str = "compensation",
                    consumption: str = "Households") -> Report:
    """The report of an analysis run: ``table`` is the result of
    :func:`gosplan.cli.analysis.analyze_table`'s kind (per product: ``demand:*``,
    ``gross_output:*``, ``output_multiplier``, ``multiplier:<factor>``).

    With ``linkage:*`` columns (``analyze --linkages``): backward and forward linkages
    and the key sectors (Rasmussen 1956, Hirschman 1958; Miller and Blair 2009, sec. 12.2),
    drawn as a quadrant chart; without them, the backward linkage as the Rasmussen index
    (a product's output multiplier over the mean), with ``linkages`` (product x columns)
    added to its table if given. With ``ghosh:*`` columns (``--ghosh``): the supply-side
    model. With ``output:type_ii`` (``--type-ii``): Type I and II multipliers of the model
    closed with households (``income`` row, ``consumption`` column). ``footprints``: the
    (factor, origin) x consumer table of :func:`gosplan.analysis.footprints`.
    """
    eco = economy
    name = labels(eco.products, table.index)
    # the CLI weighs forward linkages by the Ghosh inverse where the table has gross output
    forward_kind = "ghosh" if getattr(eco, "levels", None) is not None else "leontief"
    unit = one_unit(units(eco.products, eco.product_ids))
    fac_unit = units(eco.factors, eco.factor_ids)
    gross = [c for c in table.columns if c.startswith("gross_output:")]
    demand = [c for c in table.columns if c.startswith("demand:")]
    mults = [c for c in table.columns if c.startswith("multiplier:")]
    regions = [r for r in pd.unique(eco.products["region"]) if r] if "region" in eco.products else []
    facts = [Fact("products", f"{len(table):,}", unit),
             Fact("regions", f"{len(regions):,}" if regions else "one")]
    for c in demand[:2]:
        facts.append(Fact(f"final demand ({c.split(':', 1)[1]})", fmt(float(table[c].sum())), unit))
    for c in gross[:2]:
        facts.append(Fact(f"gross output it needs ({c.split(':', 1)[1]})", fmt(float(table[c].sum())), unit))
    if method:
        facts.append(Fact("solver", method))
    sections = []

    om = table["output_multiplier"].astype(float)
    order = om.sort_values(ascending=False).index
    if "linkage:backward_normalised" in table.columns:
        sections.append(_linkages_section(table, name, om, top, max_rows, forward_kind))
    else:
        bl = om / om.mean()
        fig = bar_chart(pd.Series(om[order[:top]].to_numpy(), index=[name[i] for i in order[:top]]),
                        "output multiplier (gross output per unit of final demand)",
                        f"The {min(top, len(om))} products with the largest output multipliers")
        cols = [("product", ""), ("output multiplier", "output per unit of final demand"),
                ("backward linkage", "index, mean = 1")]
        if linkages is not None:
            cols += [(str(c), "") for c in linkages.columns]
        rows = []
        for i in order[:max_rows]:
            row = [name[i], fmt(om[i]), fmt(bl[i])]
            if linkages is not None:
                row += [fmt(float(linkages.loc[i, c])) if i in linkages.index else "–" for c in linkages.columns]
            rows.append(row)
        sections.append(Section(
            "Output multipliers and linkages",
            ["The output multiplier of a product is the gross output of the whole economy that one more unit of its final "
             "demand calls for (a column sum of the Leontief inverse). Its backward linkage index is the multiplier over the "
             f"mean of all products: above 1, the product pulls more than the average on its suppliers. "
             f"{int((bl > 1).sum()):,} of {len(bl):,} products are above 1. Forward linkages and key sectors: "
             "gosplan analyze --linkages."],
            [Figure(svg(fig), "Largest output multipliers."),
             Table("Output multipliers and backward linkages, largest first", cols, rows, total=len(om))],
        ))
    if "ghosh:total_forward" in table.columns:
        sections.append(_ghosh_section(table, name, unit, top, max_rows))
    if "output:type_ii" in table.columns:
        sections.append(_type_ii_section(table, name, unit, fac_unit, income, consumption, top, max_rows))

    if mults:
        items = []
        for c in mults[:4]:
            f = c.split(":", 1)[1]
            m = table[c].astype(float).sort_values(ascending=False)
            fu = fac_unit.get(f, "")
            items.append(Figure(svg(bar_chart(pd.Series(m.head(top).to_numpy(), index=[name[i] for i in m.index[:top]]),
                                              f"{f} per unit of final demand" + (f" ({fu} per {unit})" if fu and unit else ""),
                                              f"Factor multipliers: {f}", colour="tab:orange")),
                                f"The {min(top, len(m))} products whose final demand needs the most {f}, directly and indirectly."))
        rows = [[name[i]] + [fmt(float(table.loc[i, c])) for c in mults] for i in order[:max_rows]]
        items.append(Table("Factor multipliers (direct and indirect use per unit of final demand), by output multiplier",
                           [("product", "")] + [(c.split(":", 1)[1], f"{fac_unit.get(c.split(':', 1)[1], '')} per unit".strip())
                                                for c in mults], rows, total=len(table)))
        sections.append(Section(
            "Factor multipliers",
            ["How much of each primary factor (labour, imports, ...) one more unit of final demand for a product needs, "
             "in the product itself and in everything that goes into it."], items))

    if gross:
        g = table[gross[0]].astype(float).sort_values(ascending=False)
        rows = [[name[i]] + [fmt(float(table.loc[i, c])) for c in demand + gross] for i in g.index[:max_rows]]
        sections.append(Section(
            "Gross output for the demand",
            [f"Gross output x = (I − A)⁻¹ d for each demand; total {fmt(float(g.sum()))} {unit} for the first."],
            [Table("Demand and gross output by product, largest output first",
                   [("product", "")] + [(c.replace(":", ": "), unit) for c in demand + gross], rows, total=len(table))]))

    if footprints is not None and len(footprints):
        items = []
        for f in pd.unique(footprints.index.get_level_values(0))[:4]:
            fu = fac_unit.get(f, "")
            items.append(Figure(svg(_footprint_chart(footprints, f, fu)),
                                f"Footprint of {f}: what each region's final demand needs of it, and where it is produced."))
            d = footprints.loc[f]
            rows = [[str(o) or "(none)"] + [fmt(float(d.loc[o, c])) for c in d.columns] for o in d.index]
            items.append(Table(f"Footprint of {f} ({fu}): rows the region of origin, columns the consuming region",
                               [("produced in", "")] + [(str(c), fu) for c in d.columns], rows))
        sections.append(Section(
            "Footprints by region",
            ["A region's footprint of a factor is the factor use, anywhere, that its final demand calls for; the part "
             "produced elsewhere is embodied in its imports (Miller and Blair 2009, ch. 10)."], items))

    meta = dict(getattr(eco, "meta", {}) or {})
    srcs = []
    if meta.get("source"):
        srcs.append(f"Economy: {eco.name or ''} — source: {meta['source']}" + (f", {meta.get('year')}" if meta.get("year") else ""))
    return Report(
        title=title or f"Input-output analysis of {eco.name or 'the economy'}",
        kind="analysis",
        subtitle=f"{len(table):,} products" + (f", {len(regions)} regions" if regions else "") + (f"; {unit}" if unit else ""),
        facts=facts, sections=sections, sources=srcs,
    )


_CLASS = {"key": "key sector", "backward": "backward-oriented", "forward": "forward-oriented", "weak": "weakly linked"}
_COLOUR = {"key": "#c0392b", "backward": "#2e86c1", "forward": "#d68910", "weak": "#a6acaf"}


def _quadrant_chart(table: pd.DataFrame, name: pd.Series, label: int):
    """Backward against forward linkage (both normalised, mean 1), coloured by class, the
    ``label`` strongest key sectors named."""
    from gosplan.plots import pyplot

    plt = pyplot()
    b = table["linkage:backward_normalised"].astype(float)
    f = table["linkage:forward_normalised"].astype(float)
    cls = table["linkage:key_sector"].astype(str)
    fig, ax = plt.subplots(figsize=(9, 6))
    for k, c in _COLOUR.items():
        m = cls == k
        if m.any():
            ax.scatter(b[m], f[m], s=22, color=c, label=f"{_CLASS[k]} ({int(m.sum())})", alpha=0.85, edgecolors="white",
                       linewidths=0.4)
    ax.axvline(1.0, color="#555555", lw=0.8, ls="--")
    ax.axhline(1.0, color="#555555", lw=0.8, ls="--")
    strongest = (b + f)[cls == "key"].sort_values(ascending=False).index[:label]
    for k, i in enumerate(strongest):
        n = str(name[i])
        # alternate above and below the point: neighbours in the top right otherwise print over each other
        ax.annotate(n if len(n) <= 34 else n[:33] + "…", (b[i], f[i]), fontsize=7, xytext=(5, 4 if k % 2 == 0 else -10),
                    textcoords="offset points", arrowprops={"arrowstyle": "-", "color": "#888888", "lw": 0.5})
    ax.set_xlabel("backward linkage (pull on suppliers), mean = 1", fontsize=9)
    ax.set_ylabel("forward linkage (push to users), mean = 1", fontsize=9)
    ax.set_title("Key sectors: above the mean on both linkages (top right)", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.25)
    fig.tight_layout()
    return fig


def _linkages_section(table, name, om, top, max_rows, forward_kind) -> Section:
    b = table["linkage:backward_normalised"].astype(float)
    f = table["linkage:forward_normalised"].astype(float)
    cls = table["linkage:key_sector"].astype(str)
    counts = cls.value_counts()
    order = (b + f).sort_values(ascending=False).index
    rows = [[name[i], f"{float(om[i]):.3f}", f"{float(b[i]):.3f}", f"{float(f[i]):.3f}", _CLASS.get(cls[i], cls[i])]
            for i in order[:max_rows]]
    fwd = ("row sums of the Ghosh inverse, what one more unit of primary input in the product pushes through the "
           "economy's output (Miller and Blair 2009, sec. 12.2.2)" if forward_kind == "ghosh" else
           "row sums of the Leontief inverse (Rasmussen's sensitivity of dispersion)")
    key = [name[i] for i in order if cls[i] == "key"][:5]
    return Section("Linkages and key sectors", [
        "A product's backward linkage is how much it pulls on its suppliers (its output multiplier, a column sum of the "
        f"Leontief inverse); its forward linkage is how much it pushes to the products that use it ({fwd}). Both are "
        "shown normalised by their mean: above 1, more than the average product (Rasmussen 1956, Hirschman 1958).",
        f"Key sectors, above 1 on both: {counts.get('key', 0):,} of {len(cls):,}"
        + (f", the strongest {', '.join(key)}" if key else "") + f". Backward-oriented only: {counts.get('backward', 0):,}; "
        f"forward-oriented only: {counts.get('forward', 0):,}; weakly linked: {counts.get('weak', 0):,}. A key sector is "
        "where a plan's push spreads furthest, a bottleneck where it falls short."],
        [Figure(svg(_quadrant_chart(table, name, label=min(top, 6))),
                "Each product by its backward (across) and forward (up) linkage, both normalised to a mean of 1; the "
                "dashed lines are the means. Top right: key sectors, the strongest named."),
         Table("Linkages and key sectors, strongest (backward + forward) first",
               [("product", ""), ("output multiplier", "output per unit of final demand"),
                ("backward linkage", "index, mean = 1"), ("forward linkage", "index, mean = 1"), ("class", "")],
               rows, total=len(cls), numeric=[False, True, True, True, False])])


def _ghosh_section(table, name, unit, top, max_rows) -> Section:
    g = table["ghosh:total_forward"].astype(float).sort_values(ascending=False)
    v = table["ghosh:primary_inputs"].astype(float) if "ghosh:primary_inputs" in table else None
    x = table["ghosh:supply_driven_output"].astype(float) if "ghosh:supply_driven_output" in table else None
    fig = bar_chart(pd.Series(g.head(top).to_numpy(), index=[name[i] for i in g.index[:top]]),
                    "gross output per unit of primary input (row sum of the Ghosh inverse)",
                    f"The {min(top, len(g))} products whose primary inputs push furthest", colour="tab:purple")
    cols = [("product", ""), ("total forward linkage", "output per unit of primary input")]
    if v is not None:
        cols.append(("primary inputs", unit))
    if x is not None:
        cols.append(("supply-driven output", unit))
    rows = [[name[i], fmt(float(g[i]))] + ([fmt(float(v[i]))] if v is not None else [])
            + ([fmt(float(x[i]))] if x is not None else []) for i in g.index[:max_rows]]
    return Section("The supply side (Ghosh)", [
        "The Ghosh model reads the table from the supply side: each product sells fixed shares of its output to its "
        "users, and primary inputs (value added and imports) drive output forward (Ghosh 1958; Miller and Blair 2009, "
        "sec. 12.1). A product's total forward linkage is the output of the whole economy that one more unit of its "
        "primary input allows. Supply-driven output from the table's own primary inputs reproduces its gross output, "
        "a check of the solve. The model describes where a supply shock spreads; it is not a plan's causality "
        "(Oosterhaven 1988)."],
        [Figure(svg(fig), "Largest total forward linkages (row sums of the Ghosh inverse)."),
         Table("The supply-side model, largest forward linkage first", cols, rows, total=len(g))])


def _type_ii_section(table, name, unit, fac_unit, income, consumption, top, max_rows) -> Section:
    from gosplan.plots import pyplot

    t1 = table["output:type_i"].astype(float)
    t2 = table["output:type_ii"].astype(float)
    ind = table["output:induced"].astype(float) if "output:induced" in table else t2 - t1
    order = t2.sort_values(ascending=False).index
    plt = pyplot()
    sel = order[:top][::-1]
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(sel) + 1.3))
    y = np.arange(len(sel))
    ax.barh(y, t1[sel].to_numpy(), color="tab:blue", label="Type I: direct and indirect")
    ax.barh(y, ind[sel].to_numpy(), left=t1[sel].to_numpy(), color="tab:cyan", label="induced by household spending")
    ax.set_yticks(y, [s if len(s) <= 60 else s[:57] + "…" for s in (str(name[i]) for i in sel)], fontsize=8)
    ax.set_xlabel("gross output per unit of final demand", fontsize=9)
    ax.set_title(f"Output multipliers, Type I and II (the {len(sel)} largest Type II)", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(1.01, 0))  # beside the bars, never on them
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    inc1, inc2 = f"{income}:type_i_multiplier", f"{income}:type_ii_multiplier"
    have_income = inc1 in table and inc2 in table
    cols = [("product", ""), ("output, Type I", "per unit of final demand"), ("output, Type II", "per unit of final demand"),
            ("induced", "per unit of final demand")]
    if have_income:
        cols += [(f"{income} multiplier, Type I", "ratio"), (f"{income} multiplier, Type II", "ratio")]
    rows = [[name[i], fmt(float(t1[i])), fmt(float(t2[i])), fmt(float(ind[i]))]
            + ([fmt(float(table.at[i, inc1])), fmt(float(table.at[i, inc2]))] if have_income else [])
            for i in order[:max_rows]]
    iu = fac_unit.get(income, "")
    return Section("Households closing the model: Type I and II", [
        f"Type I multipliers count the output that a product's final demand calls for through its supply chain. Type II "
        f"also counts what the households earn in it ({income}{f', {iu}' if iu else ''}) and spend again as the "
        f"'{consumption}' column of final demand spends, households taken into the table as one more industry "
        "(Miller and Blair 2009, sec. 6.2). The difference is the induced effect. "
        f"The {income} multipliers are income generated in the whole economy per unit of income paid directly "
        "(Type I and II ratios).",
        f"Type II over Type I, averaged over products: {fmt(float((t2 / t1).mean()))}."],
        [Figure(svg(fig), "Type I (blue) and the induced part (light) of each product's Type II output multiplier."),
         Table("Type I and II multipliers, largest Type II first", cols, rows, total=len(t2))])
