"""The report of a one-period plan: targets met, binding limits, valuations, idle
capacity, the manifest."""

from __future__ import annotations

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
    svg,
    thousands,
)

__all__ = ["plan_report"]


def labels(frame: pd.DataFrame | None, ids) -> pd.Series:
    """Id -> "name (id)" where the economy names things, else the id."""
    ids = pd.Index(ids)
    if frame is None or "name" not in frame.columns:
        return pd.Series(ids.astype(str), index=ids)
    names = frame["name"].reindex(ids).astype(object)
    out = [f"{n} ({i})" if isinstance(n, str) and n.strip() and n != str(i) else str(i) for i, n in zip(ids, names)]
    return pd.Series(out, index=ids)


def units(frame: pd.DataFrame | None, ids, default: str = "") -> pd.Series:
    ids = pd.Index(ids)
    if frame is None or "unit" not in frame.columns:
        return pd.Series(default, index=ids)
    return frame["unit"].reindex(ids).fillna(default).astype(str)


def one_unit(u: pd.Series) -> str:
    """The unit when all rows share one, else ''."""
    vals = pd.unique(u[u != ""])
    return str(vals[0]) if len(vals) == 1 else ""


def bar_chart(values: pd.Series, xlabel: str, title: str, colour: str = "tab:blue", limit: pd.Series | None = None):
    """Horizontal bars, largest on top; ``limit`` drawn as a tick per bar."""
    from gosplan.plots import pyplot

    plt = pyplot()
    v = values.iloc[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(v) + 1.2))
    y = np.arange(len(v))
    ax.barh(y, v.to_numpy(dtype=float), color=colour)
    if limit is not None:
        lim = limit.reindex(v.index).to_numpy(dtype=float)
        ok = np.isfinite(lim)
        ax.plot(lim[ok], y[ok], "|", color="black", ms=16, mew=2)  # the caption says what the tick is
    ax.set_yticks(y, [s if len(s) <= 60 else s[:57] + "…" for s in map(str, v.index)], fontsize=8)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_title(title, fontsize=10)
    thousands(ax.xaxis)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(6))  # long labels such as 350,000 must not run into each other
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plan_report(plan, economy, *, title: str | None = None, top: int = 15, max_rows: int = MAX_ROWS,
                sources: list[str] | None = None) -> Report:
    """The report of a one-period :class:`gosplan.planning.Plan` of ``economy``.

    Sections: what the plan delivers against the targets (required and delivered
    net output per product, with its unit), the binding limits (factors, capacities,
    product balances) and their valuations, the top valuations of products (chart),
    factor use against limits (chart), idle capacity, the solver, and the manifest.
    Products and activities appear by name where the economy names them. Tables
    show the ``max_rows`` largest rows and count the rest, so that a plan of 10^4
    products stays a small file.
    """
    eco = economy
    c = plan.constraints
    prod_name = labels(eco.products, eco.product_ids)
    prod_unit = units(eco.products, eco.product_ids)
    fac_name = labels(eco.factors, eco.factor_ids)
    fac_unit = units(eco.factors, eco.factor_ids)
    act_name = labels(eco.activities, eco.activity_ids)
    ounit = plan.objective_unit(eco)
    s = plan.summary()
    common_unit = one_unit(prod_unit)
    per_unit = f"{ounit} per {common_unit}" if common_unit else f"{ounit} per unit of the product"

    facts = [
        Fact("status", str(plan.status)),
        Fact("objective", plan.objective),
        Fact("objective value", fmt(plan.objective_value), ounit),
    ]
    if plan.basket_multiple is not None:
        facts.append(Fact("basket delivered", fmt(plan.basket_multiple), "multiples of the basket"))
    facts += [
        Fact("activities running", f"{s['active_activities']:,} of {len(plan.levels):,}"),
        Fact("binding limits", f"{s['binding_factors']:,} factors, {s['binding_capacities']:,} capacities",
             f"{s['binding_balances']:,} product balances bind"),
        Fact("products", f"{len(eco.product_ids):,}", common_unit),
    ]
    warnings = []
    if not plan.ok:
        warnings.append(f"The solver did not reach an optimal plan ({plan.status}): the numbers below are not final.")
    sections = []

    # -- targets ----------------------------------------------------------------
    bal = c[c["kind"] == "balance"].set_index("id")
    if len(bal):
        need = bal["lower"].astype(float)
        got = bal["value"].astype(float)
        met = got >= need - 1e-6 * np.maximum(1.0, need.abs())
        order = need.abs().sort_values(ascending=False).index[:max_rows]
        rows = [[prod_name[i]] + ([] if common_unit else [prod_unit[i]]) + [fmt(need[i]), fmt(got[i]), fmt(got[i] - need[i]),
                 "yes" if met[i] else "NO", fmt(float(plan.valuations.get(i, np.nan)))] for i in order]
        sections.append(Section(
            "Targets met",
            [f"{int(met.sum()):,} of {len(met):,} product balances meet what the targets require "
             "(floors, public goods and, for a basket objective, the basket it delivers). Net output is gross "
             "output less what production itself uses up."],
            [Table("Required and delivered net output, largest requirements first",
                   [("product", "")] + ([] if common_unit else [("unit", "")]) + [
                       ("required", common_unit), ("delivered", common_unit),
                       ("beyond the requirement", common_unit), ("met", ""), ("valuation", per_unit)],
                   rows, total=len(bal), numeric=[False] + ([] if common_unit else [False]) + [True, True, True, False, True],
                   note="Full table: gosplan plan --out FILE.parquet.")],
        ))

    # -- binding limits ---------------------------------------------------------
    b = plan.binding
    if len(b):
        def name_of(kind, i):
            return {"factor": fac_name, "capacity": act_name, "balance": prod_name}.get(kind, pd.Series(dtype=str)).get(i, str(i))

        def unit_of(kind, i):
            if kind == "factor":
                return fac_unit.get(i, "")
            if kind == "balance":
                return prod_unit.get(i, "")
            return "level of the activity"

        kinds = {"factor": "factor limit", "capacity": "capacity", "balance": "product balance", "trade": "trade limit"}
        # limits first (what holds the plan back), then the product balances the targets fix
        b = pd.concat([b[b["kind"] != "balance"], b[b["kind"] == "balance"]])
        bt = b.head(max_rows)
        rows = [[kinds.get(r.kind, r.kind), name_of(r.kind, r.id), unit_of(r.kind, r.id),
                 fmt(float(r.lower if r.kind == "balance" else r.upper)), fmt(float(r.valuation))]
                for r in bt.itertuples()]
        n_lim = int((b["kind"] != "balance").sum())
        sections.append(Section(
            "Where the plan binds",
            ["A binding limit is one the plan uses to the full: relaxing it by one unit would improve the objective by "
             "its valuation. Limits with valuation 0 bind but are not what holds the plan back.",
             (f"{n_lim:,} factor, capacity or trade limits bind (listed first)." if n_lim else
              "No factor, capacity or trade limit binds: the plan is held back only by what the targets require, "
              "and every product balance below is exactly met.")],
            [Table("Binding limits, then binding product balances, largest valuation first",
                   [("kind", ""), ("what", ""), ("unit", ""), ("limit", ""), ("valuation", f"{ounit} per unit")],
                   rows, total=len(b), numeric=[False, False, False, True, True])],
        ))

    # -- valuations ---------------------------------------------------------------
    tv = plan.top_valuations(top)
    tv = tv[tv > 0]
    if len(tv):
        fig = bar_chart(pd.Series(tv.to_numpy(), index=[prod_name[i] for i in tv.index]),
                        f"valuation, {per_unit}", f"The {len(tv)} products the plan values most")
        sections.append(Section(
            "What the plan's valuations say",
            [f"The valuation of a product is how much the objective would gain if one more unit of it were "
             f"available for final use (in {per_unit}). "
             "In a labour-minimising plan it is the full labour cost of the product."],
            [Figure(svg(fig), f"Top {len(tv)} valuations of products (of {len(plan.valuations):,}).")],
        ))

    # -- factors ------------------------------------------------------------------
    fac = c[c["kind"] == "factor"].set_index("id")
    if len(fac):
        used = fac["value"].astype(float)
        lim = plan.limits.reindex(used.index).astype(float)
        rows = [[fac_name[i], fac_unit[i], fmt(used[i]), fmt(lim[i]),
                 fmt(100 * used[i] / lim[i]) + " %" if np.isfinite(lim[i]) and lim[i] > 0 else "–",
                 fmt(float(plan.factor_valuations.get(i, np.nan)))] for i in used.index]
        items: list = [Table("Use of each primary factor against its limit",
                             [("factor", ""), ("unit", ""), ("used", ""), ("limit", ""), ("share of limit", ""),
                              ("valuation", f"{ounit} per unit")], rows,
                             numeric=[False, False, True, True, True, True])]
        fin = np.isfinite(lim) & (lim > 0)
        if fin.any():
            share = (100 * used[fin] / lim[fin]).sort_values(ascending=False).head(top)
            fig = bar_chart(pd.Series(share.to_numpy(), index=[fac_name[i] for i in share.index]),
                            "share of the limit used, %", "Factors against their limits", colour="tab:orange",
                            limit=pd.Series(100.0, index=[fac_name[i] for i in share.index]))
            items.append(Figure(svg(fig), "Use of each limited factor as a share of its limit (the tick is the limit)."))
        sections.append(Section("Factors: use and limits", [], items))

    # -- capacity -----------------------------------------------------------------
    cap = c[c["kind"] == "capacity"].set_index("id")
    if len(cap):
        used = cap["value"].astype(float)
        up = cap["upper"].astype(float)
        slack = (up - used).clip(lower=0)
        util = (100 * used / up).where(up > 0)
        idle = slack.sort_values(ascending=False).index[:max_rows]
        rows = [[act_name[i], fmt(up[i]), fmt(used[i]), fmt(slack[i]), fmt(util[i]) + " %"] for i in idle]
        from gosplan.plots import pyplot

        fig, ax = pyplot().subplots(figsize=(8, 3.2))
        ax.hist(util.dropna().clip(0, 100), bins=20, range=(0, 100), color="tab:green")
        ax.set_xlabel("capacity used, %", fontsize=9)
        ax.set_ylabel("activities", fontsize=9)
        ax.set_title(f"How much of its capacity each of {len(util):,} limited activities uses", fontsize=10)
        fig.tight_layout()
        sections.append(Section(
            "Idle capacity",
            [f"{int((slack > 1e-9 * np.maximum(1, up)).sum()):,} of {len(cap):,} activities with a capacity limit "
             "have capacity to spare; the plan could produce more there without new investment."],
            [Figure(svg(fig), "Distribution of capacity use over the activities with a capacity limit."),
             Table("Most idle capacity first", [("activity", ""), ("capacity", "level"), ("used", "level"),
                                                 ("idle", "level"), ("used", "share")], rows, total=len(cap))],
        ))
    else:
        sections.append(Section("Idle capacity", ["No activity of this economy has a capacity limit."]))

    # -- solver ---------------------------------------------------------------------
    sv = plan.solver
    sections.append(Section("Solver and accuracy", [], [Table(
        "How the plan was computed",
        [("item", ""), ("value", "")],
        [["method", str(sv.get("method"))], ["iterations", fmt(sv.get("iterations"))],
         ["seconds", fmt(sv.get("seconds"))], ["dual objective", fmt(plan.dual_objective)], ["gap", fmt(plan.gap)],
         ["primal infeasibility", fmt(sv.get("primal_infeasibility"))],
         ["dual infeasibility", fmt(sv.get("dual_infeasibility"))]],
        numeric=[False, True])]))

    meta = dict(getattr(eco, "meta", {}) or {})
    srcs = list(sources or [])
    if meta.get("source"):
        srcs.insert(0, f"Economy: {eco.name or ''} — source: {meta['source']}" + (f", {meta['year']}" if meta.get("year") else ""))
    return Report(
        title=title or f"Plan for {eco.name or 'the economy'}",
        kind="one-period plan",
        subtitle=f"{plan.objective}; {len(eco.product_ids):,} products, {len(eco.activity_ids):,} activities, "
                 f"{len(eco.factor_ids):,} primary factors" + (f"; {common_unit}" if common_unit else ""),
        facts=facts, warnings=warnings, sections=sections, sources=srcs, manifest=_plain(plan.manifest),
    )


def _plain(d: Any) -> Any:
    if isinstance(d, dict):
        return {str(k): _plain(v) for k, v in d.items()}
    return d
