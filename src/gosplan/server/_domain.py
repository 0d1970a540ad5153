"""The seam between the service and the domain: one function per thing the service asks.

The service stores, authorises and logs; it computes nothing itself. Each function
here is one call into ``gosplan.democracy``, ``gosplan.planning`` or
``gosplan.datasets`` with the service's plain records (dicts of ids and numbers)
converted to the domain's inputs and its results back to JSON-able dicts for
storage and the ledger.
"""

from __future__ import annotations

from typing import Any

from gosplan.democracy.ledger import GENESIS  # noqa: F401  (the chain's first prev_hash)


# -- ledger (gosplan.democracy.ledger) -------------------------------------------


def canonical(obj: Any) -> str:
    """Canonical JSON (RFC 8785) text, as the ledger hashes it."""
    from gosplan.democracy.ledger import canonical_json

    return canonical_json(obj).decode("utf-8")


def ledger_next(prev_hash: str, seq: int, kind: str, actor: str, payload: dict) -> tuple[str, str]:
    """The next entry of a chain after ``prev_hash``: its stored text (canonical JSON) and hash."""
    from gosplan.democracy.ledger import canonical_json, make_entry

    e = make_entry(prev_hash, seq, kind, actor, payload)
    return canonical_json(e.to_dict()).decode("utf-8"), e.hash


def ledger_export(round_id: int, texts: list[str]) -> bytes:
    """A round's stored entries as the ledger's export file (JSON Lines with its header)."""
    import json

    from gosplan.democracy.ledger import Entry, export_entries

    entries = [Entry.from_dict(json.loads(t), f"entry {i}") for i, t in enumerate(texts)]
    return export_entries(entries, round_id=str(round_id))


def ledger_verify(texts: list[str]) -> dict:
    """Check a stored chain; the report as a dict (``ok``, ``index`` of the first bad entry, ...)."""
    import dataclasses
    import json

    from gosplan.democracy.ledger import verify

    entries = []
    for i, t in enumerate(texts):
        try:
            entries.append(json.loads(t))
        except json.JSONDecodeError as exc:
            return {"ok": False, "entries": len(texts), "index": i, "field": "parse",
                    "message": f"entry {i}: stored text is not JSON ({exc.msg})"}
    return dataclasses.asdict(verify(entries))


def ledger_import(data: bytes) -> tuple[dict, list[str], dict]:
    """Parse and verify an export: ``(header, entry texts, report)``; the report says if it verifies."""
    import dataclasses

    from gosplan.democracy.ledger import LedgerError, canonical_json, read_export, verify_export

    report = dataclasses.asdict(verify_export(data))
    if not report["ok"]:
        return {}, [], report
    try:
        header, entries = read_export(data)
    except LedgerError as exc:  # verify_export found it readable; keep the message if not
        return {}, [], {"ok": False, "message": str(exc)}
    return header, [canonical_json(e.to_dict()).decode("utf-8") for e in entries], report


# -- economies (gosplan.datasets) ------------------------------------------------
#: The economy a plan round is for unless the planner names another shipped dataset:
#: the WIOD 2016 national table of the USA, 2014 (56 industries, with hours worked).
DEFAULT_ECONOMY = "usa_2014"


def economy(name: str):
    """A shipped economy by dataset name (cached by :func:`gosplan.sources.read_economy`)."""
    from gosplan.sources import read_economy

    return read_economy(name)


def product_ids(name: str) -> list[str]:
    return [str(p) for p in economy(name).product_ids]


def product_names(name: str) -> dict[str, str]:
    names = economy(name).products["name"]
    return {str(k): str(v) for k, v in names.items()}


def factor_ids(name: str) -> list[str]:
    return [str(f) for f in economy(name).factor_ids]


def default_objective(name: str) -> str:
    """Least labour: the factor named labour, else hours worked, else the first factor."""
    ids = factor_ids(name)
    if any("labour" in f.lower() or "labor" in f.lower() for f in ids):
        return "labour"
    if "hours" in ids:
        return "factor:hours"
    return f"factor:{ids[0]}"


