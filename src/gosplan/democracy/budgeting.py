"""Budget rules: which candidate projects a participatory-budgeting round funds, and why.

Three rules, each a pure function of an `Election` returning an `Outcome`:

- `greedy`: fund projects in order of votes (approval) or points (cumulative), skipping any
  that no longer fits; the rule most cities use.
- `equal_shares`: the Method of Equal Shares (Peters and Skowron 2020; Peters, Pierczyński and
  Skowron, NeurIPS 2021) with cost satisfaction, completed by "add1" as the cities that use it
  do (every voter's share raised one currency unit at a time), optionally followed by the
  "comparison step" of the equalshares.net compute tool (the outcome is weighed against the
  greedy one by the voters who prefer each); by default the completion is the one the
  election's META ``rule`` names (``equalshares/add1-comparison`` and so on).
- `phragmen`: sequential Phragmén for budgets (Brill, Freeman, Janson, Lackner, AAAI 2017;
  Los, Christoff and Grossi, 2022).

Each outcome explains every project in words a council delegate can read (who paid how much,
how far the support fell short) and reports the share of voters with a funded project and the
spending per district and category. Ties are broken as pabutools does: by project id, in
string order, so results agree with the field's reference library.

Inside, ballots are a project-major CSR (supporters of each project) over *groups* of voters
with identical ballots, weighted by group size: identical voters always hold identical
budgets and loads, so grouping changes no result and makes small elections much cheaper.
Arithmetic is floating point; quantities the exact rational rule would call equal are taken
as equal within a relative tolerance of 1e-9 (ties, "exactly affordable").

Speed: the add1 completion reruns Equal Shares once per step, often hundreds of times. A run
is lazy (only projects whose lower bound on the price is least are recomputed, each in
O(supporters) by a fixed point rather than a sort), consecutive steps run side by side in
one batch, and the stepping ends early only where the outcome provably cannot change any
more (see `_mes_add1`). Every step is otherwise computed: no step is skipped on a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import numpy as np
import pandas as pd

from gosplan.democracy.pabulib import Election
from gosplan.errors import SchemaError

__all__ = [
    "Rule",
    "Satisfaction",
    "Completion",
    "Add1Stop",
    "Comparison",
    "Outcome",
    "allocate",
    "voter_satisfaction",
    "greedy",
    "equal_shares",
    "phragmen",
]

_TOL = 1e-9


class Rule(StrEnum):
    """The budget rules gosplan implements."""

    EQUAL_SHARES = "equal-shares"
    GREEDY = "greedy"
    PHRAGMEN = "phragmen"


class Satisfaction(StrEnum):
    """How Equal Shares measures what a voter gets from a funded project."""

    COST = "cost"  # the project's cost: the standard for city budgets ("cost utility")
    CARDINALITY = "cardinality"  # 1 per funded approved project


class Completion(StrEnum):
    """What follows the plain Method of Equal Shares; the names are Pabulib's META ``rule``
    values without the ``equalshares`` prefix (``equalshares/add1-comparison`` is
    ``ADD1_COMPARISON``)."""

    NONE = "none"  # the plain method ("equalshares")
    ADD1 = "add1"  # "equalshares/add1"
    COMPARISON = "comparison"  # plain method, then the comparison step ("equalshares-comparison")
    ADD1_COMPARISON = "add1-comparison"  # "equalshares/add1-comparison"

    @property
    def add1(self) -> bool:
        return self in (Completion.ADD1, Completion.ADD1_COMPARISON)

    @property
    def comparison(self) -> bool:
        return self in (Completion.COMPARISON, Completion.ADD1_COMPARISON)

    @classmethod
    def from_rule(cls, rule: str | None) -> Completion:
        """The completion a Pabulib META ``rule`` names; ``ADD1`` for any other rule (a greedy
        election run by Equal Shares gets the completion the method's authors recommend)."""
        key = (rule or "").strip().lower()
        return {
            "equalshares": cls.NONE,
            "equalshares-comparison": cls.COMPARISON,
            "equalshares/add1": cls.ADD1,
            "equalshares/add1-comparison": cls.ADD1_COMPARISON,
        }.get(key, cls.ADD1)


class Add1Stop(StrEnum):
    """Where the add1 completion stops raising every voter's share.

    Both stop before the first share whose outcome would cost more than the budget; they
    differ on an outcome that is already exhaustive (no unfunded project fits in the money
    left) but not yet the last one within the budget.
    """

    # stop at the first exhaustive outcome: pabutools' exhaustion_by_budget_increase; the
    # compute tool with its "exhaustive" option (its default), except where every project
    # fits in the budget together: the tool then raises no share, this stop raises shares
    # until every project somebody voted for is funded (as pabutools)
    FIRST_EXHAUSTIVE = "first-exhaustive"
    # keep raising while the outcome stays within the budget: the compute tool without its
    # "exhaustive" option, and Pabulib's checker for files decided with a comparison step
    LAST_WITHIN_BUDGET = "last-within-budget"


@dataclass(frozen=True)
class Comparison:
    """The comparison step: the Equal Shares outcome against the greedy one (by votes).

    A voter prefers the outcome that funds more of the projects on their ballot; the greedy
    outcome replaces Equal Shares' only if strictly more voters prefer it. A voter none of
    whose projects an outcome funds counts 0 for it, as in the Python code equalshares.net
    gives for the rule and in Pabulib's checker; the compute tool's JavaScript leaves that
    count undefined, so there such a voter prefers neither outcome (this can change the
    outcome: ``benchmarks/check_compute_tool.py``).
    """

    prefer_equal_shares: float
    prefer_greedy: float
    equal_shares_funded: tuple[str, ...]
    greedy_funded: tuple[str, ...]

    @property
    def kept(self) -> str:
        """``"equal-shares"`` or ``"greedy"``: which outcome the step kept."""
        return "greedy" if self.prefer_greedy > self.prefer_equal_shares else "equal-shares"


@dataclass(frozen=True, eq=False)
class Outcome:
    """The result of a budget rule on an election.

    Attributes
    ----------
    rule
        The rule that produced it.
    budget
        The election's budget.
    funded
        Ids of funded projects, in the order the rule chose them.
    total_cost
        Sum of their costs.
    projects
        One row per project (election order): ``cost``, ``voters`` (ballots naming it),
        ``points``, ``funded``, ``order`` (1 for the first funded, ...), rule-specific
        columns, and ``explanation``: a sentence on why it was or was not funded.
    satisfied_share
        Share of voters with at least one funded project on their ballot.
    spending
        Funded cost per district / region / category column of the projects (a project listing
        several categories, comma separated, has its cost split equally among them).
    per_voter_budget
        Equal Shares: each voter's share in the run whose outcome was kept.
    add1_steps
        Equal Shares with add1: how many raises of the share were made.
    add1_increment
        Equal Shares with add1: the raise per step (one currency unit by default).
    completion
        Equal Shares: the completion used (chosen from META ``rule`` unless given).
    add1_stop
        Equal Shares with add1: where the raising stopped (`Add1Stop`).
    comparison
        Equal Shares with a comparison step: the voters preferring each outcome.
    """

    rule: Rule
    budget: float
    funded: tuple[str, ...]
    total_cost: float
    projects: pd.DataFrame
    satisfied_share: float
    spending: Mapping[str, pd.Series] = field(default_factory=dict)
    per_voter_budget: float | None = None
    add1_steps: int | None = None
    add1_increment: float | None = None
    currency: str = ""
    completion: Completion | None = None
    add1_stop: Add1Stop | None = None
    comparison: Comparison | None = None

    @property
    def unspent(self) -> float:
        return self.budget - self.total_cost

    def to_dict(self) -> dict:
        """Plain JSON-ready values (for the service and its charts)."""

        def plain(x):
            if isinstance(x, (np.integer,)):
                return int(x)
            if isinstance(x, (np.floating, float)):
                return None if np.isnan(x) else float(x)
            if isinstance(x, (np.bool_,)):
                return bool(x)
            if x is pd.NA or x is None:
                return None
            return x

        rows = []
        for pid, row in self.projects.iterrows():
            rows.append({"project_id": str(pid), **{k: plain(v) for k, v in row.items()}})
        return {
            "rule": self.rule.value,
            "budget": float(self.budget),
            "currency": self.currency,
            "funded": list(self.funded),
            "total_cost": float(self.total_cost),
            "unspent": float(self.unspent),
            "satisfied_share": float(self.satisfied_share),
            "per_voter_budget": None if self.per_voter_budget is None else float(self.per_voter_budget),
            "add1_steps": self.add1_steps,
            "completion": None if self.completion is None else self.completion.value,
            "add1_stop": None if self.add1_stop is None else self.add1_stop.value,
            "comparison": None if self.comparison is None else {
                "prefer_equal_shares": float(self.comparison.prefer_equal_shares),
                "prefer_greedy": float(self.comparison.prefer_greedy),
                "kept": self.comparison.kept,
                "equal_shares_funded": list(self.comparison.equal_shares_funded),
                "greedy_funded": list(self.comparison.greedy_funded),
            },
            "spending": {col: {str(k): float(v) for k, v in ser.items()} for col, ser in self.spending.items()},
            "projects": rows,
        }

    def summary(self) -> list[str]:
        """A few lines a council can read out: rule, spending, satisfaction."""
        cur = f" {self.currency}" if self.currency else ""
        lines = [
            f"rule: {self.rule.value}",
            f"funded {len(self.funded)} of {len(self.projects)} projects for {_money(self.total_cost)}{cur} "
            f"of {_money(self.budget)}{cur} ({_money(self.unspent)}{cur} unspent)",
            f"{self.satisfied_share:.1%} of voters have at least one funded project",
        ]
        if self.per_voter_budget is not None:
            if self.add1_steps is not None:
                inc = self.add1_increment or 1.0
                initial = self.per_voter_budget - self.add1_steps * inc
                lines.append(
                    f"each voter's share: {_money(initial)}{cur} raised {self.add1_steps} times by {_money(inc)} to "
                    f"{_money(self.per_voter_budget)}{cur} (add1 completion"
                    + (f", stop: {self.add1_stop.value})" if self.add1_stop is not None else ")")
                )
            else:
                lines.append(f"each voter's share: {_money(self.per_voter_budget)}{cur}")
        if self.comparison is not None:
            c = self.comparison
            lines.append(
                f"comparison step: {_people(c.prefer_equal_shares)} voters prefer the Equal Shares outcome, "
                f"{_people(c.prefer_greedy)} the greedy one; kept the {c.kept} outcome"
            )
        for col, s in self.spending.items():
            parts = ", ".join(f"{k}: {_money(v)}" for k, v in s.items())
            lines.append(f"spending by {col}: {parts}")
        return lines


# ------------------------------------------------------------------ the profile
@dataclass(frozen=True)
class _Profile:
    """Plain arrays a rule needs: project-major CSR over groups of identical ballots."""

    costs: np.ndarray  # (m,)
    budget: float
    n_voters: int
    group_weight: np.ndarray  # (g,) voters per group
    sup_ptr: np.ndarray  # (m+1,)
    sup_group: np.ndarray  # (nnz,) group index of each supporter entry
    sup_points: np.ndarray  # (nnz,) points (1 for approval) per unit of weight
    weight_sum: np.ndarray  # (m,) voters naming each project
    tie_rank: np.ndarray  # (m,) rank of project id in string order: smaller wins ties
    group_of_voter: np.ndarray  # (n,)


def _profile(e: Election) -> _Profile:
    n, m = e.n_voters, e.n_projects
    lengths = e.ballot_lengths
    maxlen = int(lengths.max()) if n else 0
    group_of_voter = np.arange(n, dtype=np.int64)
    offsets, choices = e.offsets, e.choices.astype(np.int64)
    points = e.points.astype(np.float64) if e.points is not None else np.ones(len(choices))
    if n and maxlen and n * maxlen <= 5_000_000:
        # Identical ballots (same projects, same points) collapse into one weighted group.
        rows = e.entry_voters
        order = np.lexsort((choices, rows))
        col = np.arange(len(choices)) - np.repeat(offsets[:-1], lengths)
        pad = np.full((n, 2 * maxlen), -1.0)
        pad[rows[order], col] = choices[order]
        pad[rows[order], maxlen + col] = points[order]
        _, first, inverse = np.unique(pad, axis=0, return_index=True, return_inverse=True)
        group_of_voter = inverse.reshape(-1).astype(np.int64)
        keep = first
    else:
        keep = np.arange(n)
    g = len(keep)
    weight = np.bincount(group_of_voter, minlength=g).astype(np.float64)
    # entries of the representative ballot of each group
    rep_len = lengths[keep]
    rep_rows = np.repeat(np.arange(g), rep_len)
    # positions of the representative ballots' entries, group by group
    starts = offsets[keep]
    idx = np.repeat(starts - (np.cumsum(rep_len) - rep_len), rep_len) + np.arange(int(rep_len.sum()))
    ent_proj = choices[idx]
    ent_pts = points[idx]
    order = np.lexsort((rep_rows, ent_proj))
    sup_group = rep_rows[order]
    sup_points = ent_pts[order]
    counts = np.bincount(ent_proj, minlength=m)
    sup_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    weight_sum = np.bincount(ent_proj, weights=weight[rep_rows], minlength=m)
    ids = [str(p) for p in e.project_ids]
    tie_rank = np.empty(m, dtype=np.int64)
    tie_rank[np.argsort(np.array(ids, dtype=object), kind="stable")] = np.arange(m)
    return _Profile(
        costs=e.costs,
        budget=e.budget,
        n_voters=n,
        group_weight=weight,
        sup_ptr=sup_ptr,
        sup_group=sup_group.astype(np.int64),
        sup_points=sup_points,
        weight_sum=weight_sum,
        tie_rank=tie_rank,
        group_of_voter=group_of_voter,
    )


# ------------------------------------------------------------------ greedy
def _greedy(pr: _Profile, score: np.ndarray) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Order by score (desc), then id; fund each project that still fits.

    Returns funded positions in order, the rank of every project and the money left
    just before each project was considered.
    """
    m = len(pr.costs)
    order = np.lexsort((pr.tie_rank, -score))
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(1, m + 1)
    left = pr.budget
    left_before = np.empty(m)
    funded = []
    for p in order:
        left_before[p] = left
        if pr.costs[p] <= left + _TOL * max(pr.budget, 1.0):
            funded.append(int(p))
            left -= pr.costs[p]
    return funded, rank, left_before


# ------------------------------------------------------------------ equal shares
@dataclass
class _MESRun:
    funded: list[int]
    price: np.ndarray  # (m,) payment cap per supporter of each funded project (nan if not funded)
    full_payers: np.ndarray  # (m,) supporters paying the full cap
    short_payers: np.ndarray  # (m,) supporters paying less (all they had left)
    short_paid: np.ndarray  # (m,) what the short payers paid together
    unaffordable_after: np.ndarray  # (m,) projects funded when it became unaffordable (-1: from the start)
    money_then: np.ndarray  # (m,) its supporters' money when it became unaffordable
    money_end: np.ndarray  # (m,) its supporters' money at the end of the run
    budgets: np.ndarray  # group budgets at the end


@dataclass(frozen=True)
class _MESContext:
    """What every run of Equal Shares on one election shares: per-project supporter slices."""

    groups: list  # group indices of each project's supporters
    weights: list  # their weights
    neighbours: np.ndarray  # (m, m) projects sharing a supporter group
    incidence: object  # (m, g) scipy.sparse 0/1: which groups support which project


def _mes_context(pr: _Profile) -> _MESContext:
    from scipy import sparse

    m = len(pr.costs)
    ptr, grp = pr.sup_ptr, pr.sup_group
    groups = [grp[ptr[p] : ptr[p + 1]] for p in range(m)]
    weights = [pr.group_weight[g] for g in groups]
    cols = np.repeat(np.arange(m), np.diff(ptr))
    a = sparse.csr_array((np.ones(len(cols)), (grp, cols)), shape=(len(pr.group_weight), m))
    neighbours = ((a.T @ a).toarray() > 0) | np.eye(m, dtype=bool)
    return _MESContext(groups, weights, neighbours, a.T.tocsr())


def _caps(bm: np.ndarray, w: np.ndarray, total_w: float, cost: float) -> np.ndarray:
    """Row by row, the least alpha with sum_i w_i min(b_i, alpha) = cost (each row affordable).

    Fixed-point iteration (the "poor/rich" split): start with everybody paying an equal
    part, alpha = cost / W; supporters holding less than alpha pay all they have, the others
    share the rest equally; repeat until nobody new runs short. alpha and the poor set only
    grow, so this ends; each pass is O(supporters), usually two or three passes, against
    O(s log s) for sorting. After 16 passes the remaining rows are finished by sorting.
    Sums run along contiguous rows, so a row gets the same result in any batch.
    """
    rows = bm.shape[0]
    a = np.full(rows, cost / total_w)
    poor = bm < a[:, None]
    if not poor.any():
        return a
    wpoor = poor * w
    paid = (bm * wpoor).sum(axis=1)
    wp = wpoor.sum(axis=1)
    for _ in range(16):
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(total_w - wp > 0, (cost - paid) / (total_w - wp), a)
        new = (bm < a[:, None]) & ~poor
        if not new.any():
            return a
        wnew = new * w
        paid = paid + (bm * wnew).sum(axis=1)
        wp = wp + wnew.sum(axis=1)
        poor |= new
        unsettled = new.any(axis=1)
    # rows still moving after 16 passes are finished by sorting (converged rows keep theirs)
    rows_left = np.flatnonzero(unsettled)
    bl = bm[rows_left]
    o = np.argsort(bl, axis=1, kind="stable")
    bo = np.take_along_axis(bl, o, axis=1)
    wo = w[o]
    cb = np.cumsum(bo * wo, axis=1)
    cw = np.cumsum(wo, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ak = (cost - (cb - bo * wo)) / (total_w - (cw - wo))
    ok = ak <= bo * (1 + _TOL) + _TOL * (cost / total_w)
    a = a.copy()
    a[rows_left] = np.take_along_axis(ak, np.argmax(ok, axis=1)[:, None], axis=1)[:, 0]
    return a


def _mes_runs(
    pr: _Profile, ctx: _MESContext, shares: np.ndarray, utility: np.ndarray, trace: bool = False
) -> list[_MESRun]:
    """Runs of the Method of Equal Shares, one per entry of ``shares`` (each voter's money),
    computed side by side so that the per-round work is shared by all of them.

    For a project p costing c with supporters i (utility u_p per supporter, the same for all
    of them under cost or cardinality satisfaction), the payment cap alpha_p is the least
    alpha with sum_i w_i min(b_i, alpha) >= c: supporters pay equally, those who cannot
    afford their part pay all they have. Each round funds the project of least price per
    unit of satisfaction, rho_p = alpha_p / u_p (ties: smallest id), and a run stops when no
    project is affordable (sum_i w_i b_i < c for every remaining one).

    Budgets only fall, so a price computed earlier is a lower bound of the current one: a
    round recomputes only the projects whose bound is the least (lazy evaluation, as in
    pabutools), and only projects sharing a supporter with the last funded one go stale.
    With ``trace`` (one run only), every project's affordability is checked after every
    round, to say when it became unaffordable, and payments are recorded.
    """
    shares = np.asarray(shares, dtype=np.float64)
    K = len(shares)
    if trace and K != 1:
        raise ValueError("trace needs a single run")
    m = len(pr.costs)
    c = pr.costs
    W = pr.weight_sum
    g = len(pr.group_weight)
    groups, weights, neighbours = ctx.groups, ctx.weights, ctx.neighbours
    # budgets: one row per voter group, one column per run (lane), so that gathering a
    # project's supporters reads each group's lanes from one cache line
    b = np.tile(shares, (g, 1))
    base = (W > 0) & (c > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lb = np.tile(np.where(base, c / (W * utility), np.inf), (K, 1))
        alpha = np.tile(np.where(base, c / W, np.nan), (K, 1))
    alive = np.tile(base, (K, 1))
    # c / W is the exact cap only where every supporter can pay an equal part of it
    fresh = alive & (alpha <= shares[:, None])
    zero = [int(p) for p in np.flatnonzero((W > 0) & (c == 0))]
    funded = [list(zero) for _ in range(K)]
    tie_rank = pr.tie_rank
    lanes = np.arange(K)
    if trace:
        price = np.full(m, np.nan)
        full_payers = np.zeros(m)
        short_payers = np.zeros(m)
        short_paid = np.zeros(m)
        unaff = np.full(m, -1, dtype=np.int64)
        money_then = np.full(m, np.nan)
        start = np.flatnonzero(base & (W * shares[0] < c * (1 - _TOL)))
        alive[0, start] = False
        lb[0, start] = np.inf
        unaff[start] = -1
        money_then[start] = W[start] * shares[0]

    def gather(ls: np.ndarray, p: int) -> np.ndarray:
        # lanes x supporters, rows contiguous: every later sum runs along a row, the same
        # way whichever lanes are gathered together, so a run never depends on its batch
        rows = b[groups[p]]
        if len(ls) != K:
            rows = rows[:, ls]
        return np.ascontiguousarray(rows.T)

    def money(ls: np.ndarray, p: int) -> np.ndarray:
        return (gather(ls, p) * weights[p]).sum(axis=1)

    def recompute(p: int, ls: np.ndarray) -> None:
        bm = gather(ls, p)
        avail = (bm * weights[p]).sum(axis=1)
        short = avail < c[p] * (1 - _TOL)
        if short.any():
            gone = ls[short]
            alive[gone, p] = False
            lb[gone, p] = np.inf
            if trace:
                unaff[p] = len(funded[0])
                money_then[p] = avail[0]
        ok = ~short
        if ok.any():
            keep = ls[ok]
            a = _caps(bm[ok], weights[p], W[p], c[p])
            alpha[keep, p] = a
            lb[keep, p] = a / utility[p]
            fresh[keep, p] = True

    def fund(p: int, ls: np.ndarray) -> None:
        cols = groups[p]
        bm = gather(ls, p)
        a = alpha[ls, p][:, None]
        short = bm < a * (1 - _TOL)
        if trace:
            w = weights[p]
            price[p] = a[0, 0]
            full_payers[p] = w[~short[0]].sum()
            short_payers[p] = w[short[0]].sum()
            short_paid[p] = float(bm[0, short[0]] @ w[short[0]])
        after = np.maximum(bm - a, 0.0)
        after[short] = 0.0
        if len(ls) == K:
            b[cols] = after.T
        else:
            b[np.ix_(cols, ls)] = after.T
        for lane in ls:
            funded[lane].append(p)
        alive[ls, p] = False
        lb[ls, p] = np.inf
        fresh[ls] &= ~neighbours[p]
        if trace:
            # one sparse product finds the candidates; the run's own sum decides, so the
            # trace takes exactly the decisions the fast runs take
            rough = ctx.incidence @ (b[:, 0] * pr.group_weight)
            near = alive[0] & neighbours[p] & (rough < c * (1 - _TOL) + 1e-6 * c)
            for q in np.flatnonzero(near):
                avail = float(money(ls, int(q))[0])
                if avail < c[q] * (1 - _TOL):
                    alive[0, q] = False
                    lb[0, q] = np.inf
                    unaff[q] = len(funded[0])
                    money_then[q] = avail

    def by_project(ps: np.ndarray, ls: np.ndarray, op) -> None:
        if len(ps) == 0:
            return
        order = np.argsort(ps, kind="stable")
        ps, ls = ps[order], ls[order]
        cuts = np.flatnonzero(np.diff(ps)) + 1
        for chunk_p, chunk_l in zip(np.split(ps, cuts), np.split(ls, cuts)):
            op(int(chunk_p[0]), chunk_l)

    while True:
        pstar = lb.argmin(axis=1)
        best = lb[lanes, pstar]
        live = np.isfinite(best)
        if not live.any():
            break
        need = live & ~fresh[lanes, pstar]
        ready = lanes[live & ~need]
        todo_p = [pstar[need]]
        todo_l = [lanes[need]]
        if len(ready):
            tied = lb[ready] <= (best[ready] * (1 + _TOL))[:, None]
            stale = tied & ~fresh[ready]
            has_stale = stale.any(axis=1)
            rr, pp = np.nonzero(stale)
            todo_p.append(pp)
            todo_l.append(ready[rr])
            go = ~has_stale
            if go.any():
                win = np.where(tied[go], tie_rank[None, :], m + 1).argmin(axis=1)
                by_project(win, ready[go], fund)
        by_project(np.concatenate(todo_p), np.concatenate(todo_l), recompute)
    runs = []
    for k in range(K):
        if trace:
            money_end = np.array([float(money(lanes[:1], q)[0]) for q in range(m)])
            runs.append(_MESRun(funded[k], price, full_payers, short_payers, short_paid, unaff, money_then, money_end, b[:, k]))
        else:
            runs.append(_MESRun(funded[k], *([None] * 7), b[:, k].copy()))
    return runs


def _mes_add1(
    pr: _Profile, utility: np.ndarray, increment: float, completion: bool, progress=None,
    stop: Add1Stop = Add1Stop.FIRST_EXHAUSTIVE,
):
    """Equal Shares, then the add1 completion: raise each voter's share by ``increment``
    until the next outcome would cost more than the budget (then keep the last one that did
    not) or, with ``Add1Stop.FIRST_EXHAUSTIVE``, until the outcome is exhaustive (no
    unfunded project fits in what is left).

    Shares are tried in batches of consecutive steps run side by side; the answer is the
    first step, in order, that stops the completion, exactly as one step at a time.
    Stepping stops early only where it provably cannot change the answer: once the share is
    at least the dearest ballot (the sum of costs a single voter names), every voter can pay
    for all their projects alone (no voter pays more than a project's cost), so every
    supported project is funded at that share and at any larger one, and the outcome is
    constant from there on. (The compute tool, without its "exhaustive" option, would step
    on for ever where every supported project fits in the budget together but not all
    projects do; its answer would be this constant outcome.)
    """
    n = pr.n_voters
    ctx = _mes_context(pr)
    share0 = pr.budget / n
    tol_money = _TOL * max(pr.budget, 1.0)
    costs = pr.costs
    exhaustive_stop = stop is Add1Stop.FIRST_EXHAUSTIVE
    if not exhaustive_stop and float(costs.sum()) <= pr.budget + tol_money:
        # the compute tool does not raise shares where every project fits in the budget
        completion = False
    cols = np.repeat(np.arange(len(costs)), np.diff(pr.sup_ptr))
    dearest = float(np.bincount(pr.sup_group, weights=costs[cols], minlength=len(pr.group_weight)).max()) if len(cols) else 0.0
    bound = pr.budget * (n + 1) / n  # pabutools' default bound on the raised budget, per voter
    nnz = max(len(pr.sup_group), 1)
    batch = 1 if not completion else int(min(64, max(4, 4_000_000 // nnz)))
    k = 0
    prev = None
    while True:
        ks = np.arange(k, k + batch)
        shares = share0 + ks * increment
        runs = _mes_runs(pr, ctx, shares, utility)
        for k, share, run in zip(ks.tolist(), shares.tolist(), runs):
            spent = float(costs[run.funded].sum())
            if progress is not None:
                progress(k, share, spent)
            if not completion:
                return share, k, run.funded, None, ctx
            if spent > pr.budget + tol_money:
                if prev is None:  # cannot happen in exact arithmetic; keep the run
                    return share, k, run.funded, None, ctx
                return share0 + (k - 1) * increment, k - 1, prev, (share, run.funded), ctx
            if exhaustive_stop:
                unfunded = np.ones(len(costs), dtype=bool)
                unfunded[run.funded] = False
                if not np.any(costs[unfunded] <= pr.budget - spent + tol_money):
                    return share, k, run.funded, None, ctx
                if share + increment > bound:
                    return share, k, run.funded, None, ctx
            if share >= dearest:
                return share, k, run.funded, None, ctx
            prev = run.funded
        k += 1


def _comparison(pr: _Profile, ctx: _MESContext, funded: list[int]) -> tuple[list[int], float, float, np.ndarray, np.ndarray]:
    """The comparison step: Equal Shares' outcome against greedy by votes.

    Greedy goes down the projects by the number of voters naming them (ties by id) and funds
    each one that still fits. Each voter counts the projects on their ballot that each
    outcome funds and prefers the outcome with more (equal counts: no preference). Returns
    greedy's funded positions, the voters preferring each outcome, and greedy's ranks and
    money left before each project (for the explanations).
    """
    g_funded, rank, left_before = _greedy(pr, pr.weight_sum)
    m = len(pr.costs)

    def per_group(sel: list[int]) -> np.ndarray:
        mask = np.zeros(m)
        mask[sel] = 1.0
        return ctx.incidence.T @ mask  # projects on each group's ballot that are funded

    es, gr = per_group(funded), per_group(g_funded)
    w = pr.group_weight
    return g_funded, float(w[es > gr].sum()), float(w[gr > es].sum()), rank, left_before


# ------------------------------------------------------------------ phragmen
def _phragmen(pr: _Profile):
    """Sequential Phragmén for budgets, on the approvals (projects named on the ballot).

    Supporters of a project earn money continuously; a project is bought when its
    supporters' money reaches its cost, and the money is spent, so each bought project
    loads its supporters. The next project is the one that can be bought at the least
    maximal load, (sum of its supporters' loads + cost) / supporters; ties go to the
    smallest id. The rule stops at the first such project that no longer fits in the
    budget (as in pabutools). Projects nobody names are never bought.
    """
    m = len(pr.costs)
    from scipy import sparse

    cols = np.repeat(np.arange(m), np.diff(pr.sup_ptr))
    a = sparse.csr_array(
        (np.ones(len(cols)), (cols, pr.sup_group)), shape=(m, len(pr.group_weight))
    )
    load = np.zeros(len(pr.group_weight))
    remaining = pr.weight_sum > 0
    spent = 0.0
    funded, loads = [], np.full(m, np.nan)
    stopper: tuple[int, float] | None = None
    would_need = np.full(m, np.nan)
    tol_money = _TOL * max(pr.budget, 1.0)
    while remaining.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(remaining, (a @ (load * pr.group_weight) + pr.costs) / pr.weight_sum, np.inf)
        best = new.min()
        tied = np.flatnonzero(new <= best * (1 + _TOL) + 1e-300)
        would_need[remaining] = new[remaining]
        if np.any(spent + pr.costs[tied] > pr.budget + tol_money):
            bad = tied[spent + pr.costs[tied] > pr.budget + tol_money]
            stopper = (int(bad[np.argmin(pr.tie_rank[bad])]), float(best))
            break
        p = int(tied[np.argmin(pr.tie_rank[tied])])
        sl = slice(pr.sup_ptr[p], pr.sup_ptr[p + 1])
        load[pr.sup_group[sl]] = best
        loads[p] = best
        spent += pr.costs[p]
        funded.append(p)
        remaining[p] = False
    return funded, loads, stopper, would_need


# ------------------------------------------------------------------ explanations
def _money(x: float) -> str:
    x = float(x)
    if abs(x - round(x)) < 5e-3:
        return f"{round(x):,}"
    return f"{x:,.2f}"


def _people(x: float) -> str:
    x = float(x)
    return f"{int(round(x)):,}" if abs(x - round(x)) < 1e-9 else f"{x:,.2f}"


def _supporters(x: float) -> str:
    return f"{_people(x)} supporter" + ("" if abs(x - 1) < 1e-9 else "s")


_SPLIT_COLUMNS = ("district", "region", "subunit", "category", "categories", "target", "targets")


def _spending(e: Election, funded: list[int]) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    costs = e.costs
    for col in _SPLIT_COLUMNS:
        if col not in e.projects.columns:
            continue
        totals: dict[str, float] = {}
        values = e.projects[col].tolist()
        for p in funded:
            raw = values[p]
            names = [s.strip() for s in str(raw).split(",") if s.strip()] if raw == raw and raw is not None else []
            names = names or ["(none)"]
            for nm in names:
                totals[nm] = totals.get(nm, 0.0) + costs[p] / len(names)
        out[col] = pd.Series(totals, name=col, dtype=np.float64).sort_values(ascending=False)
    if not any(c in out for c in ("district", "region", "subunit")):
        for key in ("district", "subunit", "unit"):
            if key in e.meta:
                out["district"] = pd.Series({e.meta[key]: float(costs[funded].sum())}, name="district")
                break
    return out


def _satisfied_share(e: Election, pr: _Profile, funded: list[int]) -> float:
    if e.n_voters == 0:
        return 0.0
    mask = np.zeros(e.n_projects, dtype=bool)
    mask[funded] = True
    hit = np.bincount(e.entry_voters[mask[e.choices]], minlength=e.n_voters) > 0
    return float(hit.mean())


def _base_table(e: Election, funded: list[int]) -> pd.DataFrame:
    sup = e.support()
    t = pd.DataFrame(index=e.project_ids)
    for col in ("name", "district", "category"):
        if col in e.projects.columns:
            t[col] = e.projects[col]
    t["cost"] = e.projects["cost"]
    t["voters"] = sup["voters"].to_numpy()
    t["points"] = sup["points"].to_numpy()
    order = np.zeros(e.n_projects, dtype=np.int64)
    order[funded] = np.arange(1, len(funded) + 1)
    t["funded"] = order > 0
    t["order"] = pd.array(np.where(order > 0, order, 0), dtype="Int64")
    t.loc[order == 0, "order"] = pd.NA
    return t


def _outcome(e: Election, pr: _Profile, rule: Rule, funded: list[int], table: pd.DataFrame, **kw) -> Outcome:
    return Outcome(
        rule=rule,
        budget=pr.budget,
        funded=tuple(str(e.project_ids[p]) for p in funded),
        total_cost=float(pr.costs[funded].sum()),
        projects=table,
        satisfied_share=_satisfied_share(e, pr, funded),
        spending=MappingProxyType(_spending(e, funded)),
        currency=str(e.meta.get("currency", "")),
        **kw,
    )


def _check(e: Election) -> None:
    if not isinstance(e, Election):
        raise SchemaError(f"expected a gosplan Election, got {type(e).__name__}; read one with read_pabulib")


# ------------------------------------------------------------------ public rules
def greedy(election: Election, by: str | None = None) -> Outcome:
    """Fund projects in order of support while money lasts ("greedy", the cities' rule).

    Projects are ranked by votes (the number of ballots naming them; approval, choose-1 and
    ordinal elections) or by points (the sum of points; cumulative and scoring elections),
    ties by project id in string order; going down the list, a project is funded if its cost
    fits in what is left, else skipped and the next one tried.

    This is pabutools' ``greedy_utilitarian_welfare`` with cost satisfaction (``Cost_Sat``;
    for points, satisfaction = points x cost), whose welfare per unit of cost is the votes
    or points. Source: Faliszewski et al., "Participatory Budgeting: Data, Tools and
    Analysis", IJCAI 2023, section 2 ("greedy").

    Parameters
    ----------
    by
        ``"votes"`` or ``"points"``; default: points for elections with points, else votes.
    """
    _check(election)
    pr = _profile(election)
    sup = election.support()
    by = by or ("points" if election.points is not None else "votes")
    if by not in ("votes", "points"):
        raise SchemaError(f"greedy: by={by!r}; use 'votes' or 'points'")
    score = sup["voters" if by == "votes" else "points"].to_numpy(dtype=np.float64)
    funded, rank, left_before = _greedy(pr, score)
    t = _base_table(election, funded)
    t["rank"] = rank
    t["explanation"] = _greedy_explanations(election, pr, score, by, funded, rank, left_before)
    return _outcome(election, pr, Rule.GREEDY, funded, t)


def _greedy_explanations(e: Election, pr: _Profile, score, by: str, funded, rank, left_before) -> list[str]:
    cur = f" {e.meta.get('currency', '')}".rstrip()
    expl = []
    fset = set(funded)
    word = "votes" if by == "votes" else "points"
    for p in range(e.n_projects):
        head = f"rank {rank[p]} with {_people(score[p])} {word}"
        if p in fset:
            expl.append(f"funded: {head}; its cost {_money(pr.costs[p])}{cur} fitted in the {_money(left_before[p])}{cur} left")
        else:
            expl.append(
                f"not funded: {head}; its cost {_money(pr.costs[p])}{cur} exceeded the {_money(left_before[p])}{cur} "
                "left after the projects ranked above it"
            )
    return expl


def equal_shares(
    election: Election,
    satisfaction: Satisfaction | str = Satisfaction.COST,
    completion: Completion | str | None = "meta",
    increment: float = 1.0,
    progress=None,
    add1_stop: Add1Stop | str | None = None,
) -> Outcome:
    """The Method of Equal Shares with the "add1" completion and, where the election was
    decided so, the comparison step.

    Every voter gets an equal share of the budget, ``budget / voters``. Repeatedly, the
    project that its supporters can buy at the least price per unit of satisfaction is
    funded; its supporters split its cost equally, and one who cannot pay an equal part pays
    all they have left (so for a project costing c bought by supporters with money b_i, each
    pays min(b_i, alpha) with sum_i min(b_i, alpha) = c, and the project of least
    alpha / u_p wins, u_p = c under cost satisfaction). The method stops when no project's
    supporters have its cost left together. Since this usually leaves money unspent, the
    "add1" completion reruns it with each voter's share raised by one currency unit at a
    time (budget/n, budget/n + 1, ...) and stops before the first outcome that would cost
    more than the budget, or earlier, at the first outcome that is exhaustive (no unfunded
    project fits in the money left): see `Add1Stop`.

    The comparison step (equalshares.net compute tool, ``comparisonStep`` with
    "satisfaction"; Pabulib's ``equalshares/add1-comparison``) then weighs that outcome
    against greedy by votes (projects by number of voters naming them, each funded if it
    still fits): a voter prefers the outcome funding more of the projects on their ballot,
    and greedy's outcome is kept if strictly more voters prefer it than prefer Equal Shares'.

    Sources: Peters and Skowron, "Proportionality and the Limits of Welfarism", EC 2020;
    Peters, Pierczyński and Skowron, "Proportional Participatory Budgeting with Additive
    Utilities", NeurIPS 2021; equalshares.net (the add1 completion used by Wieliczka,
    Świecie, Aarau, Assen) and its compute tool (github.com/equalshares/equalshares-compute-tool,
    ``js/methodOfEqualSharesWorker.js``: ``equalSharesAdd1``, ``utilitarianCompletion``,
    ``comparisonStep``). With ``Add1Stop.FIRST_EXHAUSTIVE`` it agrees with pabutools'
    ``method_of_equal_shares(Cost_Sat)`` completed by ``exhaustion_by_budget_increase`` with
    a budget step of one unit per voter.

    Cumulative, scoring and ordinal ballots count as approval of the projects they name, as
    pabutools' ``Cost_Sat`` counts them (and the comparison step counts votes, not points).
    Ties go to the smaller project id (string order), in Equal Shares and in the comparison
    step's greedy outcome alike; the compute tool refuses a tie unless told how to break it.
    Each share starts at budget / voters; the compute tool's "integral" option (its default)
    would start at the whole currency unit below it. A project costing nothing is funded if
    somebody voted for it (the tool leaves such projects out).

    Parameters
    ----------
    satisfaction
        ``"cost"`` (default, what cities use) or ``"cardinality"``.
    completion
        A `Completion` (``"add1"``, ``"add1-comparison"``, ``"comparison"``, ``"none"``;
        ``None`` is ``"none"``) or ``"meta"`` (default): the one the election's META
        ``rule`` names (`Completion.from_rule`), ``"add1"`` if it names none.
    increment
        Raise of each voter's share per add1 step, in currency units.
    progress
        Optional callable ``progress(step, share, spent)`` called after every run.
    add1_stop
        Where add1 stops (`Add1Stop`); default ``"first-exhaustive"`` for ``"add1"`` and
        ``"last-within-budget"`` for ``"add1-comparison"``, as Pabulib's checker and the
        compute tool without its "exhaustive" option compute that rule. Where every project
        fits in the budget together, ``"last-within-budget"`` raises no share (as the tool).
    """
    _check(election)
    sat = Satisfaction(satisfaction)
    if completion == "meta":
        comp = Completion.from_rule(election.meta.get("rule"))
    else:
        try:
            comp = Completion.NONE if completion is None else Completion(completion)
        except ValueError:
            raise SchemaError(
                f"equal_shares: completion={completion!r}; use 'meta', None or one of "
                f"{', '.join(repr(c.value) for c in Completion)}"
            ) from None
    if add1_stop is None:
        stop = Add1Stop.LAST_WITHIN_BUDGET if comp is Completion.ADD1_COMPARISON else Add1Stop.FIRST_EXHAUSTIVE
    else:
        try:
            stop = Add1Stop(add1_stop)
        except ValueError:
            raise SchemaError(
                f"equal_shares: add1_stop={add1_stop!r}; use one of {', '.join(repr(a.value) for a in Add1Stop)}"
            ) from None
    if not increment > 0:
        raise SchemaError(f"equal_shares: increment must be positive, got {increment}")
    pr = _profile(election)
    t = _base_table(election, [])
    if pr.n_voters == 0:
        t["explanation"] = "not funded: nobody voted"
        return _outcome(election, pr, Rule.EQUAL_SHARES, [], t, per_voter_budget=None, add1_steps=0, completion=comp)
    utility = pr.costs.copy() if sat is Satisfaction.COST else np.ones_like(pr.costs)
    share, steps, funded, overshoot, ctx = _mes_add1(pr, utility, increment, comp.add1, progress, stop)
    run = _mes_runs(pr, ctx, np.array([share]), utility, trace=True)[0]
    if run.funded != funded:  # the traced replay must be the same computation
        raise AssertionError("equal_shares: traced replay differs from the fast run")
    ids = election.project_ids
    cmp = None
    final = funded
    if comp.comparison:
        g_funded, pref_es, pref_g, g_rank, g_left = _comparison(pr, ctx, funded)
        cmp = Comparison(pref_es, pref_g, tuple(str(ids[p]) for p in funded), tuple(str(ids[p]) for p in g_funded))
        if cmp.kept == "greedy":
            final = g_funded
    t = _base_table(election, final)
    t["price"] = run.price
    t["payers_full"] = run.full_payers
    t["payers_short"] = run.short_payers
    t["money_left"] = run.money_end
    cur = f" {election.meta.get('currency', '')}".rstrip()
    fpos = {p: i for i, p in enumerate(funded)}
    expl = []
    for p in range(election.n_projects):
        cost = pr.costs[p]
        if p in fpos:
            if cost == 0:
                expl.append("funded: costs nothing and has supporters")
                continue
            s = f"funded in round {fpos[p] + 1}: {_supporters(run.full_payers[p])} paid {_money(run.price[p])}{cur} each"
            if run.short_payers[p] > 0:
                s += (
                    f", {_people(run.short_payers[p])} paid all they had left "
                    f"({_money(run.short_paid[p])}{cur} together)"
                )
            expl.append(s + f"; cost {_money(cost)}{cur}")
            continue
        if pr.weight_sum[p] == 0:
            expl.append("not funded: no voter named it")
            continue
        r = run.unaffordable_after[p]
        have = run.money_then[p]
        short = f"its {_supporters(pr.weight_sum[p])} had {_money(have)}{cur} of its cost {_money(cost)}{cur} ({have / cost:.0%})"
        if r <= 0:
            s = f"not funded: unaffordable from the start: {short}"
        else:
            s = f"not funded: unaffordable once round {r} funded {ids[funded[r - 1]]!r}: {short}"
        if overshoot is not None and p in overshoot[1]:
            s += f"; with a share of {_money(overshoot[0])}{cur} it would be funded but the outcome would exceed the budget"
        expl.append(s)
    if cmp is not None and cmp.kept == "greedy":
        # the greedy outcome replaced Equal Shares': say so, then why greedy funded each
        head = (
            f"comparison step kept the greedy outcome ({_people(cmp.prefer_greedy)} voters prefer it, "
            f"{_people(cmp.prefer_equal_shares)} Equal Shares'): "
        )
        g_expl = _greedy_explanations(election, pr, pr.weight_sum, "votes", final, g_rank, g_left)
        expl = [f"{head}{g}; Equal Shares: {es}" for g, es in zip(g_expl, expl)]
        t["equal_shares_funded"] = [p in fpos for p in range(election.n_projects)]
    t["explanation"] = expl
    return _outcome(
        election, pr, Rule.EQUAL_SHARES, final, t, per_voter_budget=share,
        add1_steps=steps if comp.add1 else None,
        add1_increment=float(increment) if comp.add1 else None,
        completion=comp,
        add1_stop=stop if comp.add1 else None,
        comparison=cmp,
    )


def phragmen(election: Election) -> Outcome:
    """Sequential Phragmén for participatory budgets.

    Voters earn money at an equal rate; a project is bought as soon as its supporters
    together hold its cost, and buying it empties their accounts ("load"). Equivalently,
    the next project is the one minimising (sum of its supporters' loads + cost) /
    supporters, and its supporters' loads become that value. The rule stops at the first
    project so chosen that does not fit in the remaining budget. Ballots count as approval
    of the projects they name.

    Sources: Phragmén (1894); Brill, Freeman, Janson and Lackner, "Phragmén's Voting Methods
    and Justified Representation", AAAI 2017; for budgets, pabutools' ``sequential_phragmen``,
    with which it agrees except that a project nobody names is never funded (pabutools would
    add such projects at infinite load after all others, while they fit).
    """
    _check(election)
    pr = _profile(election)
    funded, loads, stopper, would_need = _phragmen(pr)
    t = _base_table(election, funded)
    t["load"] = loads
    cur = f" {election.meta.get('currency', '')}".rstrip()
    ids = election.project_ids
    fpos = {p: i for i, p in enumerate(funded)}
    expl = []
    for p in range(election.n_projects):
        if p in fpos:
            expl.append(
                f"funded in round {fpos[p] + 1}, when each of its {_people(pr.weight_sum[p])} supporters had "
                f"carried {_money(loads[p])}{cur} of spending on their projects"
            )
        elif pr.weight_sum[p] == 0:
            expl.append("not funded: no voter named it")
        elif stopper is not None and stopper[0] == p:
            expl.append(
                f"not funded: chosen next (load {_money(stopper[1])}{cur}) but its cost {_money(pr.costs[p])}{cur} "
                f"exceeded the {_money(pr.budget - pr.costs[funded].sum())}{cur} left, which ends the rule"
            )
        else:
            stop = f" when {ids[stopper[0]]!r} did not fit" if stopper is not None else ""
            expl.append(
                f"not funded: its supporters would each have had to carry {_money(would_need[p])}{cur}; "
                f"the rule stopped{stop} before reaching it"
            )
    t["explanation"] = expl
    return _outcome(election, pr, Rule.PHRAGMEN, funded, t)


def voter_satisfaction(election: Election, outcome: Outcome, measure: str = "cost") -> pd.Series:
    """Per voter, what the outcome gives them: the cost of the funded projects on their
    ballot (``"cost"``, the satisfaction Equal Shares uses) or their number (``"count"``).
    Its distribution is the satisfaction chart of a budget round."""
    if measure not in ("cost", "count"):
        raise SchemaError(f"voter_satisfaction: measure={measure!r}; use 'cost' or 'count'")
    mask = np.zeros(election.n_projects, dtype=bool)
    mask[[election.project_ids.get_loc(p) for p in outcome.funded]] = True
    hit = mask[election.choices]
    weights = election.costs[election.choices] if measure == "cost" else np.ones(len(election.choices))
    values = np.bincount(election.entry_voters[hit], weights=weights[hit], minlength=election.n_voters)
    return pd.Series(values, index=election.voter_ids, name=f"satisfaction:{measure}")


def allocate(election: Election, rule: Rule | str = Rule.EQUAL_SHARES, **options) -> Outcome:
    """Run a budget rule by name: ``"equal-shares"``, ``"greedy"`` or ``"phragmen"``."""
    try:
        r = Rule(rule)
    except ValueError:
        raise SchemaError(f"unknown budget rule {rule!r}; use one of {', '.join(x.value for x in Rule)}") from None
    fn = {Rule.EQUAL_SHARES: equal_shares, Rule.GREEDY: greedy, Rule.PHRAGMEN: phragmen}[r]
    return fn(election, **options)
