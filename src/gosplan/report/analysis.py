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
                    top: int = 15, max_rows: int = MAX_ROWS) -> Report:
    """The report of an analysis run: ``table`` is the result of
    :func:`gosplan.cli.analysis.analyze_table`'s kind (per product: ``demand:*``,
    ``gross_output:*``, ``output_multiplier``, ``multiplier:<factor>``).

    Backward linkages are shown as the Rasmussen index (a product's output
    multiplier over the mean, Miller and Blair 2009, sec. 12.2) unless ``linkages``
    (product x columns, e.g. backward and forward) is given. ``footprints``: the
    (factor, origin) x consumer table of :func:`gosplan.analysis.footprints`.
    """
    eco = economy
    name = labels(eco.products, table.index)
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
    bl = om / om.mean()
    order = om.sort_values(ascending=False).index
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
         f"{int((bl > 1).sum()):,} of {len(bl):,} products are above 1."],
        [Figure(svg(fig), "Largest output multipliers."),
         Table("Output multipliers and backward linkages, largest first", cols, rows, total=len(om))],
    ))

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