# -- plan rounds (gosplan.democracy.aggregation, gosplan.planning) ------------------
#: Rules a plan round may choose: basket rules take the councils' proposals, choice rules
#: take the councils' votes among the proposals (the winner's basket becomes the targets).
BASKET_RULES = ("weighted-sum", "weighted-mean", "weighted-median")
VOTING_RULES = ("approval", "instant-runoff", "ranked-choice", "schulze")
PLAN_RULES = BASKET_RULES + VOTING_RULES
RANKED_RULES = ("instant-runoff", "ranked-choice", "schulze")


def aggregate(rule: str, proposals: dict[int, dict], weights: dict[int, float], votes: dict[int, dict]) -> dict:
    """Targets from the councils' proposals by the round's rule.

    ``proposals`` maps a proposal id to ``{"council": id, "basket": {product: qty},
    "priorities": {...}, "limits": {factor: limit}}``, ``weights`` a council id to its weight
    and ``votes`` a council id to its ballot (``{"approve": [proposal ids]}`` or
    ``{"ranking": [proposal ids, first choice first]}``). Basket rules aggregate the baskets
    (:func:`~gosplan.democracy.aggregation.weighted_sum`, ``weighted_mean``,
    ``weighted_median`` per product); choice rules elect one proposal, whose basket becomes
    the targets; a tie goes to the earliest proposal (the published tie-break). Limits
    stated by councils are aggregated by the weighted median; priorities likewise.
    Returns ``{"basket", "limits", "priorities", "explanation"}``.
    """
    import numpy as np
    import pandas as pd

    from gosplan.democracy import aggregation
    from gosplan.errors import GosplanError

    if not proposals:
        raise GosplanError("no council submitted a proposal in this round; there is nothing to aggregate")
    by_council = {p["council"]: p for p in proposals.values()}
    councils = sorted(by_council)
    w = pd.Series({c: float(weights.get(c, 1.0)) for c in councils})

    def table(part: str) -> pd.DataFrame:
        cols = sorted({k for p in by_council.values() for k in (p.get(part) or {})})
        return pd.DataFrame([[(by_council[c].get(part) or {}).get(k, np.nan) for k in cols] for c in councils],
                            index=pd.Index(councils), columns=pd.Index(cols, dtype=object), dtype=float)

    def median_of(part: str) -> dict:
        t = table(part)
        return {} if t.shape[1] == 0 else {str(k): float(v) for k, v in aggregation.weighted_median(t, w).items()}

    explanation: dict[str, Any] = {"rule": rule, "weights": {str(c): float(w[c]) for c in councils}}
    if rule in BASKET_RULES:
        t = table("basket")
        if t.shape[1] == 0:
            raise GosplanError("the proposals name no product; there is no basket to aggregate")
        if rule == "weighted-median":
            basket = aggregation.weighted_median(t, w)
        else:
            basket = aggregation.aggregate(rule, t, w)
        explanation["councils"] = [str(c) for c in councils]
    else:
        if not votes:
            raise GosplanError(f"no council voted in this round; the rule {rule!r} chooses among proposals by votes")
        ids = sorted(proposals)
        voters = sorted(votes)
        if rule == "approval":
            data = [[1.0 if pid in (votes[v].get("approve") or []) else 0.0 for pid in ids] for v in voters]
        else:
            data = []
            for v in voters:
                ranking = votes[v].get("ranking") or []
                data.append([float(ranking.index(pid) + 1) if pid in ranking else np.nan for pid in ids])
        ballots = pd.DataFrame(data, index=pd.Index(voters), columns=pd.Index(ids), dtype=float)
        vw = pd.Series({v: float(weights.get(v, 1.0)) for v in voters})
        result = aggregation.aggregate(rule, ballots, vw)
        winner = min(result.winners)
        scores = result.scores
        explanation.update(
            winner=int(winner), tied=[int(x) for x in result.winners], method=result.method,
            scores={str(k): float(v) for k, v in scores.items()} if isinstance(scores, pd.Series) else None,
        )
        basket = pd.Series(proposals[winner]["basket"], dtype=float)
    return {
        "basket": {str(k): float(v) for k, v in basket.items() if float(v) != 0.0},
        "limits": median_of("limits"),
        "priorities": median_of("priorities"),
        "explanation": explanation,
    }


