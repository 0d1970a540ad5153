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


def ledger_verify(texts: list[str], *, replay: bool = False, expected_count: int | None = None,
                  expected_head: str | None = None, pinned=()) -> dict:
    """Check a stored chain; the report as a dict (``ok``, ``index`` of the first bad entry, ...).

    ``replay`` recomputes every outcome (:data:`gosplan.democracy.rounds.REPLAYS`);
    ``expected_count`` / ``expected_head`` are the round's recorded head, ``pinned`` the
    heads published for it (``(entries, hash)``): a chain cut short or rewritten fails.
    """
    import dataclasses
    import json

    from gosplan.democracy import rounds
    from gosplan.democracy.ledger import verify

    entries = []
    for i, t in enumerate(texts):
        try:
            entries.append(json.loads(t))
        except json.JSONDecodeError as exc:
            return {"ok": False, "entries": len(texts), "index": i, "field": "parse",
                    "message": f"entry {i}: stored text is not JSON ({exc.msg})"}
    report = verify(entries, replay=rounds.REPLAYS if replay else None, expected_count=expected_count,
                    expected_head=expected_head, pinned=pinned)
    out = dataclasses.asdict(report)
    if report.ok and not report.replayed:
        out["message"] += "; no outcome was recomputed" + ("" if replay else " (replay off)")
    return out


def ledger_import(data: bytes) -> tuple[dict, list[str], dict]:
    """Parse and verify an export: ``(header, entry texts, report)``; the report says if it verifies."""
    import dataclasses

    from gosplan.democracy.ledger import (
        LedgerError,
        canonical_json,
        read_export,
        verify_export,
    )

    report = dataclasses.asdict(verify_export(data))
    if not report["ok"]:
        return {}, [], report
    try:
        header, entries = read_export(data)
    except LedgerError as exc:  # verify_export found it readable; keep the message if not
        return {}, [], {"ok": False, "message": str(exc)}
    return header, [canonical_json(e.to_dict()).decode("utf-8") for e in entries], report


# -- rounds (gosplan.democracy.rounds) ------------------------------------------------
# Proposals and ballots into outcomes, the rule registries and the replays live in the
# democracy package, usable without the server; the service reads them from there.
from gosplan.democracy.rounds import (  # noqa: E402,F401
    BALLOT_KINDS,
    BASKET_RULES,
    BUDGET_RULES,
    DEFAULT_ECONOMY,
    ELECTION_RULES,
    PLAN_RULES,
    RANKED_RULES,
    VOTING_RULES,
    aggregate,
    budget_outcome,
    default_objective,
    economy,
    elect,
    factor_ids,
    product_ids,
    product_names,
    recall,
    replay_plan,
    solve_plan,
)


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


