"""The seam between the service and the domain: one function per thing the service asks.

The service stores, authorises and logs; it computes nothing itself. Each function
here is one call into ``gosplan.democracy``, ``gosplan.planning`` or
``gosplan.datasets`` with the service's plain records (dicts of ids and numbers)
converted to the domain's inputs and its results back to JSON-able dicts for
storage and the ledger.
"""

from __future__ import annotations

import math
from typing import Any

GENESIS = "0" * 64


# -- ledger (gosplan.democracy.ledger) -------------------------------------------
from gosplan.democracy.ledger import GENESIS  # noqa: E402


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


# -- economies ------------------------------------------------------------------
DEFAULT_ECONOMY = "toy3"
_ECONOMIES: dict[str, Any] = {}


def economy(name: str):
    """The economy a plan round is for, by dataset name (cached: economies are immutable)."""
    if name not in _ECONOMIES:
        if name == "toy3":
            import pandas as pd

            from gosplan.economy import from_coefficients

            ids = ["grain", "steel", "cloth"]
            A = pd.DataFrame([[0.1, 0.0, 0.2], [0.1, 0.2, 0.1], [0.0, 0.1, 0.1]], index=ids, columns=ids)
            B = pd.DataFrame([[0.5, 0.8, 0.6]], index=["labour"], columns=ids)
            _ECONOMIES[name] = from_coefficients(A, B, name="toy3")
        else:
            from gosplan.errors import UnknownIdError

            raise UnknownIdError(f"economy {name!r} is not known; use {DEFAULT_ECONOMY!r}")
    return _ECONOMIES[name]


def product_ids(name: str) -> list[str]:
    return [str(p) for p in economy(name).product_ids]


# -- plan rounds ----------------------------------------------------------------
PLAN_RULES = ("weighted-sum", "weighted-median", "approval", "ranked-choice")
VOTING_RULES = ("approval", "ranked-choice")


def aggregate(rule: str, proposals: dict[int, dict], weights: dict[int, float], votes: dict[int, dict]) -> dict:
    """Targets from the councils' proposals by the round's rule.

    ``proposals`` maps a proposal id to ``{"council": id, "basket": {product: qty}, ...}``,
    ``weights`` a council id to its weight, ``votes`` a council id to its ballot
    (``{"approve": [proposal ids]}`` or ``{"ranking": [...]}``).
    Returns ``{"basket": {product: qty}, "explanation": {...}}``.
    """
    if not proposals:
        from gosplan.errors import GosplanError

        raise GosplanError("no proposal was submitted in this round; nothing to aggregate")
    if rule == "weighted-sum":
        basket: dict[str, float] = {}
        for p in proposals.values():
            w = weights.get(p["council"], 1.0)
            for k, q in p["basket"].items():
                basket[k] = basket.get(k, 0.0) + w * q
        return {"basket": basket, "explanation": {"rule": rule}}
    if rule == "weighted-median":
        products = sorted({k for p in proposals.values() for k in p["basket"]})
        basket = {}
        for k in products:
            pts = sorted((p["basket"].get(k, 0.0), weights.get(p["council"], 1.0)) for p in proposals.values())
            half, acc = sum(w for _, w in pts) / 2, 0.0
            for q, w in pts:
                acc += w
                if acc >= half:
                    basket[k] = q
                    break
        return {"basket": basket, "explanation": {"rule": rule}}
    score = {pid: 0.0 for pid in proposals}
    for council, ballot in votes.items():
        w = weights.get(council, 1.0)
        if rule == "approval":
            for pid in ballot.get("approve", []):
                score[pid] += w
        else:  # Borda as interim for ranked choice
            ranking = ballot.get("ranking", [])
            for r, pid in enumerate(ranking):
                score[pid] += w * (len(ranking) - r)
    winner = max(sorted(score), key=lambda pid: score[pid])
    return {"basket": dict(proposals[winner]["basket"]), "explanation": {"rule": rule, "scores": {str(k): v for k, v in score.items()}, "winner": winner}}


def solve_plan(economy_name: str, basket: dict[str, float]) -> dict:
    """The plan meeting ``basket`` as final demand: outputs, labour and valuations."""
    import numpy as np

    eco = economy(economy_name)
    ids = [str(p) for p in eco.product_ids]
    A = eco.A.toarray()
    d = np.array([basket.get(k, 0.0) for k in ids])
    x = np.linalg.solve(np.eye(len(ids)) - A, d)
    v = np.asarray(eco.factor_use.toarray()).sum(axis=0)
    p = np.linalg.solve((np.eye(len(ids)) - A).T, v)
    manifest = {"economy": economy_name, "targets": {k: basket.get(k, 0.0) for k in ids}, "method": "leontief"}
    return {
        "status": "optimal",
        "output": dict(zip(ids, x.tolist())),
        "targets": {k: basket.get(k, 0.0) for k in ids},
        "prices": dict(zip(ids, p.tolist())),
        "labour": float(v @ x),
        "manifest": manifest,
    }


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


# -- delegate elections ---------------------------------------------------------
ELECTION_RULES = ("pav", "phragmen", "stv")


def elect(rule: str, seats: int, candidates: list[int], ballots: list[dict]) -> dict:
    """The ``seats`` winners among ``candidates`` (member ids)."""
    score = {c: 0.0 for c in candidates}
    for b in ballots:
        for c in b.get("approve") or b.get("ranking", [])[:1]:
            score[c] += 1
    elected = sorted(score, key=lambda c: (-score[c], c))[:seats]
    return {"elected": elected, "scores": {str(c): s for c, s in score.items()}}


def recall_needed(threshold: float, members: int) -> int:
    """Signatures that end a mandate: the threshold share of the council's members, rounded up."""
    return max(1, math.ceil(threshold * members - 1e-9))
