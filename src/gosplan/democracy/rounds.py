"""A council's round from proposals and ballots to its outcome, usable without the server.

A round is a chain of ledger entries (:mod:`gosplan.democracy.ledger`): it is opened with
its rule and parameters (``round_opened``), receives proposals, votes and ballots, is
closed, and its outcome is computed *from those entries* and recorded (``plan_computed``,
``budget_outcome``, ``election_result``, ``recall``). Each outcome has a replay function
here that recomputes it from the entries before it, registered with the ledger so that
``gosplan ledger verify`` recomputes every kind of round by default. A database that
stores the same ballots in tables (the web service) holds an index of the ledger, never
a second source of the outcome.

The rule registries are read from the modules that implement the rules
(:data:`gosplan.democracy.aggregation.RULES`, :class:`gosplan.democracy.budgeting.Rule`,
:data:`ELECTION_RULES`), and ballot limits are checked once (:func:`check_budget_ballot`).
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Iterable, Sequence
from typing import Any

from gosplan.errors import GosplanError


class RoundStatus(enum.StrEnum):
    """Where a round stands: it takes ballots while open, computes when closed, is final once published."""

    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"


class RoundKind(enum.StrEnum):
    PLAN = "plan"
    BUDGET = "budget"
    ELECTION = "election"
    #: Hahnel's participatory planning: councils answer indicative prices until they balance
    PARTICIPATORY = "participatory"
    #: a chain imported from an export, read-only
    IMPORTED = "imported"
    #: the chain of councils, members and tokens
    REGISTRY = "registry"


class OutcomeKind(enum.StrEnum):
    """Ledger entry kinds that record an outcome; each has a replay function here."""

    PLAN = "plan_computed"
    BUDGET = "budget_outcome"
    ELECTION = "election_result"
    RECALL = "recall"
    PRICES = "prices_updated"


#: The largest quantity a basket, priority or limit may state. A plan of 10^12 units of a
#: product is far beyond any economy the service plans for, and bounding it keeps the linear
#: program within what the solver accepts (1.7e308 made HiGHS refuse it).
MAX_QUANTITY = 1e12

#: Share of a council's members who must cast a ballot for an election to seat anyone.
DEFAULT_QUORUM = 0.5


def _plan_rules() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    from gosplan.democracy.aggregation import ALIASES, RULES

    name = lambda n: n.replace("_", "-")  # noqa: E731 (the service spells rules with hyphens)
    basket = tuple(name(n) for n, r in RULES.items() if r.kind in ("basket", "priorities"))
    choice = tuple(name(n) for n, r in RULES.items() if r.kind == "choice")
    aliases = tuple(name(a) for a, target in ALIASES.items() if name(target) in choice and a in ("ranked_choice",))
    ranked = tuple(n for n in choice + aliases if n != "approval")
    return basket, choice + aliases, ranked


BASKET_RULES, VOTING_RULES, RANKED_RULES = _plan_rules()
"""Plan rules: basket rules take the councils' proposals, choice (voting) rules the councils'
votes among the proposals (the winner's basket becomes the targets); ranked ones take rankings."""
PLAN_RULES = BASKET_RULES + VOTING_RULES


def _budget_rules() -> tuple[str, ...]:
    from gosplan.democracy.budgeting import Rule

    return tuple(sorted(r.value for r in Rule))


BUDGET_RULES = _budget_rules()
BALLOT_KINDS = ("approval", "cumulative", "ordinal")
ELECTION_RULES = ("pav", "seq-phragmen", "stv")
"""Delegate elections (:mod:`gosplan.democracy.committees`): ``stv`` takes rankings, the others approvals."""


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


def check_economy(name: str) -> None:
    """Refuse a plan round's economy unless it is a shipped economy (:mod:`gosplan.datasets`)."""
    from gosplan import datasets
    from gosplan.errors import SchemaError

    shipped = datasets.names("economy")
    if name not in shipped:
        raise SchemaError(f"economy {name!r} is not a shipped economy; choose one of {', '.join(shipped)}")


#: Objectives that scale a basket up; a plan round's targets are the councils' floors, never a basket.
_BASKET_OBJECTIVES = ("max_basket", "max_harmony")


def check_objective(economy_name: str, spec: str) -> None:
    """Refuse an objective the plan round's economy cannot be planned by, naming what it offers.

    Each stage of ``spec`` (:func:`gosplan.planning.objectives.parse_objective`) is checked:
    a factor it minimises must be a factor of the economy (``labour`` needs a factor named
    so), and a stage that scales a basket up is refused because a plan round's targets
    are floors. Raises :class:`~gosplan.errors.SchemaError`.
    """
    from gosplan.errors import SchemaError
    from gosplan.planning.objectives import Lexicographic, MinFactor, parse_objective

    try:
        objective = parse_objective(spec)
    except SchemaError as exc:
        raise SchemaError(f"objective {spec!r}: {exc}") from None
    ids = factor_ids(economy_name)
    offer = f"its factors are: {', '.join(ids)}"
    for stage in objective.stages if isinstance(objective, Lexicographic) else (objective,):
        if isinstance(stage, MinFactor):
            named = [stage.factors] if isinstance(stage.factors, str) else list(stage.factors or [])
            if not named and len(ids) > 1 and not any("labour" in f.lower() or "labor" in f.lower() for f in ids):
                raise SchemaError(f"objective {spec!r} names no factor of {economy_name} (none is named labour); "
                                  f"{offer}; choose one with 'factor:<id>', e.g. 'factor:{ids[0]}'")
            unknown = [f for f in named if f not in ids]
            if unknown:
                raise SchemaError(f"objective {spec!r} names no factor {unknown[0]!r} of {economy_name}; {offer}")
        elif getattr(stage, "name", "") in _BASKET_OBJECTIVES:
            raise SchemaError(f"objective {spec!r} scales up a basket, but a plan round's targets are the councils' "
                              "floors; choose labour, 'factor:<id>' or floors")


def plan_params(history: Sequence) -> dict:
    """A plan round's parameters as they stand: those it was opened with, then each ``round_amended``."""
    params = dict(opened(history)["params"])
    for e in _entries_of(history, "round_amended"):
        params.update(e.payload["params"])
    return params


def plan_failed(result: dict | None) -> str | None:
    """Why a plan round's computed plan is not a plan (failed, infeasible, ...), or ``None`` if it is one."""
    from gosplan.planning.solver import SolverStatus

    plan = (result or {}).get("plan")
    if plan is None or plan.get("status") == SolverStatus.OPTIMAL:
        return None
    return plan.get("diagnosis") or f"the solver ended with status {plan.get('status')!r}"


def default_objective(name: str) -> str:
    """Least labour: the factor named labour, else hours worked, else the first factor."""
    ids = factor_ids(name)
    if any("labour" in f.lower() or "labor" in f.lower() for f in ids):
        return "labour"
    if "hours" in ids:
        return "factor:hours"
    return f"factor:{ids[0]}"


# -- plan rounds (gosplan.democracy.aggregation, gosplan.planning) ------------------
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
    try:
        plan = optimal_plan(eco, targets, objective, limits=dict(limits or {}) or None)
    except GosplanError as exc:
        # A plan the solver cannot compute is an outcome too: recorded, publishable and
        # replayable, so that a round never stays closed with no way out.
        targets_ = {k: float(v) for k, v in basket.items()}
        limits_ = {k: float(v) for k, v in (limits or {}).items()}
        return {"status": "failed", "objective_spec": objective, "targets": targets_, "limits": limits_,
                "diagnosis": f"the plan could not be computed: {exc}",
                "manifest": {"failed": True, "economy": economy_name, "objective": objective,
                             "targets": targets_, "limits": limits_}}
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


# -- budget rounds ----------------------------------------------------------------


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


# -- delegate elections (gosplan.democracy.committees) ----------------------------


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


# -- outcomes from the ledger ---------------------------------------------------------
# Each function takes the entries of one round's chain (``Entry`` objects, oldest first)
# and reads only them; the replay hooks recompute a recorded outcome from the entries
# before it.


def _entries_of(history: Iterable, kind: str) -> list:
    return [e for e in history if e.kind == kind]


def opened(history: Sequence) -> dict:
    """The ``round_opened`` payload: kind, rule, parameters, projects or candidates.

    Raises :class:`~gosplan.democracy.ledger.NotReplayable` for a chain that does not open a
    round the way this module records one (another tool's ledger).
    """
    from gosplan.democracy.ledger import NotReplayable

    for e in history:
        if e.kind == "round_opened":
            if not {"rule", "params", "kind"} <= set(e.payload):
                raise NotReplayable("the round_opened entry does not record kind, rule and params")
            return e.payload
    raise NotReplayable("the ledger has no round_opened entry; it does not record a round")


def _ballot(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k in ("approve", "ranking", "points")}


def plan_inputs(history: Sequence) -> tuple[dict[int, dict], dict[int, dict]]:
    """The proposals (by proposal id) and the councils' votes (by council id) recorded in a plan round."""
    proposals, votes = {}, {}
    for e in history:
        if e.kind == "proposal":
            p = e.payload
            proposals[int(p["proposal"])] = {"council": p["council"], "basket": p.get("basket") or {},
                                             "priorities": p.get("priorities") or {}, "limits": p.get("limits") or {}}
        elif e.kind == "vote":
            votes[int(str(e.payload["voter"]).split(":")[1])] = _ballot(e.payload)
    return proposals, votes


def plan_from_ledger(history: Sequence, weights: dict[int, float]) -> tuple[dict, dict]:
    """Aggregate the recorded proposals and votes by the round's rule and solve the plan:
    ``(aggregation, plan)``. ``weights`` are the councils' weights (council id to weight)."""
    op = opened(history)
    params = plan_params(history)
    proposals, votes = plan_inputs(history)
    agg = aggregate(op["rule"], proposals, weights, votes)
    plan = solve_plan(params["economy"], agg["basket"], agg["limits"], agg["priorities"], params.get("objective"))
    return agg, plan


def replay_plan(entry, history) -> dict:
    """Replay hook for ``plan_computed``: aggregate the proposals and votes recorded before
    the entry by the round's recorded rule (with the weights recorded by
    ``targets_aggregated``), compute the plan again and return its manifest."""
    weights = {}
    for e in history:
        if e.kind == "targets_aggregated":
            weights = {int(k): v for k, v in e.payload["explanation"].get("weights", {}).items()}
    agg, plan = plan_from_ledger(history, weights)
    recorded = entry.payload
    if {k: float(v) for k, v in agg["basket"].items()} != {k: float(v) for k, v in recorded["targets"].items()}:
        raise GosplanError("the recorded targets are not what the rule gives from the recorded proposals and votes")
    if plan["status"] != recorded["plan"]["status"]:
        raise GosplanError(f"the plan's status is {plan['status']} on recomputation, {recorded['plan']['status']} recorded")
    if "objective_value" in plan:
        a, b = plan["objective_value"], recorded["plan"]["objective_value"]
        if abs(a - b) > 1e-6 * max(1.0, abs(b)):
            raise GosplanError(f"the plan's objective is {a!r} on recomputation, {b!r} recorded")
    return plan["manifest"]


def budget_inputs(history: Sequence) -> dict:
    """A budget round as recorded: ``rule``, ``params``, ``projects`` and the ``ballots`` in order."""
    op = opened(history)
    if op.get("kind") != RoundKind.BUDGET:
        raise GosplanError(f"the ledger records a {op.get('kind')} round, not a budget round")
    projects = [{"key": str(p["key"]), "name": p.get("name") or str(p["key"]), "cost": float(p["cost"]),
                 "category": p.get("category") or "", "district": p.get("district") or ""}
                for p in op.get("projects") or []]
    ballots = [_ballot(e.payload) for e in _entries_of(history, "budget_ballot")]
    return {"title": op.get("title", ""), "rule": op["rule"], "params": op["params"], "projects": projects,
            "ballots": ballots}


def budget_from_ledger(history: Sequence) -> dict:
    """The funded projects of a budget round, from the projects and ballots its ledger records."""
    b = budget_inputs(history)
    return budget_outcome(b["rule"], b["params"]["budget"], b["projects"], b["ballots"],
                          b["params"].get("ballot", "approval"))


def replay_budget(entry, history) -> dict:
    """Replay hook for ``budget_outcome``."""
    return budget_from_ledger(history)


def quorum_needed(members: int, quorum: float) -> int:
    """Ballots an election needs: ``ceil(quorum * members)``, at least one."""
    return max(1, math.ceil(quorum * members - 1e-9))


def election_from_ledger(history: Sequence, members: int) -> dict:
    """An election's result from its ledger: the candidates (named at the opening or nominated),
    the ballots, the seats, and the quorum against ``members``, the council's size at the close
    (recorded by ``round_closed``).

    No ballots, no mandate: below the quorum nobody is elected, and a candidate is elected
    only if at least one ballot names them.
    """
    op = opened(history)
    params = op["params"]
    cands = sorted({int(c) for c in op.get("candidates") or []}
                   | {int(e.payload["member"]) for e in _entries_of(history, "candidate_nominated")})
    ballots = [_ballot(e.payload) for e in _entries_of(history, "election_ballot")]
    quorum = float(params.get("quorum", DEFAULT_QUORUM))
    needed = quorum_needed(members, quorum)
    base = {"rule": op["rule"], "ballots": len(ballots), "members": members, "quorum": quorum,
            "ballots_needed": needed, "quorum_met": len(ballots) >= needed}
    if not cands:
        return {**base, "elected": [], "scores": {}, "explanation": {}, "quota": None,
                "summary": "no candidates: nobody is elected; the council's mandates continue"}
    if not base["quorum_met"]:
        return {**base, "elected": [], "scores": {}, "explanation": {}, "quota": None,
                "summary": f"{len(ballots)} of {members} members voted, {needed} needed: no quorum, nobody is "
                           "elected; the council's mandates continue"}
    out = elect(op["rule"], min(int(params["seats"]), len(cands)), cands, ballots)
    named = {int(c) for b in ballots for c in (b.get("approve") or b.get("ranking") or [])}
    elected = [c for c in out["elected"] if c in named]
    return {**base, **out, "elected": elected,
            "summary": f"{len(ballots)} of {members} members voted ({needed} needed); elected: {elected}"}


def replay_election(entry, history) -> dict:
    """Replay hook for ``election_result``."""
    closed = _entries_of(history, "round_closed")
    if not closed or "members" not in closed[-1].payload:
        from gosplan.democracy.ledger import NotReplayable

        raise NotReplayable("the round_closed entry does not record the council's size")
    return election_from_ledger(history, int(closed[-1].payload["members"]))


def recall_from_ledger(history: Sequence, mandate: int, delegate: int, council: int, members: list[int],
                       threshold: float) -> dict:
    """Count the petition against ``mandate`` from the ``petition`` entries of the chain."""
    signers = sorted({int(e.payload["member"]) for e in _entries_of(history, "petition")
                      if int(e.payload["mandate"]) == mandate})
    counted = recall(delegate, council, members, threshold, signers)
    return {"reached": bool(counted["reached"]), "signatures": counted["signatures"], "needed": counted["needed"]}


def replay_recall(entry, history) -> dict:
    """Replay hook for ``recall``: the petition's signatures recorded before it reach the threshold."""
    from gosplan.democracy.ledger import NotReplayable

    p = entry.payload
    if not {"mandate", "member", "council", "members", "threshold"} <= set(p):
        raise NotReplayable("the recall entry does not record the council's members and threshold")
    return recall_from_ledger(history, int(p["mandate"]), int(p["member"]), int(p["council"]),
                              [int(m) for m in p["members"]], float(p["threshold"]))


# -- participatory rounds (gosplan.democracy.participatory) ---------------------------
# A participatory round is opened on a pequod experiment's councils, shared among the
# service's councils; each iteration the councils answer the board's indicative prices
# (``iteration_proposal``) and the board counts supply and demand and moves the prices by
# the round's rule (``prices_updated``, replayed from the proposals before it).

PARTICIPATORY_SOURCES = ("dep1ex01",)
"""Pequod experiments a participatory round may be opened on (shipped councils datasets)."""


def pequod_councils(source: str):
    """A shipped pequod experiment's councils (:func:`gosplan.democracy.participatory.load_pequod_councils`), cached."""
    from gosplan.errors import SchemaError

    if source not in PARTICIPATORY_SOURCES:
        raise SchemaError(f"councils {source!r}: not a shipped pequod experiment; choose one of "
                          f"{', '.join(PARTICIPATORY_SOURCES)}")
    return _pequod_councils(source)


@functools.cache
def _pequod_councils(source: str):
    from gosplan.democracy.participatory import load_pequod_councils

    return load_pequod_councils(source)


@functools.cache
def pequod_sha256(source: str) -> str:
    """SHA-256 of the experiment's file as shipped: the round records it, so that its councils are known exactly."""
    import hashlib

    from gosplan import datasets

    return hashlib.sha256(datasets.resolve(source, "councils").read_bytes()).hexdigest()


def participatory_params(source: str, councils: Sequence[int], rule: str, initial_price: float,
                         threshold: float, max_iterations: int) -> dict:
    """The parameters a participatory round is opened with and its ledger records.

    The experiment's worker and consumer councils are shared among ``councils`` in file
    order (contiguous, as equal as can be: :func:`numpy.array_split`); the goods, their
    endowments and the first (cold-start) prices are recorded so that every price update
    can be recomputed from the ledger alone.
    """
    import numpy as np

    from gosplan.democracy.participatory import RULES
    from gosplan.errors import SchemaError

    if rule not in RULES:
        raise SchemaError(f"rule {rule!r} is not a participatory price rule; choose one of {', '.join(RULES)}")
    if len(set(councils)) != len(councils):
        raise SchemaError("councils: a council is named twice")
    e = pequod_councils(source)
    workers = np.array_split(np.asarray(e.worker_ids, dtype=object), len(councils))
    consumers = np.array_split(np.asarray(e.consumer_ids, dtype=object), len(councils))
    return {
        "source": source, "source_sha256": pequod_sha256(source),
        "goods": [str(g) for g in e.commodities],
        # a consumer council's basket is recorded as quantities of these goods, in this order
        "consumer_goods": [str(e.commodities[g]) for g in e.utility_good],
        "endowment": {str(g): float(q) for g, q in zip(e.commodities, e.endowment) if q},
        "initial_prices": {str(g): float(initial_price) for g in e.commodities},
        "threshold": float(threshold), "max_iterations": int(max_iterations),
        "councils": {str(c): {"workers": [str(w) for w in ws], "consumers": [str(k) for k in ks]}
                     for c, ws, ks in zip(councils, workers, consumers)},
    }


def latest_proposals(history: Sequence, iteration: int, councils: Iterable[str]) -> dict[str, dict]:
    """Each council's latest ``iteration_proposal`` up to ``iteration`` (a council that did not
    answer this iteration counts with its last answer); reads the history from its end."""
    wanted, found = set(councils), {}
    for e in reversed(history):
        if e.kind == "iteration_proposal" and int(e.payload["iteration"]) <= iteration:
            c = str(e.payload["council"])
            if c in wanted and c not in found:
                found[c] = e.payload
                if len(found) == len(wanted):
                    break
    return found


def iteration_outcome(params: dict, rule: str, previous: dict | None, proposals: dict[str, dict]) -> dict:
    """What the board announces after an iteration, from the councils' proposals.

    ``previous`` is the last iteration's outcome (``None`` for the first: the recorded
    initial prices and the rule's initial state). Supply and demand are counted by
    :func:`gosplan.democracy.participatory.tally` and the prices moved by
    :func:`~gosplan.democracy.participatory.price_update` under the round's rule. The
    outcome holds the iteration, which councils answered it (and, for the others, the
    iteration of the proposal counted), supply, demand, imbalance, step, the next prices
    and rule state, the largest imbalance and whether the proposals balance (converged)
    or the iteration limit ends the round (``last``).
    """
    import numpy as np
    import pandas as pd

    from gosplan.democracy.participatory import RULES, price_update, tally
    from gosplan.errors import GosplanError

    goods = pd.Index(params["goods"], name="commodity")
    k = 1 if previous is None else int(previous["iteration"]) + 1
    missing = sorted(set(params["councils"]) - set(proposals), key=int)
    if missing:
        raise GosplanError(f"iteration {k}: council {missing[0]} has not answered in any iteration yet; the board "
                           "cannot count its supply and demand")
    supplied_ids, supplied, demanded_ids, demanded = [], [], [], []
    for c in sorted(proposals, key=int):
        p = proposals[c]
        for w in p["workers"].values():
            supplied_ids.append(w["good"])
            supplied.append(w["output"])
            demanded_ids.extend(w["inputs"])
            demanded.extend(w["inputs"].values())
        for basket in p["consumers"].values():
            demanded_ids.extend(params["consumer_goods"])
            demanded.extend(basket)
    endowment = pd.Series(params["endowment"], dtype=float).reindex(goods, fill_value=0.0).to_numpy()
    supply, demand = tally(goods, endowment, pd.Series(supplied, index=supplied_ids, dtype=float),
                           pd.Series(demanded, index=demanded_ids, dtype=float))
    rule_ = RULES[rule]()
    if previous is None:
        price = pd.Series(params["initial_prices"]).reindex(goods).to_numpy(dtype=float)
        state = np.asarray(rule_.initial_state(len(goods)), dtype=float)
    else:
        price = pd.Series(previous["prices"]).reindex(goods).to_numpy(dtype=float)
        state = pd.Series(previous["rule_state"]).reindex(goods).to_numpy(dtype=float)
    nxt, v, step, state = price_update(price, supply, demand, state, rule_, k)
    label = lambda a: {g: float(x) for g, x in zip(params["goods"], a)}  # noqa: E731
    converged = bool(v.max() <= params["threshold"])
    return {"iteration": k, "answered": {c: int(proposals[c]["iteration"]) for c in sorted(proposals, key=int)},
            "supply": label(supply), "demand": label(demand), "imbalance": label(v), "step": label(step),
            "prices": label(nxt), "rule_state": label(state), "max_imbalance": float(v.max()),
            "converged": converged, "last": converged or k >= int(params["max_iterations"])}


def participatory_outcome(history: Sequence) -> dict:
    """The next iteration's outcome from a participatory round's ledger (the entries so far)."""
    op = opened(history)
    if op.get("kind") != RoundKind.PARTICIPATORY:
        raise GosplanError(f"the ledger records a {op.get('kind')} round, not a participatory round")
    updates = _entries_of(history, OutcomeKind.PRICES.value)
    previous = updates[-1].payload["result"] if updates else None
    k = 1 if previous is None else int(previous["iteration"]) + 1
    return iteration_outcome(op["params"], op["rule"], previous,
                             latest_proposals(history, k, op["params"]["councils"]))


def replay_prices(entry, history) -> dict:
    """Replay hook for ``prices_updated``: count the proposals recorded before it and move the
    prices recorded by the update before that (or the opening's) by the round's rule."""
    return participatory_outcome(history)


REPLAYS = {OutcomeKind.PLAN.value: replay_plan, OutcomeKind.BUDGET.value: replay_budget,
           OutcomeKind.ELECTION.value: replay_election, OutcomeKind.RECALL.value: replay_recall,
           OutcomeKind.PRICES.value: replay_prices}
"""Replay hooks of every outcome a round records, registered with the ledger on import."""


def _register() -> None:
    from gosplan.democracy.ledger import register_kind, register_replay

    for kind, fn in REPLAYS.items():
        register_replay(kind, fn)
    register_kind("round_amended", "a planner changed a plan round's economy or objective; payload: the new params")
    register_kind("round_reopened", "a planner reopened a closed plan round whose plan was not computed")
    register_kind("iteration_proposal", "a council's proposal at a participatory round's indicative prices")
    register_kind("prices_updated", "the board's count of supply and demand after an iteration, and its next prices")


_register()


# -- ballots ---------------------------------------------------------------------------


def check_budget_ballot(params: dict, projects: Iterable[str], data: dict) -> dict:
    """A member's budget ballot checked against the round: known projects, no repeats, the
    round's ``min_length`` / ``max_length`` / ``max_sum_points``; returns the ballot as stored.

    Raises :class:`~gosplan.errors.SchemaError` naming the field and the project.
    """
    from gosplan.errors import SchemaError

    keys = set(projects)
    kind = params.get("ballot", "approval")
    if kind == "cumulative":
        pts = data.get("points") or {}
        if not pts:
            raise SchemaError("points: a cumulative ballot gives points to at least one project")
        for k, v in pts.items():
            if k not in keys:
                raise SchemaError(f"points: unknown project {k!r}")
            if v < 0 or v != int(v):
                raise SchemaError(f"points: project {k!r} gets {v!r} points; points are whole numbers >= 0")
        if params.get("max_sum_points") is not None and sum(pts.values()) > params["max_sum_points"]:
            raise SchemaError(f"points: the ballot gives {sum(pts.values()):g} points, more than the "
                              f"{params['max_sum_points']} allowed")
        return {"points": {k: int(v) for k, v in pts.items()}}
    field = "approve" if kind == "approval" else "ranking"
    chosen = [str(k) for k in data.get(field) or []]  # project ids are text, even "7"
    for k in chosen:
        if k not in keys:
            raise SchemaError(f"{field}: unknown project {k!r}")
    if len(set(chosen)) != len(chosen):
        raise SchemaError(f"{field}: a project appears twice")
    lo, hi = params.get("min_length"), params.get("max_length")
    if lo is not None and len(chosen) < lo:
        raise SchemaError(f"{field}: the ballot names {len(chosen)} projects, fewer than the minimum {lo}")
    if hi is not None and len(chosen) > hi:
        raise SchemaError(f"{field}: the ballot names {len(chosen)} projects, more than the maximum {hi}")
    if not chosen:
        raise SchemaError(f"{field}: the ballot names no project")
    return {field: list(chosen)}


def check_quantities(part: str, values: dict, known: Iterable[str], what: str = "product") -> None:
    """Quantities of a proposal: known ids, finite, ``0 <= q <= MAX_QUANTITY``."""
    from gosplan.errors import SchemaError

    known = set(known)
    for k, q in values.items():
        if k not in known:
            raise SchemaError(f"{part}: unknown {what} {k!r}; the economy has {', '.join(sorted(known)[:20])}"
                              + (" ..." if len(known) > 20 else ""))
        if not isinstance(q, (int, float)) or not math.isfinite(q) or q < 0 or q > MAX_QUANTITY:
            shown = f"{q:g}" if isinstance(q, (int, float)) else repr(q)
            raise SchemaError(f"{part}: quantity of {k!r} is {shown}; quantities must be finite, >= 0 and "
                              f"<= {MAX_QUANTITY:g}")


__all__ = [
    "RoundStatus", "RoundKind", "OutcomeKind", "MAX_QUANTITY", "DEFAULT_QUORUM", "BASKET_RULES", "VOTING_RULES",
    "RANKED_RULES", "PLAN_RULES", "BUDGET_RULES", "BALLOT_KINDS", "ELECTION_RULES", "DEFAULT_ECONOMY",
    "check_economy", "check_objective", "plan_params", "plan_failed",
    "aggregate", "solve_plan", "budget_outcome", "elect", "recall", "opened", "plan_inputs", "plan_from_ledger",
    "budget_inputs", "budget_from_ledger", "election_from_ledger", "recall_from_ledger", "quorum_needed",
    "replay_plan", "replay_budget", "replay_election", "replay_recall", "REPLAYS",
    "PARTICIPATORY_SOURCES", "pequod_councils", "pequod_sha256", "participatory_params", "latest_proposals",
    "iteration_outcome", "participatory_outcome", "replay_prices", "check_budget_ballot",
    "check_quantities",
]
