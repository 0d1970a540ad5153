"""The report of a participatory budget: funded projects against cost and votes,
each voter's share of the outcome, spending by district or category."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gosplan.report.document import (
    Fact,
    Figure,
    Report,
    Section,
    Table,
    fmt,
    svg,
    thousands,
)

__all__ = ["budget_report"]

#: project rows shown (the rest are counted)
MAX_PROJECTS = 80


def _cost_votes_chart(t: pd.DataFrame, votes: str, currency: str, budget: float):
    from gosplan.plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 5))
    f = t["funded"].astype(bool)
    ax.scatter(t.loc[~f, "cost"], t.loc[~f, votes], s=36, facecolors="white", edgecolors="0.35", label="not funded")
    ax.scatter(t.loc[f, "cost"], t.loc[f, votes], s=40, color="tab:green", label="funded")
    top = t.sort_values(votes, ascending=False).head(8)
    for pid, r in top.iterrows():
        name = str(r.get("name", pid)) if "name" in t.columns else str(pid)
        ax.annotate(name[:28] + ("…" if len(name) > 28 else ""), (r["cost"], r[votes]), fontsize=7,
                    textcoords="offset points", xytext=(4, 3))
    ax.set_xlabel(f"cost, {currency}".rstrip(", "), fontsize=9)
    ax.set_ylabel(votes if votes != "voters" else "voters who chose it", fontsize=9)
    ax.set_title(f"Projects by cost and support (budget {fmt(budget)} {currency})".replace("  ", " "), fontsize=10)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    thousands(ax.xaxis, ax.yaxis)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def _share_chart(sat: pd.Series, currency: str, per_voter: float | None):
    from gosplan.plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.6))
    v = sat.to_numpy(dtype=float)
    ax.hist(v, bins=min(40, max(5, len(np.unique(v)))), color="tab:blue")
    ax.axvline(float(np.mean(v)), color="black", ls="--", lw=1, label=f"mean {fmt(float(np.mean(v)))} {currency}")
    if per_voter is not None:
        ax.axvline(per_voter, color="tab:red", ls=":", lw=1.5, label=f"each voter's share of the budget {fmt(per_voter)} {currency}")
    ax.set_xlabel(f"cost of the funded projects on the voter's ballot, {currency}".rstrip(", "), fontsize=9)
    ax.set_ylabel("voters", fontsize=9)
    thousands(ax.xaxis)
    ax.set_title("What each voter got: funded projects they voted for, by cost", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _spending_chart(s: pd.Series, col: str, currency: str):
    from gosplan.plots import pyplot

    plt = pyplot()
    s = s.head(25).iloc[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(s) + 1.3))
    ax.barh(np.arange(len(s)), s.to_numpy(dtype=float), color="tab:purple")
    ax.set_yticks(np.arange(len(s)), [str(i)[:50] for i in s.index], fontsize=8)
    ax.set_xlabel(f"funded cost, {currency}".rstrip(", "), fontsize=9)
    ax.set_title(f"Spending by {col}", fontsize=10)
    thousands(ax.xaxis)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def budget_report(election, outcome, *, title: str | None = None, max_rows: int = MAX_PROJECTS) -> Report:
    """The report of a budget rule's :class:`~gosplan.democracy.budgeting.Outcome` on an
    :class:`~gosplan.democracy.pabulib.Election`.

    Sections: funded projects against cost and support (chart and the table with
    each decision's explanation), each voter's share (the cost of the funded
    projects on their ballot; for Equal Shares, the share each voter had to
    spend), spending by district / category, and the election's facts.
    """
    from gosplan.democracy.budgeting import voter_satisfaction

    meta = dict(election.meta)
    cur = outcome.currency or meta.get("currency", "")
    t = outcome.projects
    votes = "voters" if election.points is None else "points"
    facts = [
        Fact("rule", outcome.rule.value),
        Fact("funded", f"{len(outcome.funded):,} of {len(t):,} projects"),
        Fact("spent", fmt(outcome.total_cost), f"{cur} of {fmt(outcome.budget)} {cur}".strip()),
        Fact("unspent", fmt(outcome.unspent), cur),
        Fact("voters with a funded project", f"{100 * outcome.satisfied_share:.1f} %", f"of {election.n_voters:,} voters"),
    ]
    if outcome.per_voter_budget is not None:
        facts.append(Fact("each voter's share", fmt(outcome.per_voter_budget), cur))
    sections = []
    fig = _cost_votes_chart(t, votes, cur, outcome.budget)
    order = pd.concat([t[t["funded"]].sort_values("order"), t[~t["funded"]].sort_values(votes, ascending=False)])
    extra = [c for c in ("district", "category") if c in t.columns and t[c].notna().any()]
    cols = [("project", ""), ("name", "")] + [(c, "") for c in extra] + [
        ("cost", cur), (votes, "ballots" if votes == "voters" else "points"), ("funded", ""), ("order", ""), ("why", "")]
    rows = []
    for pid, r in order.head(max_rows).iterrows():
        rows.append([str(pid), str(r.get("name", "")) if "name" in t.columns else ""]
                    + [str(r[c]) if pd.notna(r[c]) else "" for c in extra]
                    + [fmt(float(r["cost"])), fmt(float(r[votes])), "yes" if r["funded"] else "no",
                       fmt(int(r["order"])) if pd.notna(r.get("order")) and r["funded"] else "",
                       str(r.get("explanation", ""))])
    sections.append(Section(
        "Funded projects against cost and votes",
        [f"The rule funded {len(outcome.funded):,} projects for {fmt(outcome.total_cost)} {cur} of the "
         f"{fmt(outcome.budget)} {cur} budget. Funded projects are filled, the others hollow; the explanation says "
         "why each was or was not funded."],
        [Figure(svg(fig), "Every project by its cost and its support."),
         Table("Projects, funded first in the order the rule chose them", cols, rows, total=len(t),
               numeric=[False, False] + [False] * len(extra) + [True, True, False, True, False])],
    ))
    sat = voter_satisfaction(election, outcome, "cost")
    cnt = voter_satisfaction(election, outcome, "count")
    dist = cnt.value_counts().sort_index()
    rows = [[fmt(int(k)), fmt(int(v)), f"{100 * v / max(len(cnt), 1):.1f} %"] for k, v in dist.items()]
    paras = [f"{100 * outcome.satisfied_share:.1f} % of the voters have at least one funded project on their ballot; "
             f"{fmt(int((cnt == 0).sum()))} have none."]
    if outcome.per_voter_budget is not None:
        paras.append(f"Under Equal Shares each voter controls an equal share of the budget, {fmt(outcome.per_voter_budget)} {cur}, "
                     "and projects are bought by their supporters' shares.")
    sections.append(Section("Each voter's share", paras, [
        Figure(svg(_share_chart(sat, cur, outcome.per_voter_budget)),
               "Distribution over the voters of the cost of the funded projects on their ballot."),
        Table("How many funded projects each voter chose", [("funded projects on the ballot", ""), ("voters", ""), ("share", "")],
              rows, numeric=[True, True, True])]))
    for col, s in outcome.spending.items():
        rows = [[str(k), fmt(float(v)), f"{100 * v / max(outcome.total_cost, 1e-12):.1f} %"] for k, v in s.items()]
        sections.append(Section(f"Spending by {col}", [], [
            Figure(svg(_spending_chart(s, col, cur)), f"Funded cost by {col} (a project listed under several is split equally)."),
            Table(f"Funded cost by {col}", [(col, ""), ("funded cost", cur), ("share of spending", "")], rows,
                  numeric=[False, True, True])]))
    info = [[k, str(v)] for k, v in meta.items()]
    srcs = [f"Election: {meta.get('description', '')} ({meta.get('country', '')} {meta.get('instance', '')}), "
            f"{election.n_voters:,} ballots, {election.n_projects:,} projects, vote type {meta.get('vote_type', '')}; "
            f"read from {getattr(election, 'source', '') or 'a Pabulib file'}. The ballots and costs are sourced (Pabulib); "
            "the outcome is computed by gosplan."]
    return Report(
        title=title or f"Participatory budget: {meta.get('description', 'election')}",
        kind="budget outcome",
        subtitle=(f"{outcome.rule.value}; {election.n_projects:,} projects, {election.n_voters:,} voters"
                  + (f"; money in {cur}" if cur else "")),
        facts=facts, sections=sections, sources=srcs,
        inputs=Table("The election's facts (Pabulib META)", [("key", ""), ("value", "")], info, numeric=[False, False]),
    )


def investment_report(election, outcome, investment, economy, *, title: str | None = None) -> Report:
    """The report of a budget round imposed on a multi-year plan
    (:func:`gosplan.democracy.investment.plan_budget_round`): the budget outcome, what
    the funded projects need per year, whether the plan carries them (else the clash
    and the suggestion), and the plan's paths by year."""
    from gosplan.report.multiyear import multiyear_report

    rep = budget_report(election, outcome, title=title or f"Budget round and plan: {election.meta.get('description', '')}")
    from gosplan.report.plan import labels, units

    r = investment
    pname = labels(economy.products, economy.product_ids)
    punit = units(economy.products, economy.product_ids)
    funit = units(economy.factors, economy.factor_ids)
    cols = [(pname.get(p, str(p)), punit.get(p, "")) for p in r.goods.columns] + [
        (f"{f} (direct labour)", funit.get(f, "")) for f in r.labour.columns]
    rows = [[str(t)] + [fmt(float(v)) for v in r.goods.loc[t]] + [fmt(float(v)) for v in r.labour.loc[t]] for t in r.goods.index]
    paras = [("The plan carries every funded project together with the consumption floors." if r.feasible else
              "The plan cannot carry every funded project: see the clash and the suggestion below.")]
    items: list = [Table("What the funded projects need per year", [("period", "")] + cols, rows)]
    if not r.feasible and r.clash is not None:
        rows = [["project", str(p), "", ""] for p in r.clash.projects]
        rows += [[str(x.kind), pname.get(x.id, str(x.id)) if x.kind == "floor" else str(x.id), str(x.period),
                  fmt(float(x.limit))] for x in r.clash.limits.itertuples()]
        items.append(Table("The clash: projects and limits that cannot hold together",
                           [("kind", ""), ("id", ""), ("period", ""), ("limit", "")], rows, numeric=[False, False, False, True]))
        if r.suggestion is not None:
            paras.append(f"Suggestion, in the rule's order: keep {', '.join(map(str, r.suggestion))}.")
    rep.sections.insert(1, Section("The funded projects in the plan", paras, items))
    plan = r.plan if r.plan is not None else getattr(r, "suggested_plan", None)
    if plan is not None:
        mr = multiyear_report(plan, economy)
        for s in mr.sections:
            s.title = f"Plan: {s.title.lower()}"
        rep.sections += mr.sections
        rep.manifest = mr.manifest
    rep.kind = "budget round in a multi-year plan"
    return rep
