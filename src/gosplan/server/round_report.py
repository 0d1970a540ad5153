"""The HTML report of a published round, from its stored result (:mod:`gosplan.report`'s document).

A plan round's report: how the targets were decided (rule, proposals, tie), the plan by
section and by product with names and units, factor use, the charts of the round's page and
the plan's manifest. A budget round's: the funded projects with costs, votes and why; an
election's: who was elected. The report shows the stored result; it recomputes nothing.
"""

from __future__ import annotations

from gosplan.report.document import Fact, Figure, Report, Section, Table, fmt
from gosplan.server import explain


def round_report(r: dict, councils: dict, figures: list[tuple[str, str]], catalogue=None,  # noqa: ANN001
                 objective_unit: str = "") -> Report:
    """The report of the published round ``r`` (as :meth:`Service.round` returns it); plan
    rounds need the economy's :class:`~gosplan.democracy.costing.Catalogue` and the objective's unit."""
    items = [Figure(svg, title) for title, svg in figures]
    title = f"{r['title']}: round {r['id']}"
    rule = Section("Rule", [f"{r['rule']}: {explain.rule(r['rule'])}", explain.TIES.get(r["kind"], "")])
    if r["kind"] == "plan":
        return _plan(r, councils, items, catalogue, title, rule, objective_unit)
    result = r["result"]
    if r["kind"] == "budget":
        funded = set(result.get("funded") or [])
        rows = [[p["key"], p["name"], fmt(p["cost"]), str(result.get("votes", {}).get(p["key"], 0)),
                 "yes" if p["key"] in funded else "no", str(result.get("explanation", {}).get(p["key"], ""))]
                for p in r["projects"]]
        table = Table("Projects", [("project", ""), ("name", ""), ("cost", ""), ("votes", ""), ("funded", ""), ("why", "")],
                      rows, numeric=[False, False, True, True, False, False])
        facts = [Fact("budget", fmt(r["params"]["budget"])), Fact("projects funded", f"{len(funded)} of {len(rows)}"),
                 Fact("voters with a funded project", f"{100 * result.get('share_with_funded', 0):.0f} %")]
        return Report(title, "budget round", f"budget round, rule {r['rule']}", facts,
                      sections=[rule, Section("Projects", items=[table, *items])])
    elected = result.get("elected") or []
    names = {c["member_id"]: c["name"] for c in r.get("candidates") or []}
    facts = [Fact("elected", ", ".join(names.get(e, str(e)) for e in elected)), Fact("seats", str(r["params"].get("seats")))]
    return Report(title, "election", f"delegate election of {councils.get(r['council_id'], r['council_id'])}",
                  facts, sections=[rule, Section("Candidates", items=items)])


def _plan(r: dict, councils: dict, items: list, cat, title: str, rule: Section, unit: str) -> Report:  # noqa: ANN001
    plan = r["result"]["plan"]
    ex = r["result"]["aggregation"]["explanation"]
    info = cat.products
    facts = [Fact("status", str(plan["status"])), Fact("economy", r["params"]["economy"]),
             Fact("objective", str(plan.get("objective") or plan.get("objective_spec")))]
    if "objective_value" in plan:
        facts.append(Fact("objective value", fmt(plan["objective_value"]), unit))
    warnings = [] if plan["status"] == "optimal" else [f"The plan is {plan['status']}: {plan.get('diagnosis', '')}"]
    owner = {pr["id"]: councils.get(pr["council_id"], str(pr["council_id"])) for pr in r["proposals"]}
    how = []
    if "winner" in ex:
        how.append(f"Proposal {ex['winner']} of {owner.get(ex['winner'], '?')} was chosen; its amounts are the targets.")
        tied = ex.get("tied") or []
        how.append(f"Proposals {', '.join(map(str, tied))} tied: {explain.TIES['plan']}" if len(tied) > 1 else "No tie.")
    else:
        how.append("The councils' proposals were combined product by product into the targets.")
    proposals = Table("Proposals", [("#", ""), ("council", ""), ("products", ""), ("what it costs", ""), ("comment", "")],
                      [[str(pr["id"]), owner[pr["id"]], str(len(pr.get("basket") or {})),
                        "; ".join(c.sentence() for c in cat.cost(pr.get("basket") or {})), pr.get("comment") or ""]
                       for pr in r["proposals"]], numeric=[True, False, True, False, False])
    sections = [rule, Section("How the targets were decided", how, [proposals])]
    if plan.get("output"):
        targets, output, prices = plan.get("targets") or {}, plan["output"], plan.get("prices") or {}
        rows = [[str(row["name"]), str(p), str(row["unit"]), str(row["group"]), fmt(targets.get(p, 0.0)), fmt(output.get(p, 0.0)),
                 fmt(prices.get(p, 0.0))] for p, row in info.iterrows()]
        sections.append(Section("The plan by product", [
            "Targets are the final demand the plan delivers at least; gross output includes what production uses up; "
            "valuations are the plan's shadow prices (objective per unit)."], [
            *items, Table("Products", [("product", ""), ("code", ""), ("unit", ""), ("section", ""), ("target", ""),
                                       ("gross output", ""), ("valuation", "")], rows,
                          numeric=[False, False, False, False, True, True, True])]))
        use = plan.get("factor_use") or {}
        if use:
            sections.append(Section("Factors used", items=[Table("Factor use", [("factor", ""), ("used", "")],
                                                                 [[f, fmt(v)] for f, v in use.items()])]))
    return Report(title, "plan round", f"plan round on {r['params']['economy']}, rule {r['rule']}", facts, warnings,
                  sections, manifest=plan.get("manifest") or {})