def solve_plan(economy_name: str, basket: dict[str, float], limits: dict[str, float] | None = None,
               priorities: dict[str, float] | None = None, objective: str | None = None) -> dict:
    """The optimal plan delivering ``basket`` as final-demand floors (:func:`gosplan.planning.optimal_plan`).

    Returns status, objective and its value, gross output and valuations (shadow prices)
    per product, factor use, whether the plan verifies, the manifest, and for an impossible
    plan the diagnosis in words (which targets and limits clash).
    """
    from gosplan.planning import Targets, optimal_plan

    eco = economy(economy_name)
    objective = objective or default_objective(economy_name)
    targets = Targets(floors=dict(basket), weights=dict(priorities or {}))
    plan = optimal_plan(eco, targets, objective, limits=dict(limits or {}) or None)
    out: dict[str, Any] = {
        "status": str(plan.status),
        "objective": plan.objective,
        "objective_spec": objective,
        "targets": {k: float(v) for k, v in basket.items()},
        "limits": {k: float(v) for k, v in (limits or {}).items()},
        "manifest": reproducible_manifest(plan.manifest),
        "versions": _jsonable(plan.manifest.get("versions", {})),
    }
    if plan.ok:
        ver = plan.verify(eco, targets)
        out.update(
            objective_value=float(plan.objective_value),
            output={str(k): float(v) for k, v in plan.outputs(eco).items()},
            prices={str(k): float(v) for k, v in plan.valuations.items()},
            factor_use={str(k): float(v) for k, v in plan.factor_use(eco).items()},
            verified=bool(ver.ok),
        )
    elif plan.diagnosis is not None:
        out["diagnosis"] = plan.diagnosis.message()
    return out


def _jsonable(obj: Any) -> Any:
    import json

    return json.loads(json.dumps(obj, default=str))


def reproducible_manifest(manifest: dict) -> dict:
    """The manifest without its creation time: what a recomputation must reproduce."""
    return _jsonable({k: v for k, v in manifest.items() if k not in ("created", "versions")})


def replay_plan(entry, history) -> dict:
    """Replay hook for ``plan_computed`` entries (``gosplan ledger verify --replay
    plan_computed=gosplan.server:replay_plan``): aggregate the proposals and votes
    recorded before the entry by the round's recorded rule, compute the plan again and
    return its manifest, which the verifier compares with the recorded one."""
    from gosplan.errors import GosplanError

    opened = next(e for e in history if e.kind == "round_opened").payload
    proposals, votes, weights = {}, {}, {}
    for e in history:
        if e.kind == "proposal":
            p = e.payload
            proposals[p["proposal"]] = {"council": p["council"], "basket": p.get("basket") or {},
                                        "priorities": p.get("priorities") or {}, "limits": p.get("limits") or {}}
        elif e.kind == "vote":
            votes[int(e.payload["voter"].split(":")[1])] = e.payload
        elif e.kind == "targets_aggregated":
            weights = {int(k): v for k, v in e.payload["explanation"].get("weights", {}).items()}
    agg = aggregate(opened["rule"], proposals, weights, votes)
    recorded = entry.payload
    if {k: float(v) for k, v in agg["basket"].items()} != {k: float(v) for k, v in recorded["targets"].items()}:
        raise GosplanError("the recorded targets are not what the rule gives from the recorded proposals and votes")
    plan = solve_plan(opened["params"]["economy"], agg["basket"], agg["limits"], agg["priorities"],
                      opened["params"].get("objective"))
    if plan["status"] != recorded["plan"]["status"]:
        raise GosplanError(f"the plan's status is {plan['status']} on recomputation, {recorded['plan']['status']} recorded")
    if "objective_value" in plan:
        a, b = plan["objective_value"], recorded["plan"]["objective_value"]
        if abs(a - b) > 1e-6 * max(1.0, abs(b)):
            raise GosplanError(f"the plan's objective is {a!r} on recomputation, {b!r} recorded")
    return plan["manifest"]


