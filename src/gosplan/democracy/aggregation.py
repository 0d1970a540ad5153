"""Aggregation rules: how the councils' proposals and votes become one decision.

A planning round names its rule (:data:`RULES`, :func:`aggregate`), so that what the
councils said and what the plan takes from it are linked by a published procedure rather
than by a planner's judgement. Three families:

* **baskets** (councils x products -> product quantity): :func:`weighted_sum` and
  :func:`weighted_mean`; the result is a Series of final-demand floors for the planning code;
* **priorities** (councils x product groups -> value per group): :func:`weighted_median`;
* **choice among alternative plans** (voters x alternatives -> winners): :func:`approval`,
  :func:`instant_runoff` and the Condorcet method :func:`schulze`.

Inputs are labelled: a DataFrame with one row per council (its id as index) and one column
per product, group or alternative; weights a Series by council id (members represented, say;
all 1 when omitted). Missing values (NaN) mean "no opinion" where a rule says so.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import pandas as pd

from gosplan.errors import GosplanError, SchemaError


class TieError(GosplanError):
    """A choice rule ended in a tie and a single winner was asked for."""


def _table(frame, what: str, allow_nan: bool = True) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"{what}: pass a pandas DataFrame with one row per council and one column per item")
    for axis, labels in (("council ids (index)", frame.index), ("columns", frame.columns)):
        if labels.has_duplicates:
            raise SchemaError(f"{what}: {axis} repeat {list(labels[labels.duplicated()][:5])}; ids must be unique")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise SchemaError(f"{what}: empty ({frame.shape[0]} councils x {frame.shape[1]} items)")
    try:
        values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"{what}: every entry must be a number ({exc})") from exc
    bad = np.isinf(values) | (np.isnan(values) if not allow_nan else False)
    if np.any(bad):
        i, j = np.argwhere(bad)[0]
        raise SchemaError(f"{what}: council {frame.index[i]!r}, {frame.columns[j]!r} is {float(values[i, j])!r}; "
                          "give a finite number")
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


def _weights(weights, index: pd.Index, what: str) -> np.ndarray:
    if weights is None:
        return np.ones(len(index))
    if not isinstance(weights, pd.Series):
        raise SchemaError(f"{what}: weights must be a pandas Series indexed by council id")
    missing, extra = index.difference(weights.index), weights.index.difference(index)
    if len(missing) or len(extra):
        raise SchemaError(f"{what}: weights lack councils {list(missing[:5])} and name unknown councils "
                          f"{list(extra[:5])}; give one weight per council")
    w = weights.reindex(index).to_numpy(dtype=np.float64)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SchemaError(f"{what}: council {index[i]!r} has weight {float(w[i])!r}; weights must be finite and >= 0")
    if w.sum() <= 0:
        raise SchemaError(f"{what}: the weights add up to zero; at least one council must count")
    return w


def _nonnegative(table: pd.DataFrame, what: str) -> None:
    values = table.to_numpy()
    bad = values < 0
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise SchemaError(f"{what}: council {table.index[i]!r} asks for {float(values[i, j])} of {table.columns[j]!r}; "
                          "quantities cannot be negative")


# --- baskets ----------------------------------------------------------------------------------


def weighted_sum(proposals: pd.DataFrame, weights: pd.Series | None = None) -> pd.Series:
    """Society's basket: the weighted sum of the councils' baskets of final demand.

    ``q_j = sum_i w_i x_ij``; a missing entry counts as 0 (the council asks for none).
    With ``w_i`` the number of households a consumer council speaks for and ``x_ij`` its
    basket per household, this is the total request that consumer federations pass on in
    participatory economics (Albert & Hahnel, *The Political Economy of Participatory
    Economics*, Princeton 1991, ch. 4).

    Returns a Series product -> quantity (final-demand floors for the planning code).
    """
    table = _table(proposals, "proposals")
    _nonnegative(table.fillna(0.0), "proposals")
    w = _weights(weights, table.index, "proposals")
    total = w @ np.nan_to_num(table.to_numpy(), nan=0.0)
    return pd.Series(total, index=table.columns, name="quantity")


def weighted_mean(proposals: pd.DataFrame, weights: pd.Series | None = None) -> pd.Series:
    """The basket per member: ``q_j = sum_i w_i x_ij / sum_i w_i`` over councils that stated ``x_ij``.

    A council that left product ``j`` blank (NaN) is left out of that product's mean rather
    than counted as asking for zero. Multiply by the population for society's basket.
    (The weighted arithmetic mean; Albert & Hahnel 1991, ch. 4, per-capita requests.)
    """
    table = _table(proposals, "proposals")
    _nonnegative(table.fillna(0.0), "proposals")
    w = _weights(weights, table.index, "proposals")
    values = table.to_numpy()
    stated = ~np.isnan(values)
    weight = w @ stated
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w @ np.where(stated, values, 0.0)) / weight
    if (weight == 0).any():
        j = int(np.flatnonzero(weight == 0)[0])
        raise SchemaError(f"proposals: no council with weight stated a quantity of {table.columns[j]!r}; "
                          "drop the column or have someone propose it")
    return pd.Series(mean, index=table.columns, name="quantity")


# --- priorities -------------------------------------------------------------------------------


def _lower_weighted_median(values: np.ndarray, w: np.ndarray) -> float:
    order = np.argsort(values, kind="stable")
    v, cw = values[order], np.cumsum(w[order])
    return float(v[np.searchsorted(cw, cw[-1] / 2.0, side="left")])


def weighted_median(priorities: pd.DataFrame, weights: pd.Series | None = None) -> pd.Series:
    """Per product group, the weighted median of the councils' priorities.

    The (lower) weighted median ``m`` is the smallest stated value whose cumulative weight
    reaches half the total: ``sum_{i: x_i <= m} w_i >= W / 2``. It minimises
    ``sum_i w_i |x_i - m|`` (Edgeworth's "plural median", 1888) and, each group being one
    dimension with single-peaked preferences, no council can pull it toward its own peak by
    misstating (Black, "On the rationale of group decision-making", *J. Polit. Econ.* 1948;
    Moulin, "On strategy-proofness and single peakedness", *Public Choice* 1980). Councils
    that left a group blank (NaN) are not counted for it.

    Returns a Series group -> median priority.
    """
    table = _table(priorities, "priorities")
    w = _weights(weights, table.index, "priorities")
    out = {}
    for j, group in enumerate(table.columns):
        col = table.iloc[:, j].to_numpy()
        stated = ~np.isnan(col) & (w > 0)
        if not stated.any():
            raise SchemaError(f"priorities: no council with weight stated a priority for {group!r}")
        out[group] = _lower_weighted_median(col[stated], w[stated])
    return pd.Series(out, name="priority").reindex(table.columns)


# --- choice among alternatives ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChoiceResult:
    """Outcome of a vote among alternatives.

    ``winners`` (all tied winners, in column order), ``scores`` (the final tally: approval
    scores, last-round first preferences, or Schulze's strongest-path matrix), and ``rounds``
    (instant-runoff: the first-preference tally of each round).
    """

    method: str
    winners: tuple
    scores: pd.Series | pd.DataFrame
    rounds: tuple = ()

    @property
    def winner(self):
        """The single winner; :class:`TieError` naming the tied alternatives otherwise."""
        if len(self.winners) != 1:
            raise TieError(f"{self.method}: {len(self.winners)} alternatives tie ({list(self.winners)}); "
                           "break the tie by a further vote or a published tie-break order")
        return self.winners[0]


def approval(ballots: pd.DataFrame, weights: pd.Series | None = None) -> ChoiceResult:
    """Approval voting: each voter approves any set of alternatives; most weighted approvals wins.

    ``score_a = sum_i w_i [i approves a]``. Ballots are voters x alternatives of
    True/False or 1/0 (NaN: not approved). Source: Brams & Fishburn, "Approval voting",
    *American Political Science Review* 72(3), 1978.
    """
    table = _table(ballots, "ballots")
    values = np.nan_to_num(table.to_numpy(), nan=0.0)
    if not np.isin(values, (0.0, 1.0)).all():
        i, j = np.argwhere(~np.isin(values, (0.0, 1.0)))[0]
        raise SchemaError(f"ballots: voter {table.index[i]!r} gives {float(values[i, j])} to {table.columns[j]!r}; "
                          "an approval ballot holds 1 (approve) or 0")
    w = _weights(weights, table.index, "ballots")
    scores = pd.Series(w @ values, index=table.columns, name="approvals")
    winners = tuple(scores.index[scores.to_numpy() == scores.max()])
    return ChoiceResult("approval", winners, scores)


def _ranks(rankings: pd.DataFrame, strict: bool) -> tuple[pd.DataFrame, np.ndarray]:
    table = _table(rankings, "rankings")
    r = table.to_numpy()
    stated = ~np.isnan(r)
    if (r[stated] < 1).any() or (r[stated] != np.round(r[stated])).any():
        i, j = np.argwhere(stated & ((r < 1) | (r != np.round(r))))[0]
        raise SchemaError(f"rankings: voter {table.index[i]!r} gives {table.columns[j]!r} rank {float(r[i, j]):g}; "
                          "ranks are whole numbers from 1 (first choice)")
    if strict:
        for i in range(r.shape[0]):
            row = r[i][stated[i]]
            if len(np.unique(row)) != len(row):
                raise SchemaError(f"rankings: voter {table.index[i]!r} gives two alternatives the same rank; "
                                  "instant-runoff needs a strict order (leave lower choices blank instead)")
    return table, np.where(stated, r, np.inf)


def instant_runoff(rankings: pd.DataFrame, weights: pd.Series | None = None) -> ChoiceResult:
    """Instant-runoff voting (Hare; "ranked choice", "alternative vote").

    Each ballot counts for its highest-ranked alternative still in the race. An alternative
    with more than half the weight of the ballots still active wins; otherwise every
    alternative with the fewest first preferences is eliminated at once (as pref_voting's
    ``instant_runoff``) and ballots transfer. If that would eliminate all that remain, they
    all win (a tie). Rankings are voters x alternatives, rank 1 = first choice, NaN =
    unranked (a ballot whose ranked alternatives are all gone is exhausted). Source: Hare,
    *The Election of Representatives*, 1859; Ware, 1870s, for the single-winner form.
    """
    table, r = _ranks(rankings, strict=True)
    w = _weights(weights, table.index, "rankings")
    alive = np.ones(r.shape[1], bool)
    rounds = []
    while True:
        masked = np.where(alive[None, :], r, np.inf)
        best = masked.min(axis=1)
        active = np.isfinite(best)
        top = masked.argmin(axis=1)
        tally = np.bincount(top[active], weights=w[active], minlength=r.shape[1])
        rounds.append(pd.Series(np.where(alive, tally, np.nan), index=table.columns, name=f"round {len(rounds) + 1}"))
        total = w[active].sum()
        majority = alive & (tally > total / 2.0)
        if majority.any():
            winners = table.columns[majority]
            break
        low = alive & (tally == tally[alive].min())
        if (low == alive).all():
            winners = table.columns[alive]
            break
        alive &= ~low
    return ChoiceResult("instant_runoff", tuple(winners), rounds[-1].rename("first preferences"), tuple(rounds))


def pairwise(rankings: pd.DataFrame, weights: pd.Series | None = None) -> pd.DataFrame:
    """``P[a, b]``: weight of the voters who rank ``a`` above ``b`` (unranked = below every ranked)."""
    table, r = _ranks(rankings, strict=False)
    w = _weights(weights, table.index, "rankings")
    above = (r[:, :, None] < r[:, None, :]).astype(np.float64)
    return pd.DataFrame(np.einsum("i,iab->ab", w, above), index=table.columns, columns=table.columns)


def schulze(rankings: pd.DataFrame, weights: pd.Series | None = None) -> ChoiceResult:
    """The Schulze method (beat path), a Condorcet method: it elects a Condorcet winner if one exists.

    With ``d(a, b)`` the margin ``P[a, b] - P[b, a]`` (:func:`pairwise`), a path's strength is
    its weakest positive margin, ``p(a, b)`` the strongest path from ``a`` to ``b`` (widest
    path, Floyd-Warshall), and the winners are the ``a`` with ``p(a, b) >= p(b, a)`` for every
    ``b``. Source: Schulze, "A new monotonic, clone-independent, reversal symmetric, and
    Condorcet-consistent single-winner election method", *Social Choice and Welfare* 36, 2011.
    Margins are used (as pref_voting's ``beat_path``); with complete ballots they give the
    same result as Schulze's "winning votes", with truncated ballots they may not.
    Ties within a ballot are allowed (no preference between the two).
    """
    p = pairwise(rankings, weights)
    d = p.to_numpy() - p.to_numpy().T
    strength = np.where(d > 0, d, 0.0)
    m = len(strength)
    for k in range(m):
        strength = np.maximum(strength, np.minimum(strength[:, k:k + 1], strength[k:k + 1, :]))
    np.fill_diagonal(strength, 0.0)
    wins = (strength >= strength.T).all(axis=1)
    scores = pd.DataFrame(strength, index=p.index, columns=p.columns)
    return ChoiceResult("schulze", tuple(p.index[wins]), scores)


# --- registry ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rule:
    """A named aggregation rule: what it takes, what it returns, where it is published."""

    name: str
    kind: str  # "basket", "priorities" or "choice"
    function: Callable
    source: str

    @property
    def summary(self) -> str:
        return (self.function.__doc__ or "").strip().splitlines()[0]


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule("weighted_sum", "basket", weighted_sum, "Albert & Hahnel 1991, ch. 4"),
        Rule("weighted_mean", "basket", weighted_mean, "Albert & Hahnel 1991, ch. 4 (per capita)"),
        Rule("weighted_median", "priorities", weighted_median, "Black 1948; Moulin 1980"),
        Rule("approval", "choice", approval, "Brams & Fishburn 1978"),
        Rule("instant_runoff", "choice", instant_runoff, "Hare 1859"),
        Rule("schulze", "choice", schulze, "Schulze 2011"),
    )
}
"""Every rule a round may choose, by name."""


ALIASES = {"ranked_choice": "instant_runoff", "irv": "instant_runoff", "hare": "instant_runoff",
           "beat_path": "schulze"}
"""Other names a round may use for a rule; ``-`` and ``_`` are interchangeable."""


def aggregate(rule: str, table: pd.DataFrame, weights: pd.Series | None = None):
    """Apply the rule named ``rule`` (a key of :data:`RULES` or :data:`ALIASES`) to a table of
    proposals or ballots; returns a Series (basket, priorities) or a :class:`ChoiceResult`."""
    key = str(rule).strip().lower().replace("-", "_")
    try:
        chosen = RULES[ALIASES.get(key, key)]
    except KeyError:
        raise SchemaError(f"unknown aggregation rule {rule!r}; choose one of {sorted(RULES)}") from None
    return chosen.function(table, weights)


def describe_rules() -> pd.DataFrame:
    """A table of the rules: name, kind, source and one-line summary (for pages and the CLI)."""
    return pd.DataFrame(
        [{"rule": r.name, "kind": r.kind, "source": r.source, "summary": r.summary} for r in RULES.values()]
    ).set_index("rule")
