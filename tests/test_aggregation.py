"""Aggregation rules: hand-checked cases, properties, and the peer pref_voting on random profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gosplan.democracy.aggregation import (
    RULES,
    TieError,
    aggregate,
    approval,
    describe_rules,
    instant_runoff,
    pairwise,
    schulze,
    weighted_mean,
    weighted_median,
    weighted_sum,
)
from gosplan.errors import SchemaError

COUNCILS = pd.Index(["north", "south", "east"], name="council")


def test_weighted_sum_and_mean_of_baskets():
    baskets = pd.DataFrame({"bread": [2.0, 1.0, 4.0], "books": [1.0, np.nan, 3.0]}, index=COUNCILS)
    members = pd.Series({"north": 100.0, "south": 300.0, "east": 100.0})
    total = weighted_sum(baskets, members)
    pd.testing.assert_series_equal(total, pd.Series({"bread": 900.0, "books": 400.0}, name="quantity"))
    mean = weighted_mean(baskets, members)
    # books: only north and east stated, so the mean is over their 200 members
    pd.testing.assert_series_equal(mean, pd.Series({"bread": 1.8, "books": 2.0}, name="quantity"))
    assert aggregate("weighted_sum", baskets, members).equals(total)
    assert aggregate("weighted-sum", baskets, members).equals(total)
    ranks = pd.DataFrame({"A": [1, 2, 2], "B": [2, 1, 1]}, index=COUNCILS)
    assert aggregate("ranked-choice", ranks).winner == "B" == aggregate("schulze", ranks).winner


def test_weighted_median_hand_case():
    """Weights 1, 1, 3 at 10, 20, 30: the heavy council holds the median alone."""
    prio = pd.DataFrame({"health": [10.0, 20.0, 30.0], "housing": [5.0, np.nan, 1.0]}, index=COUNCILS)
    w = pd.Series({"north": 1.0, "south": 1.0, "east": 3.0})
    out = weighted_median(prio, w)
    assert out["health"] == 30.0
    assert out["housing"] == 1.0  # east (3) outweighs north (1); south gave no priority
    # equal weights, even count: the lower median
    assert weighted_median(pd.DataFrame({"g": [1.0, 2.0, 3.0, 4.0]}))["g"] == 2.0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100), st.integers(1, 5)), min_size=1, max_size=9))
def test_weighted_median_minimises_weighted_absolute_deviation(pairs):
    values = np.array([float(v) for v, _ in pairs])
    w = np.array([float(x) for _, x in pairs])
    index = pd.Index([f"c{i}" for i in range(len(pairs))])
    m = weighted_median(pd.DataFrame({"g": values}, index=index), pd.Series(w, index=index))["g"]
    cost = lambda x: float(np.sum(w * np.abs(values - x)))  # noqa: E731
    assert cost(m) <= min(cost(x) for x in values) + 1e-9
    assert m in values


@settings(max_examples=100, deadline=None)
# subnormal amounts (5e-324) lose their digits when scaled: no basket is stated in them
@given(st.lists(st.lists(st.floats(0, 1e6, allow_subnormal=False), min_size=3, max_size=3), min_size=1, max_size=6),
       st.floats(0.1, 10))
def test_basket_rules_are_linear_and_scale_free(rows, factor):
    index = pd.Index([f"c{i}" for i in range(len(rows))])
    table = pd.DataFrame(rows, index=index, columns=["a", "b", "c"])
    w = pd.Series(np.arange(1.0, len(rows) + 1), index=index)
    np.testing.assert_allclose(weighted_sum(table * factor, w), weighted_sum(table, w) * factor, rtol=1e-9, atol=1e-300)
    # scaling every weight leaves the per-member mean unchanged
    np.testing.assert_allclose(weighted_mean(table, w * factor), weighted_mean(table, w), rtol=1e-9, atol=1e-9)


def test_approval():
    ballots = pd.DataFrame({"plan A": [1, 0, 1], "plan B": [1, 1, 0], "plan C": [0, 0, 1]}, index=COUNCILS)
    r = approval(ballots, pd.Series({"north": 2.0, "south": 1.0, "east": 1.0}))
    assert r.scores.to_dict() == {"plan A": 3.0, "plan B": 3.0, "plan C": 1.0}
    assert r.winners == ("plan A", "plan B")
    with pytest.raises(TieError, match="2 alternatives tie"):
        r.winner
    heavy_east = pd.Series({"north": 1.0, "south": 1.0, "east": 2.0})
    assert approval(ballots.astype(bool), heavy_east).winner == "plan A"


def test_instant_runoff_transfers():
    """8 voters: A 3, B 3, C 2 first; C is eliminated and its ballots go to B."""
    ranks = pd.DataFrame([[1, 2, 3]] * 3 + [[2, 1, 3]] * 3 + [[3, 2, 1]] * 2,
                         columns=["A", "B", "C"], index=[f"v{i}" for i in range(8)])
    r = instant_runoff(ranks)
    assert r.winner == "B"
    assert r.rounds[0].to_dict() == {"A": 3.0, "B": 3.0, "C": 2.0}
    assert r.rounds[1]["B"] == 5.0 and np.isnan(r.rounds[1]["C"])


def test_schulze_wikipedia_example():
    """The 45-voter example of Schulze (2011), sec. 3.1 (also the Wikipedia article): E wins."""
    groups = [(5, "ACBED"), (5, "ADECB"), (8, "BEDAC"), (3, "CABED"), (7, "CAEBD"), (2, "CBADE"),
              (7, "DCEBA"), (8, "EBADC")]
    rows, weights = [], []
    for n, order in groups:
        rows.append({c: order.index(c) + 1 for c in "ABCDE"})
        weights.append(n)
    index = pd.Index([f"g{i}" for i in range(len(groups))])
    ranks = pd.DataFrame(rows, index=index)
    r = schulze(ranks, pd.Series(weights, index=index, dtype=float))
    assert r.winner == "E"
    p = pairwise(ranks, pd.Series(weights, index=index, dtype=float))
    assert p.loc["A", "B"] == 20 and p.loc["B", "A"] == 25


def _profile_frames(rankings, counts, m):
    index = pd.Index([f"v{i}" for i in range(len(rankings))])
    columns = [f"alt{k}" for k in range(m)]
    ranks = pd.DataFrame([[order.index(k) + 1 for k in range(m)] for order in rankings], index=index, columns=columns)
    return ranks, pd.Series(counts, index=index, dtype=float), columns


profiles = st.integers(2, 5).flatmap(lambda m: st.tuples(
    st.just(m),
    st.lists(st.permutations(list(range(m))), min_size=1, max_size=7),
)).flatmap(lambda t: st.tuples(st.just(t[0]), st.just(t[1]),
                                st.lists(st.integers(1, 4), min_size=len(t[1]), max_size=len(t[1]))))


@settings(max_examples=120, deadline=None)
@given(profiles)
def test_ranked_choice_agrees_with_pref_voting(profile):
    """Instant runoff and Schulze (beat path) against pref_voting on random weighted profiles."""
    pv = pytest.importorskip("pref_voting")
    from pref_voting.iterative_methods import instant_runoff as pv_irv
    from pref_voting.margin_based_methods import beat_path
    from pref_voting.profiles import Profile

    m, rankings, counts = profile
    prof = Profile([list(r) for r in rankings], rcounts=counts)
    ranks, weights, columns = _profile_frames(rankings, counts, m)
    assert pv is not None
    ours = instant_runoff(ranks, weights).winners
    assert list(ours) == [columns[c] for c in pv_irv(prof)]
    ours = schulze(ranks, weights).winners
    assert list(ours) == [columns[c] for c in beat_path(prof)]


@settings(max_examples=100, deadline=None)
@given(profiles)
def test_schulze_elects_the_condorcet_winner(profile):
    m, rankings, counts = profile
    ranks, weights, columns = _profile_frames(rankings, counts, m)
    p = pairwise(ranks, weights).to_numpy()
    beats_all = [a for a in range(m) if all(p[a, b] > p[b, a] for b in range(m) if b != a)]
    if beats_all:
        assert schulze(ranks, weights).winners == (columns[beats_all[0]],)


def test_truncated_ballots_exhaust():
    ranks = pd.DataFrame({"A": [1, np.nan, 2], "B": [2, 1, np.nan], "C": [np.nan, 2, 1]}, index=COUNCILS)
    r = instant_runoff(ranks)
    assert len(r.winners) == 3  # a three-way cycle of single first preferences: all tie
    assert schulze(ranks).winners == ("A", "B", "C")


def test_registry_names_every_rule_with_a_source():
    table = describe_rules()
    assert set(table.index) == set(RULES) >= {"weighted_sum", "weighted_median", "approval", "instant_runoff",
                                               "schulze"}
    assert table["source"].str.len().min() > 5 and table["summary"].str.len().min() > 10
    with pytest.raises(SchemaError, match="unknown aggregation rule 'borda'"):
        aggregate("borda", pd.DataFrame({"a": [1.0]}))


def test_bad_input_is_refused_by_name():
    baskets = pd.DataFrame({"bread": [2.0, -1.0, 4.0]}, index=COUNCILS)
    with pytest.raises(SchemaError, match="council 'south' asks for -1.0 of 'bread'"):
        weighted_sum(baskets)
    with pytest.raises(SchemaError, match=r"weights lack councils \['east'\]"):
        weighted_sum(baskets.abs(), pd.Series({"north": 1.0, "south": 1.0}))
    with pytest.raises(SchemaError, match="council 'north' has weight -1"):
        weighted_sum(baskets.abs(), pd.Series({"north": -1.0, "south": 1.0, "east": 1.0}))
    with pytest.raises(SchemaError, match="same rank"):
        instant_runoff(pd.DataFrame({"A": [1], "B": [1]}, index=["v"]))
    with pytest.raises(SchemaError, match="rank 0"):
        schulze(pd.DataFrame({"A": [0], "B": [1]}, index=["v"]))
    with pytest.raises(SchemaError, match="holds 1 \\(approve\\) or 0"):
        approval(pd.DataFrame({"A": [2]}, index=["v"]))
    with pytest.raises(SchemaError, match="every entry must be a number"):
        weighted_sum(pd.DataFrame({"A": ["lots"]}, index=["v"]))
    with pytest.raises(SchemaError, match="repeat"):
        weighted_sum(pd.DataFrame({"A": [1.0, 2.0]}, index=["v", "v"]))