# -- budget rounds --------------------------------------------------------------
BUDGET_RULES = ("greedy", "equal-shares", "phragmen")
BALLOT_KINDS = ("approval", "cumulative", "ordinal")


def budget_outcome(rule: str, budget: float, projects: list[dict], ballots: list[dict], ballot_kind: str) -> dict:
    """The funded projects by ``rule`` (:func:`gosplan.democracy.budgeting.allocate`) and their explanations.

    ``projects`` are ``{"key", "name", "cost", "category", "district"}``; ``ballots`` are
    ``{"approve": [keys]}``, ``{"ranking": [keys]}`` or ``{"points": {key: points}}``.
    Returns the funded ids, votes (or points) per project, an explanation per project,
    each ballot's number of funded projects (the satisfaction distribution), the share of
    voters with a funded project and the spending per district.
    """
    import numpy as np
    import pandas as pd

    from gosplan.democracy.budgeting import allocate
    from gosplan.democracy.pabulib import Election

    table = pd.DataFrame(
        {"name": [p["name"] for p in projects], "cost": [float(p["cost"]) for p in projects],
         "category": [p.get("category") or "" for p in projects], "district": [p.get("district") or "" for p in projects]},
        index=pd.Index([p["key"] for p in projects], dtype=object),
    )
    pos = {p["key"]: i for i, p in enumerate(projects)}
    offsets, choices, points = [0], [], []
    for b in ballots:
        if ballot_kind == "cumulative":
            items = list(b["points"].items())
            choices += [pos[k] for k, _ in items]
            points += [float(v) for _, v in items]
        else:
            choices += [pos[k] for k in b.get("approve") or b.get("ranking") or []]
        offsets.append(len(choices))
    election = Election(
        meta={"budget": repr(float(budget)), "vote_type": ballot_kind},
        projects=table,
        voter_ids=pd.Index([str(i) for i in range(len(ballots))], dtype=object),
        offsets=np.asarray(offsets, dtype=np.int64),
        choices=np.asarray(choices, dtype=np.int32),
        points=np.asarray(points, dtype=np.float64) if ballot_kind == "cumulative" else None,
        source="budget round",
    )
    out = allocate(election, rule)
    funded = [str(k) for k in out.funded]
    score_col = "points" if ballot_kind == "cumulative" else "voters"
    votes = {str(k): float(v) for k, v in out.projects[score_col].items()}
    explanation = {str(k): str(v) for k, v in out.projects["explanation"].items()}
    fset = set(funded)
    satisfaction = []
    for b in ballots:
        named = list(b["points"]) if ballot_kind == "cumulative" else (b.get("approve") or b.get("ranking") or [])
        satisfaction.append(sum(1 for k in named if k in fset))
    district = out.spending.get("district")
    return {
        "rule": rule,
        "funded": funded,
        "total_cost": float(out.total_cost),
        "votes": votes,
        "explanation": explanation,
        "summary": out.summary(),
        "satisfaction": satisfaction,
        "share_with_funded": float(out.satisfied_share),
        "spending_by_district": {str(k): float(v) for k, v in district.items()} if district is not None else {},
        "per_voter_budget": out.per_voter_budget,
        "add1_steps": out.add1_steps,
    }


def budget_from_pabulib(text: str, source: str = "upload") -> dict:
    """A budget round's budget, ballot kind, limits and projects from a Pabulib ``.pb`` text.

    The file's votes are not taken over: members vote in the service. Refuses what the
    reader refuses (a malformed line, a project costing more than the budget), naming the
    line and field.
    """
    from gosplan.democracy.pabulib import parse_pabulib
    from gosplan.errors import SchemaError

    e = parse_pabulib(text, source)
    kind = str(e.meta["vote_type"])
    if kind not in BALLOT_KINDS:
        raise SchemaError(f"{source}: vote_type {kind!r}; the service takes {', '.join(BALLOT_KINDS)} ballots")
    cols = e.projects.columns
    projects = [
        {"key": str(pid), "cost": float(row["cost"]),
         "name": str(row["name"]) if "name" in cols and row["name"] == row["name"] else str(pid),
         "category": str(row["category"]) if "category" in cols and row["category"] == row["category"] else "",
         "district": str(row["district"]) if "district" in cols and row["district"] == row["district"] else ""}
        for pid, row in e.projects.iterrows()
    ]
    out = {"budget": float(e.meta["budget"]), "ballot": kind, "projects": projects,
           "title": " ".join(str(e.meta[k]) for k in ("description", "instance") if k in e.meta) or "budget round"}
    for key in ("min_length", "max_length", "max_sum_points"):
        if key in e.meta:
            out[key] = int(float(e.meta[key]))
    return out


