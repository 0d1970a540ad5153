"""The report of a world plan: every region alone against the world planned as one, trade
between regions, where the plan binds and, for a decomposed solve, how the centre and the
regions coordinated (the certified gap, the centre's prices and the regions' proposals,
round by round).

:func:`world_section` is the alone-against-pooled part alone, for a report that has a world
in it (the demo's); :func:`world_report` is the whole report of a
:class:`~gosplan.planning.world.WorldPlan` or an
:class:`~gosplan.planning.world.AutarkyComparison`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gosplan.report.document import MAX_ROWS, Fact, Figure, Report, Section, Table, fmt, svg
from gosplan.report.names import WorldNames
from gosplan.report.plan import _plain

__all__ = ["world_report", "world_section"]

#: a world with up to this many regions shows every region in its tables (41 for WIOD)
REGION_ROWS = 60
#: gaps at or below this are drawn at it on the log axis (a certified 0)
GAP_FLOOR = 1e-12


def _resource(world) -> tuple[str, str, bool]:
    """What the regions' resource is, its unit, and whether it is a proxy."""
    f = world.economy.factors
    unit = str(f.loc[world.labour_factors, "unit"].iloc[0]) if len(world.regions) and "unit" in f.columns else ""
    return world.resource, unit, "proxy" in world.resource


def _proxy_note(world) -> str:
    what, unit, proxy = _resource(world)
    if not proxy:
        return f"Each region's resource is {what} ({unit})." if unit else f"Each region's resource is {what}."
    return (f"Each region's resource is {what}, counted in {unit}: no hours worked by region and sector were at hand, "
            "so each region's value added stands in for its labour. Every figure of the resource below is that proxy.")


# -- alone against pooled -----------------------------------------------------------------


