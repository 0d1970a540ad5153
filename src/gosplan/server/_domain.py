"""The seam between the service and the domain: one function per thing the service asks.

The service stores, authorises and logs; it computes nothing itself. Each function
here is one call into ``gosplan.democracy``, ``gosplan.planning`` or
``gosplan.datasets`` with the service's plain records (dicts of ids and numbers)
converted to the domain's inputs and its results back to JSON-able dicts for
storage and the ledger.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

GENESIS = "0" * 64


# -- ledger ---------------------------------------------------------------------
def canonical(obj: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8, finite numbers only."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def ledger_next(prev_hash: str, seq: int, kind: str, content: dict) -> dict:
    """The next entry of a chain after ``prev_hash``: its fields and its hash."""
    body = {"seq": seq, "kind": kind, "prev_hash": prev_hash, "content": content}
    return {**body, "hash": hashlib.sha256(canonical(body).encode()).hexdigest()}


def ledger_verify(entries: list[dict]) -> dict:
    """Check a chain; ``{"ok": bool, "entries": n, "first_bad": seq or None, "reason": str}``."""
    prev = GENESIS
    for i, e in enumerate(entries):
        body = {k: e.get(k) for k in ("seq", "kind", "prev_hash", "content")}
        if e.get("seq") != i:
            return {"ok": False, "entries": len(entries), "first_bad": i, "reason": f"entry {i}: seq is {e.get('seq')!r}"}
        if e.get("prev_hash") != prev:
            return {"ok": False, "entries": len(entries), "first_bad": i, "reason": f"entry {i}: prev_hash does not match entry {i - 1}"}
        if hashlib.sha256(canonical(body).encode()).hexdigest() != e.get("hash"):
            return {"ok": False, "entries": len(entries), "first_bad": i, "reason": f"entry {i}: hash does not match its content"}
        prev = e["hash"]
    return {"ok": True, "entries": len(entries), "first_bad": None, "reason": ""}


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
    """The funded projects and an explanation per project."""
    score = {p["key"]: 0.0 for p in projects}
    for b in ballots:
        if ballot_kind == "cumulative":
            for k, pts in b["points"].items():
                score[k] += pts
        elif ballot_kind == "ordinal":
            for k in b["ranking"]:
                score[k] += 1
        else:
            for k in b["approve"]:
                score[k] += 1
    cost = {p["key"]: p["cost"] for p in projects}
    left, funded, explain = budget, [], {}
    for k in sorted(score, key=lambda k: (-score[k], k)):
        if cost[k] <= left:
            funded.append(k)
            left -= cost[k]
            explain[k] = f"funded: {score[k]:g} votes, cost {cost[k]:g} within the {left + cost[k]:g} left"
        else:
            explain[k] = f"not funded: cost {cost[k]:g} exceeds the {left:g} left"
    sat = []
    for b in ballots:
        keys = b.get("approve") or b.get("ranking") or list(b.get("points", {}))
        sat.append(sum(1 for k in keys if k in funded))
    district: dict[str, float] = {}
    for p in projects:
        if p["key"] in funded:
            district[p.get("district") or "-"] = district.get(p.get("district") or "-", 0.0) + p["cost"]
    return {
        "funded": funded,
        "votes": score,
        "explanation": explain,
        "satisfaction": sat,
        "share_with_funded": (sum(1 for s in sat if s > 0) / len(sat)) if sat else 0.0,
        "spending_by_district": district,
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