def budget_to_pabulib(title: str, params: dict, projects: list[dict], ballots: list[dict]) -> str:
    """The round as a Pabulib file: its projects and the ballots cast (voters numbered, not named)."""
    import numpy as np
    import pandas as pd

    from gosplan.democracy.pabulib import Election, to_pabulib_string

    kind = params.get("ballot", "approval")
    meta = {"description": title, "budget": repr(float(params["budget"])), "vote_type": kind,
            "num_projects": str(len(projects)), "num_votes": str(len(ballots))}
    for key in ("min_length", "max_length", "max_sum_points"):
        if params.get(key) is not None:
            meta[key] = str(params[key])
    table = pd.DataFrame({"cost": [float(p["cost"]) for p in projects], "name": [p["name"] for p in projects],
                          "category": [p.get("category") or "" for p in projects],
                          "district": [p.get("district") or "" for p in projects]},
                         index=pd.Index([p["key"] for p in projects], dtype=object))
    pos = {p["key"]: i for i, p in enumerate(projects)}
    offsets, choices, points = [0], [], []
    for b in ballots:
        if kind == "cumulative":
            choices += [pos[k] for k in b["points"]]
            points += [int(v) for v in b["points"].values()]
        else:
            choices += [pos[k] for k in b.get("approve") or b.get("ranking") or []]
        offsets.append(len(choices))
    e = Election(meta=meta, projects=table, voter_ids=pd.Index([str(i + 1) for i in range(len(ballots))], dtype=object),
                 offsets=np.asarray(offsets, dtype=np.int64), choices=np.asarray(choices, dtype=np.int32),
                 points=np.asarray(points, dtype=np.int64) if kind == "cumulative" else None, source=title)
    return to_pabulib_string(e)


# -- delegate elections (gosplan.democracy.committees) ----------------------------
ELECTION_RULES = ("pav", "seq-phragmen", "stv")


def elect(rule: str, seats: int, candidates: list[int], ballots: list[dict]) -> dict:
    """The ``seats`` delegates elected from ``candidates`` (member ids) by ``rule``.

    Approval ballots ``{"approve": [ids]}`` for PAV and sequential Phragmén, rankings
    ``{"ranking": [ids]}`` for STV. Returns the elected (in the rule's order), the votes
    per candidate and an explanation per candidate.
    """
    from gosplan.democracy import committees

    cands = [str(c) for c in candidates]
    if rule == "stv":
        result = committees.stv(cands, [[str(c) for c in b.get("ranking") or []] for b in ballots], seats)
    else:
        fn = committees.pav if rule == "pav" else committees.seq_phragmen
        result = fn(cands, [[str(c) for c in b.get("approve") or []] for b in ballots], seats)
    table = result.candidates
    return {
        "rule": rule,
        "elected": [int(c) for c in result.elected],
        "scores": {str(k): float(v) for k, v in table["votes"].items()},
        "explanation": {str(k): str(v) for k, v in table["explanation"].items()},
        "quota": result.quota,
    }


def recall(delegate: int, council: int, members: list[int], threshold: float, signers: list[int]) -> dict:
    """Count a recall petition (:meth:`gosplan.democracy.committees.Mandate.petition`)."""
    from gosplan.democracy.committees import Mandate

    counted = Mandate(str(delegate), str(council), frozenset(str(m) for m in members), threshold).petition(
        [str(s) for s in signers])
    return {"reached": counted.reached, "needed": counted.needed, "signatures": len(counted.signers),
            "explanation": counted.explanation()}