def _gains_chart(t: pd.DataFrame, nm: WorldNames, common: float):
    """One line per region, sorted by its multiple alone: alone (grey) to pooled (red)."""
    from gosplan.plots import pyplot

    plt = pyplot()
    d = t.sort_values("multiple_alone")
    n = len(d)
    # no taller than the page shows a chart (720 px): 41 regions would otherwise shrink to unreadable type
    fig, ax = plt.subplots(figsize=(10, min(7.0, 0.26 * n + 1.4)))
    y = np.arange(n)
    a, p = d["multiple_alone"].to_numpy(dtype=float), d["multiple_pooled"].to_numpy(dtype=float)
    ax.hlines(y, np.minimum(a, p), np.maximum(a, p), color="#cccccc", lw=2)
    ax.plot(a, y, "o", color="#8c8c8c", label="alone (autarky)")
    ax.plot(p, y, "o", color="#c0392b", label="pooled (max-min)")
    ax.axvline(common, color="#c0392b", lw=0.8, ls="--")
    ax.set_yticks(y, [nm.region(r) for r in d.index], fontsize=8 if n <= 20 else 6.5)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("multiple of the region's own basket (final demand of the base year)", fontsize=9)
    ax.set_title("Each region alone and in the world planned as one", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _alone_pooled(cmp, nm: WorldNames, name: str) -> tuple[Section, str]:
    t = cmp.table
    gains = (t["multiple_pooled"] / t["multiple_alone"]).sort_values(ascending=False)
    tot = cmp.total
    what, unit, proxy = _resource(cmp.pooled.world)
    def named(r):
        return nm.region(r) if nm.region(r) == r else f"{nm.region(r)} ({r})"

    saved = tot["labour_saved"]
    saved_text = ("the same within the solver's tolerance" if abs(saved) < 1e-6 * max(1.0, tot["labour_alone"])
                  else f"saved {saved:,.3g} {unit}")
    summary = (f"Planned alone, the regions of {name} reach from {t['multiple_alone'].min():.3f} to "
               f"{t['multiple_alone'].max():.3f} times their own basket (their final demand of the base year); planned "
               f"as one world that gives every region the same multiple (max-min), each reaches "
               f"{tot['multiple_pooled']:.3f}. Gain most: "
               + ", ".join(f"{named(r)} x{g:.3f}" for r, g in gains.head(3).items())
               + "; least: " + ", ".join(f"{named(r)} x{g:.3f}" for r, g in gains.tail(3)[::-1].items()) + ". "
               f"For the floors each region reaches alone, the pooled plan needs {tot['labour_pooled']:,.0f} {unit} of "
               f"the resource ({what}) against {tot['labour_alone']:,.0f} {unit} alone "
               f"({saved_text}).")
    why = ("Pooling here redistributes rather than saves: with value added as the resource, every region "
           "spends about one dollar of it per dollar of output, so trade finds no cheaper technique to use "
           "and pays its transport margin." if proxy and abs(tot["labour_saved"]) < 1e-6 * tot["labour_alone"] else "")
    what_text = _proxy_note(cmp.pooled.world)
    if (gains < 1).any():
        what_text += (" Max-min gives every region the same multiple: regions that reach more alone give some of it up "
                      "(gain below 1) so that the least-provided regions rise; the world's smallest multiple never falls.")
    rows = [[named(r), f"{t.at[r, 'multiple_alone']:.3f}",
             f"{t.at[r, 'multiple_pooled']:.3f}", f"x{g:.3f}", fmt(float(t.at[r, "labour_alone"])),
             fmt(float(t.at[r, "labour_pooled"]))] for r, g in gains.items()]
    table = Table("Each region's basket multiple, alone and pooled, by gain",
                  [("region", ""), ("alone", "times its basket"), ("pooled", "times its basket"), ("gain", "pooled / alone"),
                   (f"{what}, alone", unit), (f"{what}, pooled", unit)], rows,
                  note=f"The last two columns: the resource each region spends on what it reaches alone, alone and in the "
                       f"pooled least-resource plan for the same floors; {what}.", total=len(rows))
    figure = Figure(svg(_gains_chart(t, nm, float(tot["multiple_pooled"]))),
                    "Each region's multiple of its own basket: grey dot planned alone, red dot in the world planned as one "
                    "(max-min gives every region the same multiple, the red line). The axis starts near the smallest "
                    "multiple, not at 0, so that differences of a few per cent show.", title="Alone and pooled")
    section = Section(f"The world economy pooled, against each region alone ({name})",
                      [summary, what_text] + ([why] if why else []), [figure, table])
    md = "\n\n".join([f"## {section.title}", summary, what_text] + ([why] if why else [])) + "\n"
    return section, md


def world_section(cmp, name: str = "the world") -> tuple[Section, str]:
    """A :class:`Section` of an :class:`~gosplan.planning.world.AutarkyComparison` (each region
    alone against the world planned as one), and the same as Markdown for a text report."""
    return _alone_pooled(cmp, WorldNames.of(cmp.pooled.world), name)


# -- the plan's regions, trade and limits -----------------------------------------------------


def _regions_section(wp, nm: WorldNames) -> Section:
    t = wp.regions
    what, unit, _ = _resource(wp.world)
    order = t.sort_values("labour_available", ascending=False).index
    shown = order[:REGION_ROWS]
    rows = []
    for r in shown:
        used, avail = float(t.at[r, "labour_used"]), float(t.at[r, "labour_available"])
        rows.append([nm.region(r), fmt(float(t.at[r, "basket_multiple"])), fmt(used), fmt(avail),
                     f"{100 * used / avail:.1f} %" if avail > 0 else "–", fmt(float(t.at[r, "exports"])),
                     fmt(float(t.at[r, "imports"]))])
    return Section("Regions in the world plan", [
        f"What the world plan gives each region: the multiple of its basket its net output reaches, the resource it "
        f"spends against what it has, and what it ships out and receives (in {nm.unit})."
        + (f" The resource is {what}, in {unit}." if "proxy" in what else "")],
        [Table("Each region in the world plan, largest resource first",
               [("region", ""), ("basket multiple", "times its basket"), (f"{what} used", unit),
                (f"{what} available", unit), ("share used", ""), ("exports", nm.unit), ("imports", nm.unit)],
               rows, total=len(t))])


def trade_flows(wp) -> pd.DataFrame:
    """The plan's trade, one row per flow with a positive level: exporter, importer, product and
    the quantity delivered (a trade activity delivers one unit per unit of its level)."""
    e = wp.world.economy
    lv = wp.plan.levels.reindex(e.activity_ids).fillna(0.0).to_numpy(dtype=float)
    kind = e.activities["kind"].to_numpy(dtype=object) if "kind" in e.activities else np.full(len(lv), "")
    m = (kind == "trade") & (lv > 1e-9 * max(1.0, float(np.abs(lv).max(initial=0.0))))
    ids = e.activity_ids[m]
    pair, _, prod = ids.str.partition("/").to_frame().to_numpy().T
    fr, _, to = pd.Index(pair).str.partition(">").to_frame().to_numpy().T
    out = pd.DataFrame({"from": fr, "to": to, "product": prod, "delivered": lv[m]}, index=ids)
    return out.sort_values("delivered", ascending=False)


def _trade_matrix_chart(flows: pd.DataFrame, regions, nm: WorldNames):
    from matplotlib.colors import LogNorm

    from gosplan.plots import pyplot

    plt = pyplot()
    M = flows.pivot_table(index="from", columns="to", values="delivered", aggfunc="sum").reindex(
        index=list(regions), columns=list(regions)).fillna(0.0)
    n = len(regions)
    label = [nm.region(r) if n <= 12 else r for r in regions]
    size = min(7.5, max(4.5, 0.16 * n + 2.5))  # 41 regions stay readable at page width
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    data = M.to_numpy(dtype=float)
    pos = data[data > 0]
    masked = np.ma.masked_less_equal(data, 0.0)
    im = ax.imshow(masked, cmap="Reds", norm=LogNorm(vmin=pos.min(), vmax=pos.max()) if len(pos) else None,
                   interpolation="nearest", aspect="equal")
    ax.set_facecolor("#f4f5f7")
    fs = 8 if n <= 12 else 5.5
    ax.set_xticks(range(n), label, rotation=90, fontsize=fs)
    ax.set_yticks(range(n), label, fontsize=fs)
    ax.set_xlabel("to (importer)", fontsize=9)
    ax.set_ylabel("from (exporter)", fontsize=9)
    ax.set_title("Goods delivered between regions, all products", fontsize=10)
    cb = fig.colorbar(im, ax=ax, shrink=0.8)
    cb.set_label(f"delivered, {nm.unit} (log scale)", fontsize=8)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                if data[i, j] > 0:
                    ax.text(j, i, fmt(data[i, j], 2), ha="center", va="center", fontsize=6.5)
    fig.tight_layout()
    return fig


def _flows_chart(flows: pd.DataFrame, nm: WorldNames, top: int):
    from gosplan.report.plan import bar_chart

    f = flows.head(top)
    idx = [f"{nm.short(p)}: {nm.region(a)} → {nm.region(b)}" for a, b, p in zip(f["from"], f["to"], f["product"], strict=True)]
    return bar_chart(pd.Series(f["delivered"].to_numpy(), index=idx), f"delivered, {nm.unit}",
                     f"The {len(f)} largest trade flows of the plan", colour="#c0392b")


def _trade_section(wp, nm: WorldNames, top: int, max_rows: int) -> Section:
    flows = trade_flows(wp)
    w = wp.world
    if not len(flows):
        return Section("Trade between regions", ["The plan ships nothing between regions: every region makes what it uses."])
    total = float(flows["delivered"].sum())
    costs = w.trade_costs
    margin = ""
    if len(costs):
        lo, hi = 100 * float(costs["goods"].min()), 100 * float(costs["goods"].max())
        margin = f"Shipping uses up {lo:.3g} % of the goods on the way" + (f" (up to {hi:.3g} % on some routes)" if hi > lo else "")
        margin += " and some of the exporter's resource" if (costs["labour"] > 0).any() else ""
        limited = int(np.isfinite(costs["limit"]).sum())
        margin += f"; {limited} routes have a limit." if limited else "."
    by_product = flows.groupby("product")["delivered"].sum().sort_values(ascending=False)
    lead = ", ".join(f"{nm.product(p)} ({100 * v / total:.0f} %)" for p, v in by_product.head(3).items())
    rows = [[nm.product(p), nm.region(a), nm.region(b), fmt(v), f"{100 * v / total:.1f} %"]
            for a, b, p, v in zip(flows["from"], flows["to"], flows["product"], flows["delivered"], strict=True)][:max_rows]
    items = [Figure(svg(_flows_chart(flows, nm, top)), f"The largest flows of the world plan: product, exporter → importer, "
                                                      f"quantity delivered ({nm.unit})."),
             Table("Trade flows of the plan, largest first",
                   [("product", ""), ("from", ""), ("to", ""), ("delivered", nm.unit), ("share of all trade", "")],
                   rows, total=len(flows), numeric=[False, False, False, True, True],
                   note="Full list: WorldPlan.plan.levels, the activities FROM>TO/product.")]
    if len(w.regions) > 1:
        items.insert(1, Figure(svg(_trade_matrix_chart(flows, w.regions, nm)),
                               "Goods delivered from each exporter (rows) to each importer (columns), summed over products"
                               + ("; " if nm.common_unit else " (only a rough size: each product has its own unit); ")
                               + "grey: no trade." + (" Regions by ISO 3166 code (names in the tables)." if len(w.regions) > 12 else "")))
    return Section("Trade between regions", [
        f"The plan ships {len(flows):,} flows between regions"
        + (f", {fmt(total)} {nm.unit} delivered in all" if nm.common_unit else " (products in units of their own: not summed)")
        + f"; the most traded products, by quantity: {lead}. {margin} A flow is what the plan needs where trade lets "
        "the world reach a larger common multiple (or the same floors with less of the resource), not a forecast of trade."],
        items)


def _binding_section(wp, nm: WorldNames, max_rows: int) -> Section:
    b = wp.plan.binding
    what, unit, _ = _resource(wp.world)
    ounit = _objective_unit(wp)
    lim = b[b["kind"] != "balance"]
    bal = b[b["kind"] == "balance"].sort_values("valuation", ascending=False)
    n_bal = min(len(bal), 10)  # balances often bind by the hundred at one valuation: the first ten say it

    def name(kind: str, i: str) -> tuple[str, str, str]:
        if kind == "factor" and i.endswith("/labour"):
            return "resource", f"{what} of {nm.region(i.split('/', 1)[0])}", unit
        if kind == "factor" and i.endswith("/shipping"):
            a, _, c = i.split("/", 1)[0].partition(">")
            return "route", f"shipping limit {nm.region(a)} → {nm.region(c)}", "units shipped"
        if kind == "balance":
            return "product", nm.good(i), nm.unit
        return kind, i, ""

    rows = []
    for r in pd.concat([lim.head(max_rows), bal.head(n_bal)]).itertuples():
        kind, label, u = name(r.kind, r.id)
        rows.append([kind, label, u, "–" if r.kind == "balance" else fmt(float(r.upper)), fmt(float(r.valuation))])
    paras = [f"A binding limit is one the plan uses to the full; its valuation is what one more unit of it would add to "
             f"the objective, in {ounit} per unit of the limit. {len(lim):,} regional resources or shipping limits bind "
             f"(listed first). Then the {len(bal):,} binding product balances, the {n_bal} most valued shown: there a "
             f"region gets exactly what the plan requires of the product, no more."
             + (f" The resource is {what}." if "proxy" in what else "")]
    return Section("Where the world plan binds", paras, [Table(
        "Binding limits, then the most valued binding product balances",
        [("kind", ""), ("what", ""), ("unit", ""), ("limit", ""), ("valuation", f"{ounit} per unit")],
        rows, total=len(b), numeric=[False, False, False, True, True])])


def _objective_unit(wp) -> str:
    if str(wp.objective).lower().startswith("harmony"):
        return "harmony (Cockshott's fulfilment score)"  # a concave score of the baskets, not a multiple of them
    u = wp.plan.objective_unit(wp.world.economy)
    if u == "objective units" and str(wp.objective).lower().startswith(("labour", "labor", "min")):
        what, unit, _ = _resource(wp.world)
        return f"{unit} of {what}" if unit else what  # the world's labour objective sums every region's resource
    return u


# -- coordination -------------------------------------------------------------------------------


def _gap_chart(rounds: pd.DataFrame, ounit: str):
    from gosplan.plots import pyplot

    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    p2 = rounds[rounds["phase"] == 2]
    gap = p2["gap"].astype(float).replace([np.inf, -np.inf], np.nan)
    shown = gap.clip(lower=GAP_FLOOR)
    a1.semilogy(p2["round"], shown, color="#c0392b", marker="." if len(p2) < 60 else None, lw=1.4)
    a1.set_xlabel("round", fontsize=9)
    a1.set_ylabel("certified relative gap (log scale)", fontsize=9)
    a1.set_title("How far the plan can still be from the optimum", fontsize=10)
    a1.grid(alpha=0.3, which="both")
    val = p2["value"].astype(float)
    bound = p2["bound"].astype(float).where(lambda s: s.abs() < 1e300) if "bound" in p2 else None
    a2.plot(p2["round"], val, color="#c0392b", lw=1.4, label="plan the centre has (master value)")
    if bound is not None:
        a2.plot(p2["round"], bound, color="#555555", ls="--", lw=1.2, label="bound no plan can pass")
    a2.set_xlabel("round", fontsize=9)
    a2.set_ylabel(f"objective, {ounit}", fontsize=9)
    a2.set_title("The plan's value and its certified bound", fontsize=10)
    a2.legend(fontsize=8, frameon=False)
    a2.grid(alpha=0.3)
    p1 = rounds[rounds["phase"] == 1]
    for ax in (a1, a2):
        if len(p1):
            ax.axvspan(float(p1["round"].min()) - 0.5, float(p1["round"].max()) + 0.5, color="#eeeeee", zorder=0)
    fig.tight_layout()
    return fig


def _prices_chart(prices: pd.DataFrame, goods: list[str], nm: WorldNames, unit: str):
    from gosplan.plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(11, 4))
    cmap = plt.get_cmap("tab10")
    for k, g in enumerate(goods):
        ax.plot(prices.index, prices[f"balance:{g}"].astype(float), lw=1.3, color=cmap(k % 10), label=nm.good(g))
    ax.set_xlabel("round", fontsize=9)
    ax.set_ylabel(f"centre's price, {unit}", fontsize=9)
    ax.set_title("The centre's prices of the most traded goods, round by round", fontsize=10)
    ax.legend(fontsize=7.5, frameon=False, bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _proposals_chart(props: pd.DataFrame, regions, nm: WorldNames, ounit: str):
    from matplotlib.colors import LogNorm

    from gosplan.plots import pyplot

    plt = pyplot()
    p = props[props["phase"] == 2]
    gain = (-p["reduced_cost"].astype(float)).clip(lower=0.0)
    M = pd.DataFrame({"round": p["round"], "block": p["block"], "gain": gain}).pivot_table(
        index="block", columns="round", values="gain", aggfunc="max").reindex(list(regions))
    taken = p[p["added"]].groupby(["block", "round"]).size()
    n, k = M.shape
    fig, ax = plt.subplots(figsize=(11, max(2.6, 0.2 * n + 1.6)))
    data = M.to_numpy(dtype=float)
    pos = data[np.isfinite(data) & (data > 0)]
    im = ax.imshow(np.ma.masked_invalid(np.where(data > 0, data, np.nan)), cmap="viridis", aspect="auto",
                   interpolation="nearest", norm=LogNorm(vmin=max(pos.min(), pos.max() * 1e-9), vmax=pos.max()) if len(pos) else None,
                   extent=(M.columns.min() - 0.5, M.columns.max() + 0.5, n - 0.5, -0.5) if k else None)
    ax.set_facecolor("#f4f5f7")
    if len(taken) and n * k <= 4000:
        ridx = {r: i for i, r in enumerate(M.index)}
        pts = [(rd, ridx[b]) for b, rd in taken.index if b in ridx]
        ax.scatter([x for x, _ in pts], [y for _, y in pts], s=6, color="white", edgecolors="black", linewidths=0.3)
    ax.set_yticks(range(n), [nm.region(r) if n <= 12 else r for r in M.index], fontsize=8 if n <= 12 else 6)
    ax.set_xlabel("round", fontsize=9)
    ax.set_title("Each region's proposal: how much it would improve the centre's plan at the centre's prices", fontsize=10)
    cb = fig.colorbar(im, ax=ax, shrink=0.9)
    cb.set_label(f"improvement, {ounit} (log)", fontsize=8)
    fig.tight_layout()
    return fig


def _valuation_sign(wp) -> float:
    """+1 or -1: the sign that turns the centre's row duals into the plan's valuations (positive where
    a good is scarce), read from the plan's own constraints table, so the prices read like them."""
    c = wp.plan.constraints
    c = c[(c["dual"].abs() > 1e-12) & (c["valuation"].abs() > 1e-12)]
    if not len(c):
        return 1.0
    return float(np.sign(np.median(np.sign(c["valuation"].to_numpy(dtype=float) * c["dual"].to_numpy(dtype=float)))) or 1.0)


def _coordination_section(wp, nm: WorldNames, flows: pd.DataFrame, top: int, max_rows: int) -> Section | None:
    rounds = wp.rounds
    if rounds is None or not len(rounds):
        return None
    ounit = _objective_unit(wp)
    r = rounds.copy()
    p2 = r[r["phase"] == 2] if "phase" in r else r
    p1n = int((r["phase"] == 1).sum()) if "phase" in r else 0
    final_gap = float(wp.gap)
    items: list = []
    if len(p2) and "gap" in p2:
        items.append(Figure(svg(_gap_chart(r, ounit)),
                            "Left: the certified relative gap (master value less the best Lagrangian bound, over the value), "
                            f"log scale; a gap of 0 is drawn at {GAP_FLOOR:g}. Right: the centre's plan value and the bound. "
                            "Shaded: phase 1, the centre looking for any mix of proposals that meets the shared rows."))
    # the prices of the goods the plan trades most, as the importer's balance (where the centre prices them)
    price_unit = f"{ounit} per {nm.unit}".replace("per units of each product", "per unit")
    if wp.prices is not None and len(flows):
        by_good = flows.assign(good=flows["to"] + "/" + flows["product"]).groupby("good")["delivered"].sum()
        goods = [g for g in by_good.sort_values(ascending=False).index if f"balance:{g}" in wp.prices.columns][:min(top, 8)]
        if goods:
            phase2 = set(p2["round"]) if "round" in p2 else set(wp.prices.index)
            pr = _valuation_sign(wp) * wp.prices.loc[[i for i in wp.prices.index if i in phase2]]
            if len(pr):
                items.append(Figure(svg(_prices_chart(pr, goods, nm, price_unit)),
                                    f"The prices (row duals) the centre set on the balances of the {len(goods)} goods the plan "
                                    f"imports most, where they are delivered, in phase 2; in {price_unit}, signed as the plan's "
                                    "valuations (above 0: the good is scarce there). They are what the regions plan against: "
                                    "a region makes or ships a good while it pays at these prices."))
    if wp.proposals is not None and len(wp.proposals) and (wp.proposals["phase"] == 2).any():
        items.append(Figure(svg(_proposals_chart(wp.proposals, wp.world.regions, nm, ounit)),
                            "Each region's proposal at each round of phase 2: colour, how much it would improve the centre's "
                            "plan at the centre's prices (minus its reduced cost; grey: nothing to offer); dots, the proposals "
                            "the centre took. The colours fade as the regions run out of better plans to propose."
                            + (" Regions by ISO 3166 code." if len(wp.world.regions) > 12 else "")))
        pp = wp.proposals
        per = pp.groupby("block").agg(made=("round", "size"), taken=("added", "sum"),
                                      last=("round", lambda s: int(s[pp.loc[s.index, "added"]].max())))
        per = per.reindex(list(wp.world.regions))
        rows = [[nm.region(b), fmt(int(v.made)), fmt(int(v.taken)), fmt(int(v["last"]))] for b, v in per.iterrows()]
        items.append(Table("Proposals by region", [("region", ""), ("proposals made", ""), ("taken by the centre", ""),
                                                   ("last taken in round", "")], rows[:REGION_ROWS], total=len(rows)))
    step = max(1, math.ceil(len(r) / max_rows))
    pick = sorted(set(range(0, len(r), step)) | {len(r) - 1})
    cols = [("round", ""), ("phase", ""), ("plan value", ounit), ("bound", ounit), ("gap", "relative"),
            ("proposals kept", ""), ("seconds", "")]
    rows = []
    for i in pick:
        x = r.iloc[i]
        secs = np.nansum([float(x.get("master_seconds", np.nan)), float(x.get("pricing_seconds", np.nan))])
        gap = float(x.get("gap", np.nan))
        rows.append([fmt(int(x["round"])), fmt(int(x["phase"])), fmt(float(x.get("value", np.nan))),
                     fmt(float(x.get("bound", np.nan))), "–" if not np.isfinite(gap) else f"{gap:.2e}",
                     fmt(float(x.get("columns", np.nan))), f"{secs:.2f}"])
    items.append(Table("Rounds of coordination" + (f", one round in {step}" if step > 1 else ""), cols, rows, total=len(r),
                       numeric=[True] * len(cols)))
    paras = [
        f"The world was planned by decomposition (Dantzig and Wolfe 1960; read as Kornai and Liptak's two-level planning, "
        f"1965): a centre that knows only the rows the regions share (traded goods, the common multiple) sets prices on "
        f"them; each region answers with the plan best for it at those prices (a proposal); the centre mixes the "
        f"proposals it has and sets new prices. {len(r) - 1:,} rounds ({p1n:,} of them phase 1, finding a feasible mix); "
        f"the final certified gap is {final_gap:.2e} ({'optimal within the tolerance' if wp.plan.ok else 'stopped before optimal'}), "
        f"{wp.seconds:.1f} s in all.",
    ]
    return Section("How the centre and the regions coordinated", paras, items)


# -- the report -------------------------------------------------------------------------------


def world_report(result, *, title: str | None = None, top: int = 12, max_rows: int = MAX_ROWS,
                 sources: list[str] | None = None) -> Report:
    """The report of a world plan: ``result`` a :class:`~gosplan.planning.world.WorldPlan`
    (:func:`~gosplan.planning.world.plan_world`) or an
    :class:`~gosplan.planning.world.AutarkyComparison`
    (:func:`~gosplan.planning.world.compare_autarky`, whose pooled max-min plan is reported).

    Sections: each region alone against pooled (a comparison), the regions in the plan
    (basket multiple, resource used and available, exports, imports), trade between regions
    (the largest flows and the exporter x importer matrix), where the plan binds and, for a
    decomposed solve, the coordination (the certified gap by round on a log scale, the centre's
    prices of the most traded goods by round, each region's proposals). Regions and products
    by name where known (:class:`~gosplan.report.names.WorldNames`); the resource's proxy, if
    it is one, said wherever the resource is shown. Tables show ``max_rows`` rows (regions: up
    to 60) and count the rest.
    """
    cmp = result if hasattr(result, "pooled") else None
    wp = cmp.pooled if cmp is not None else result
    w = wp.world
    nm = WorldNames.of(w)
    what, unit, proxy = _resource(w)
    ounit = _objective_unit(wp)
    flows = trade_flows(wp)
    name = w.name
    facts = [Fact("regions", f"{len(w.regions):,}", f"{len(w.products):,} products each"),
             Fact("objective", str(wp.objective)),
             Fact("objective value", fmt(float(wp.plan.objective_value)), ounit),
             Fact("status", str(wp.plan.status), f"{wp.method} solve")]
    if cmp is not None:
        facts.insert(2, Fact("smallest multiple alone", f"{cmp.total['smallest_multiple_alone']:.3f}", "times the basket"))
        facts.insert(3, Fact("common multiple pooled", f"{cmp.total['multiple_pooled']:.3f}", "times every region's basket"))
    facts.append(Fact(f"{what} used", fmt(float(wp.regions["labour_used"].sum())), unit))
    facts.append(Fact("trade flows", f"{len(flows):,}",
                      f"{fmt(float(flows['delivered'].sum()))} {nm.unit} delivered" if nm.common_unit else "between regions"))
    if wp.rounds is not None:
        facts.append(Fact("rounds of coordination", f"{len(wp.rounds) - 1:,}", f"certified gap {float(wp.gap):.1e}"))
    warnings = []
    if proxy:
        warnings.append(f"The regions' resource is a proxy: {what}, in {unit}. No hours worked by region and sector "
                        "were at hand, so value added stands in for labour wherever this report says resource.")
    if not wp.ok:
        warnings.append(f"The world plan is not optimal ({wp.plan.status}): the numbers below are not final.")
    sections = []
    if cmp is not None:
        sections.append(_alone_pooled(cmp, nm, name)[0])
    sections.append(_regions_section(wp, nm))
    sections.append(_trade_section(wp, nm, top, max_rows))
    sections.append(_binding_section(wp, nm, max_rows))
    coord = _coordination_section(wp, nm, flows, top, max_rows)
    if coord is not None:
        sections.append(coord)
    srcs = list(sources or [])
    from gosplan import datasets

    if name in datasets.DATASETS:
        srcs.insert(0, f"World: {name}, shipped with gosplan: {datasets.DATASETS[name].title}; see its PROVENANCE.md "
                       f"(gosplan.datasets.provenance({name!r})).")
    elif w.meta.get("source"):
        srcs.insert(0, f"World: {name}, built from {w.meta['source']}.")
    srcs.append(_proxy_note(w))
    if nm.source:
        srcs.append(nm.source)
    srcs.append(f"Quantities of products are in {nm.unit}. Trade: each route's transport margin as the world states it "
                "(by default 5 % of the goods used up on the way, Samuelson's iceberg cost; an assumption, not a source).")
    if cmp is not None and nm.source:
        srcs.append("Each region's basket: its final demand of the base year (households, non-profits, government, gross "
                    "fixed capital formation), summed over the regions the goods come from.")
    return Report(
        title=title or f"World plan: {name}",
        kind="world plan",
        subtitle=f"{len(w.regions):,} regions x {len(w.products):,} products; {wp.objective}, {wp.method}; resource: {what}"
                 + (f" ({unit})" if unit else ""),
        facts=facts, warnings=warnings, sections=sections, sources=srcs,
        manifest=_plain(getattr(wp.plan, "manifest", {}) or {}),
    )
