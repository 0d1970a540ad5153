"""Electing a council's delegates, and recalling them.

A council elects k delegates from candidates. Three rules, each documented with its source:

- `pav`: proportional approval voting (Thiele 1895): the committee maximising
  sum over voters of 1 + 1/2 + ... + 1/(approved members elected). Exact: by enumeration when
  there are few committees, else by a small integer programme solved with HiGHS.
- `seq_phragmen`: sequential Phragmén (Phragmén 1894): candidates are bought one at a time by
  their approvers' money, keeping the largest load any voter carries as small as possible.
- `stv`: single transferable vote on rankings, with the integer Droop quota
  floor(n / (k + 1)) + 1 and weighted inclusive Gregory transfers (Tideman 1995), the variant
  pref_voting implements as ``stv_wig(..., quota_rule="droop")``.

A delegate holds a `Mandate` from the members who elected them; members may petition to
recall it (`Mandate.petition`), and a petition signed by at least the council's threshold of
its members ends the mandate and calls a new election. All of this is pure: no database, no
server; the service records each step in its ledger.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import pandas as pd

from gosplan.errors import DuplicateIdError, SchemaError, UnknownIdError

__all__ = ["Committee", "pav", "seq_phragmen", "stv", "Mandate", "Recall", "mandates"]

_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class Committee:
    """Delegates elected by a rule.

    Attributes
    ----------
    rule
        ``"pav"``, ``"seq-phragmen"`` or ``"stv"``.
    seats
        How many were to be elected.
    elected
        The delegates, in the order the rule elected them (PAV: candidate order).
    candidates
        One row per candidate: ``votes`` (approvals or first preferences), ``elected``,
        ``round`` and an ``explanation`` in words.
    quota
        STV's quota; ``None`` for approval rules.
    score
        PAV's score of the committee; ``None`` otherwise.
    """

    rule: str
    seats: int
    elected: tuple[str, ...]
    candidates: pd.DataFrame
    quota: float | None = None
    score: float | None = None

    def to_dict(self) -> dict:
        """Plain JSON-ready values (for the service)."""
        rows = []
        for cand, row in self.candidates.iterrows():
            rows.append(
                {
                    "candidate": str(cand),
                    "votes": float(row["votes"]),
                    "elected": bool(row["elected"]),
                    "round": None if row["round"] is pd.NA else int(row["round"]),
                    "explanation": str(row["explanation"]),
                }
            )
        return {
            "rule": self.rule,
            "seats": self.seats,
            "elected": list(self.elected),
            "quota": self.quota,
            "score": self.score,
            "candidates": rows,
        }


# ------------------------------------------------------------------ inputs
def _candidates(candidates: Sequence[str]) -> list[str]:
    cands = [str(c) for c in candidates]
    seen = set()
    for c in cands:
        if c in seen:
            raise DuplicateIdError(f"candidate {c!r} is listed twice; list each candidate once")
        seen.add(c)
    return cands


def _seats(seats: int, m: int) -> int:
    if not isinstance(seats, (int, np.integer)) or seats < 1:
        raise SchemaError(f"seats must be a positive whole number, got {seats!r}")
    if seats > m:
        raise SchemaError(f"{seats} seats but only {m} candidates; add candidates or elect fewer delegates")
    return int(seats)


def _ballots(ballots, cands: list[str], ranked: bool) -> tuple[list[str], list[list[int]]]:
    pos = {c: i for i, c in enumerate(cands)}
    items = ballots.items() if isinstance(ballots, Mapping) else ((str(i), b) for i, b in enumerate(ballots))
    ids, out = [], []
    for voter, ballot in items:
        row = []
        seen = set()
        for c in ballot:
            c = str(c)
            if c not in pos:
                raise UnknownIdError(f"ballot of voter {voter!r} names {c!r}, who is not a candidate")
            if c in seen:
                what = "ranks" if ranked else "approves"
                raise SchemaError(f"ballot of voter {voter!r} {what} {c!r} twice; name each candidate once")
            seen.add(c)
            row.append(pos[c])
        ids.append(str(voter))
        out.append(row)
    return ids, out


def _approval_matrix(rows: list[list[int]], m: int) -> tuple[np.ndarray, np.ndarray]:
    """Groups of identical approval sets: (g x m) 0/1 matrix and group sizes."""
    a = np.zeros((len(rows), m), dtype=np.int8)
    for i, r in enumerate(rows):
        a[i, r] = 1
    if len(rows) == 0:
        return a, np.zeros(0)
    uniq, counts = np.unique(a, axis=0, return_counts=True)
    return uniq, counts.astype(np.float64)


def _table(cands: list[str], votes: np.ndarray, order: list[int], expl: list[str]) -> pd.DataFrame:
    rnd = np.zeros(len(cands), dtype=np.int64)
    rnd[order] = np.arange(1, len(order) + 1)
    t = pd.DataFrame({"votes": votes, "elected": rnd > 0}, index=pd.Index(cands, name="candidate"))
    t["round"] = pd.array(np.where(rnd > 0, rnd, 0), dtype="Int64")
    t.loc[rnd == 0, "round"] = pd.NA
    t["explanation"] = expl
    return t


def _fmt(x: float) -> str:
    return f"{int(round(x))}" if abs(x - round(x)) < 1e-9 else f"{x:.3f}"


# ------------------------------------------------------------------ PAV
def _harmonic(k: int) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, k + 1))])


def _pav_enumerate(a: np.ndarray, w: np.ndarray, k: int) -> tuple[tuple[int, ...], float]:
    m = a.shape[1]
    h = _harmonic(k)
    best, best_score = None, -np.inf
    combos = combinations(range(m), k)
    while True:
        batch = list(_take(combos, 1024))
        if not batch:
            break
        idx = np.asarray(batch, dtype=np.int64)
        counts = a[:, idx].sum(axis=2)  # (g, batch)
        scores = w @ h[counts]
        j = int(np.argmax(scores))
        # first committee (lexicographic) within tolerance of the batch maximum
        j = int(np.flatnonzero(scores >= scores[j] - _TOL * max(1.0, abs(scores[j])))[0])
        if scores[j] > best_score + _TOL * max(1.0, abs(best_score) if np.isfinite(best_score) else 1.0):
            best, best_score = tuple(int(x) for x in idx[j]), float(scores[j])
    return best, best_score


def _take(it, n):
    for _ in range(n):
        try:
            yield next(it)
        except StopIteration:
            return


def _pav_ilp(a: np.ndarray, w: np.ndarray, k: int) -> tuple[tuple[int, ...], float]:
    """PAV as a MIP: x_c binary (elected), y_vj in [0, 1] (voter group v has >= j members),
    sum_j y_vj <= sum_{c in A_v} x_c, sum_c x_c = k, maximise sum_v w_v sum_j y_vj / j.
    The decreasing weights 1/j make the LP fill y_v1, y_v2, ... in order; solved through
    the solver seam (:func:`gosplan.planning.solver.solve_lp`), its status checked."""
    g, m = a.shape
    lens = np.minimum(a.sum(axis=1), k).astype(np.int64)
    ny = int(lens.sum())
    ncol = m + ny
    cost = np.zeros(ncol)
    yv = np.repeat(np.arange(g), lens)
    yj = np.arange(ny) - np.repeat(np.cumsum(lens) - lens, lens) + 1
    cost[m:] = w[yv] / yj
    # rows: 0..g-1 coverage rows, g: committee size
    rows, cols, vals = [], [], []
    for v in range(g):
        approved = np.flatnonzero(a[v])
        rows += [v] * len(approved)
        cols += approved.tolist()
        vals += [-1.0] * len(approved)
    rows += yv.tolist()
    cols += (m + np.arange(ny)).tolist()
    vals += [1.0] * ny
    rows += [g] * m
    cols += list(range(m))
    vals += [1.0] * m
    from scipy import sparse

    from gosplan.planning.solver import LinearProgram, SolverOptions, SolverStatus, solve_lp

    lp = LinearProgram(
        c=cost,
        A=sparse.csc_array((vals, (rows, cols)), shape=(g + 1, ncol)),
        row_lower=np.concatenate([np.full(g, -np.inf), [k]]),
        row_upper=np.concatenate([np.zeros(g), [k]]),
        col_lower=np.zeros(ncol),
        col_upper=np.ones(ncol),
        sense="max",
        integrality=np.arange(ncol) < m,
    )
    res = solve_lp(lp, SolverOptions(extra=(("mip_rel_gap", 0.0),)))
    if res.status is not SolverStatus.OPTIMAL:
        raise SchemaError(f"PAV: the integer program of {m} candidates for {k} seats was not solved: "
                          f"{res.status.value} ({res.solver_status}); raise the time limit or use seq_phragmen")
    chosen = tuple(int(c) for c in np.flatnonzero(res.x[:m] > 0.5))
    if len(chosen) != k:
        raise SchemaError(f"PAV: the solver returned {len(chosen)} delegates for {k} seats ({res.solver_status})")
    counts = a[:, list(chosen)].sum(axis=1)
    return chosen, float(w @ _harmonic(k)[counts])


def pav(
    candidates: Sequence[str],
    ballots: Mapping[str, Iterable[str]] | Iterable[Iterable[str]],
    seats: int,
    method: str = "auto",
) -> Committee:
    """Proportional approval voting: the committee W of ``seats`` candidates maximising

        PAV(W) = sum over voters v of H(|A_v ∩ W|),  H(j) = 1 + 1/2 + ... + 1/j,

    where A_v is the set v approves. Source: Thiele (1895); Aziz, Brill, Conitzer, Elkind,
    Freeman, Walsh, "Justified Representation in Approval-Based Committee Voting", Social
    Choice and Welfare 48 (2017); Lackner and Skowron, "Multi-Winner Voting with Approval
    Preferences" (Springer 2023), section 2.

    Parameters
    ----------
    candidates
        Candidate ids, in the order used to break ties.
    ballots
        ``{voter: approved candidates}`` or a list of approved-candidate lists.
    seats
        k, the number of delegates.
    method
        ``"enumerate"`` (every committee, in lexicographic order of candidate positions; the
        first best one wins, so ties go to earlier candidates), ``"ilp"`` (HiGHS; among several
        optimal committees, which one is returned is the solver's choice) or ``"auto"``:
        enumerate when there are at most 200,000 committees.
    """
    cands = _candidates(candidates)
    k = _seats(seats, len(cands))
    _, rows = _ballots(ballots, cands, ranked=False)
    a, w = _approval_matrix(rows, len(cands))
    if method not in ("auto", "enumerate", "ilp"):
        raise SchemaError(f"pav: method={method!r}; use 'auto', 'enumerate' or 'ilp'")
    if method == "auto":
        method = "enumerate" if math.comb(len(cands), k) <= 200_000 else "ilp"
    if len(w) == 0:
        chosen, score = tuple(range(k)), 0.0
    elif method == "enumerate":
        chosen, score = _pav_enumerate(a, w, k)
    else:
        chosen, score = _pav_ilp(a, w, k)
    votes = w @ a if len(w) else np.zeros(len(cands))
    counts = a[:, list(chosen)].sum(axis=1) if len(w) else np.zeros(0, dtype=np.int64)
    # what the committee would lose without a member (its marginal PAV contribution), and
    # what a non-member would add; at an optimum no addition exceeds the least contribution
    # (swapping them would otherwise raise the score, PAV being submodular)
    def marginal(c: int) -> float:
        if not len(w):
            return 0.0
        on = a[:, c] == 1
        if c in chosen:
            return float(w[on] @ (1.0 / np.maximum(counts[on], 1)))
        return float(w[on] @ (1.0 / (counts[on] + 1)))

    least = min((marginal(c) for c in chosen), default=0.0)
    expl = []
    for c in range(len(cands)):
        if c in chosen:
            expl.append(f"elected: approved by {_fmt(votes[c])}; adds {marginal(c):.3f} to the committee's PAV score {score:.3f}")
        else:
            expl.append(
                f"not elected: approved by {_fmt(votes[c])}; would add {marginal(c):.3f}, "
                f"no more than the least a member adds ({least:.3f})"
            )
    return Committee("pav", k, tuple(cands[c] for c in chosen), _table(cands, votes, list(chosen), expl), score=score)


# ------------------------------------------------------------------ seq-Phragmén
def seq_phragmen(
    candidates: Sequence[str],
    ballots: Mapping[str, Iterable[str]] | Iterable[Iterable[str]],
    seats: int,
) -> Committee:
    """Sequential Phragmén: elect, one at a time, the candidate whose approvers can pay for
    a seat (cost 1) with the smallest resulting load,

        load(c) = (1 + sum_{v approves c} load_v) / |{v approves c}|,

    and set every approver's load to it. Ties go to the earlier candidate. If fewer
    candidates have approvals than seats, the rest are filled in candidate order.

    Source: Phragmén (1894); Brill, Freeman, Janson, Lackner, "Phragmén's Voting Methods and
    Justified Representation", AAAI 2017; abcvoting's ``seqphragmen``.
    """
    cands = _candidates(candidates)
    k = _seats(seats, len(cands))
    _, rows = _ballots(ballots, cands, ranked=False)
    a, w = _approval_matrix(rows, len(cands))
    af = a.astype(np.float64)
    m = len(cands)
    votes = w @ af if len(w) else np.zeros(m)
    load = np.zeros(len(w))
    elected: list[int] = []
    loads = np.full(m, np.nan)
    for _ in range(k):
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(votes > 0, (1.0 + (load * w) @ af) / votes, np.inf)
        new[elected] = np.inf
        best = new.min()
        if not np.isfinite(best):
            rest = [c for c in range(m) if c not in elected]
            elected += rest[: k - len(elected)]
            break
        c = int(np.flatnonzero(new <= best * (1 + _TOL))[0])
        load[a[:, c] == 1] = best
        loads[c] = best
        elected.append(c)
    expl = []
    for c in range(m):
        if c in elected and np.isfinite(loads[c]):
            expl.append(
                f"elected in round {elected.index(c) + 1}: its {_fmt(votes[c])} approvers each carried a load of {loads[c]:.4f} seats"
            )
        elif c in elected:
            expl.append("elected to fill a seat nobody else's approvers could take")
        else:
            expl.append(f"not elected: approved by {_fmt(votes[c])}; other candidates could be paid for with smaller loads")
    return Committee("seq-phragmen", k, tuple(cands[c] for c in elected), _table(cands, votes, elected, expl))


# ------------------------------------------------------------------ STV
def stv(
    candidates: Sequence[str],
    rankings: Mapping[str, Sequence[str]] | Iterable[Sequence[str]],
    seats: int,
) -> Committee:
    """Single transferable vote with the integer Droop quota and weighted inclusive Gregory
    transfers.

    Quota q = floor(n / (k + 1)) + 1 for n ballots and k seats. Each ballot counts for its
    highest-ranked continuing candidate. Every continuing candidate with at least q votes is
    elected (most votes first, then candidate order, up to the seats left); the surplus of
    each one elected in that stage is transferred: every ballot in the pile passes on the
    fraction (votes - q) / votes of its current value to its next continuing preference
    (a ballot with none left exhausts that part). When nobody reaches the quota, the
    candidate with fewest votes is eliminated (ties: the later candidate) and their ballots
    pass on at full current value. When no more candidates continue than seats remain, they
    are all elected.

    Source: Tideman, "The Single Transferable Vote", J. Econ. Perspectives 9 (1995); the
    variant is pref_voting's ``stv_wig(..., quota_rule="droop")`` (Holliday and Pacuit),
    against which gosplan is tested.
    """
    cands = _candidates(candidates)
    k = _seats(seats, len(cands))
    _, rows = _ballots(rankings, cands, ranked=True)
    m, n = len(cands), len(rows)
    quota = math.floor(n / (k + 1)) + 1
    first = np.zeros(m)
    for r in rows:
        if r:
            first[r[0]] += 1
    weight = np.ones(n)
    pos = np.zeros(n, dtype=np.int64)  # index into the ranking of the current candidate
    continuing = np.ones(m, dtype=bool)
    elected: list[int] = []
    eliminated: list[int] = []
    note: dict[int, str] = {}

    def advance(v: int) -> None:
        r = rows[v]
        p = pos[v] + 1
        while p < len(r) and not continuing[r[p]]:
            p += 1
        pos[v] = p
        if p >= len(r):
            weight[v] = 0.0

    for v in range(n):
        if not rows[v]:
            weight[v] = 0.0
            pos[v] = 0

    def current() -> np.ndarray:
        cur = np.full(n, -1, dtype=np.int64)
        for v in range(n):
            if weight[v] > 0 and pos[v] < len(rows[v]):
                cur[v] = rows[v][pos[v]]
        return cur

    def fill_remaining() -> bool:
        """Elect every continuing candidate once they are no more than the seats left."""
        if continuing.sum() > k - len(elected):
            return False
        rest = [int(c) for c in np.flatnonzero(continuing)]
        for c in rest:
            note[c] = "elected: as many candidates continued as seats remained"
            continuing[c] = False
        elected.extend(rest)
        return True

    stage = 0
    while len(elected) < k:
        stage += 1
        cur = current()
        live = cur >= 0
        tally = np.bincount(cur[live], weights=weight[live], minlength=m)
        now = [c for c in np.flatnonzero(continuing) if tally[c] >= quota - 1e-12]
        if now:
            now.sort(key=lambda c: (-tally[c], c))
            now = now[: k - len(elected)]
            for c in now:
                continuing[c] = False
                elected.append(int(c))
                note[int(c)] = f"elected at stage {stage} with {tally[c]:.3f} votes (quota {quota})"
            if len(elected) >= k:
                break
            for c in now:
                surplus = tally[c] - quota
                if surplus <= 1e-12:
                    continue
                frac = min(1.0, surplus / tally[c])
                for v in np.flatnonzero(cur == c):
                    weight[v] *= frac
                    advance(int(v))
            if fill_remaining():
                break
            continue
        if fill_remaining():
            break
        cont = np.flatnonzero(continuing)
        low = tally[cont].min()
        tied = cont[np.abs(tally[cont] - low) <= 1e-12]
        e = int(tied.max())
        continuing[e] = False
        eliminated.append(e)
        note[e] = f"eliminated at stage {stage} with the fewest votes ({tally[e]:.3f})"
        for v in np.flatnonzero(cur == e):
            advance(int(v))
    elected = elected[:k]
    expl = [note.get(c, "not elected: still continuing when the seats were filled") for c in range(m)]
    t = _table(cands, first, elected, expl)
    return Committee("stv", k, tuple(cands[c] for c in elected), t, quota=float(quota))


# ------------------------------------------------------------------ recall
@dataclass(frozen=True)
class Mandate:
    """A delegate's mandate from a council's members, revocable by them.

    Attributes
    ----------
    delegate
        Who holds it.
    council
        The council that elected them.
    members
        Who may sign a recall petition (the council's members when the delegate was elected).
    recall_threshold
        Share of members whose signatures end the mandate, in (0, 1]; e.g. 0.5.
    active
        False once recalled.
    """

    delegate: str
    council: str
    members: frozenset[str]
    recall_threshold: float = 0.5
    active: bool = True
    ended_by: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", frozenset(str(m) for m in self.members))
        if not 0 < self.recall_threshold <= 1:
            raise SchemaError(
                f"council {self.council!r}: recall threshold {self.recall_threshold} must be a share of members in (0, 1]"
            )
        if not self.members:
            raise SchemaError(f"council {self.council!r}: a mandate needs the members who can recall it")

    @property
    def signatures_needed(self) -> int:
        """ceil(threshold x members), at least 1."""
        return max(1, math.ceil(self.recall_threshold * len(self.members) - 1e-9))

    def petition(self, signers: Iterable[str]) -> "Recall":
        """Count a recall petition; if it reaches the threshold the mandate ends.

        Each member counts once however often they sign. A signer who is not a member of the
        council is refused with `UnknownIdError` (nothing is counted), as is a petition
        against a mandate that already ended.
        """
        if not self.active:
            raise SchemaError(f"the mandate of {self.delegate!r} in council {self.council!r} has already ended ({self.ended_by})")
        signed = frozenset(str(s) for s in signers)
        strangers = sorted(signed - self.members)
        if strangers:
            raise UnknownIdError(
                f"recall petition against {self.delegate!r}: {', '.join(map(repr, strangers))} "
                f"not a member of council {self.council!r}; only its members may sign"
            )
        reached = len(signed) >= self.signatures_needed
        after = replace(self, active=False, ended_by="recall") if reached else self
        return Recall(mandate=after, signers=signed, needed=self.signatures_needed, reached=reached)


@dataclass(frozen=True)
class Recall:
    """A counted recall petition. ``reached`` ends the mandate and calls a new election."""

    mandate: Mandate
    signers: frozenset[str]
    needed: int
    reached: bool

    @property
    def new_election(self) -> bool:
        """A seat is vacant: the council must elect again."""
        return self.reached

    def explanation(self) -> str:
        m = self.mandate
        head = f"{len(self.signers)} of {len(m.members)} members signed; {self.needed} needed"
        if self.reached:
            return f"{head}: the mandate of {m.delegate!r} ends; council {m.council!r} elects again"
        return f"{head}: the mandate of {m.delegate!r} continues"


def mandates(committee: Committee, council: str, members: Iterable[str], recall_threshold: float = 0.5) -> tuple[Mandate, ...]:
    """The mandates a committee election gives its delegates."""
    mem = frozenset(str(x) for x in members)
    return tuple(Mandate(d, council, mem, recall_threshold) for d in committee.elected)
