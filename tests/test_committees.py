"""Tests of gosplan.democracy.committees: electing delegates and recalling them.

References: abcvoting (Lackner, Regner, Krenn, "abcvoting: A Python package for
approval-based multi-winner voting rules", JOSS 2023) for PAV and sequential Phragmén;
pref_voting (Holliday and Pacuit) ``stv_wig`` with the integer Droop quota for STV; and the
worked STV example of Wikipedia's "Single transferable vote" article (the food election).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gosplan.democracy.committees import Mandate, mandates, pav, seq_phragmen, stv
from gosplan.errors import DuplicateIdError, SchemaError, UnknownIdError

FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def approval_profiles(draw):
    m = draw(st.integers(2, 7))
    n = draw(st.integers(1, 10))
    k = draw(st.integers(1, m))
    ballots = [draw(st.lists(st.integers(0, m - 1), unique=True, min_size=1, max_size=m)) for _ in range(n)]
    return m, k, ballots


def _abc(m, ballots):
    from abcvoting.preferences import Profile

    prof = Profile(m)
    prof.add_voters(ballots)
    return prof


def _names(ballots):
    return [[f"c{c}" for c in b] for b in ballots]


def _cands(m):
    return [f"c{i}" for i in range(m)]


def _as_sets(committees):
    return {frozenset(f"c{c}" for c in w) for w in committees}


# ---------------------------------------------------------------- PAV
def test_pav_hand_example():
    """Two seats; three voters approve {a, b}, two approve {c}. Approval voting would elect
    a and b; PAV scores {a, b} 3 x (1 + 1/2) = 4.5 and {a, c} 3 + 2 = 5, so the minority gets
    a seat (the justified-representation example of Aziz et al. 2017)."""
    ballots = [["a", "b"]] * 3 + [["c"]] * 2
    w = pav(["a", "b", "c"], ballots, 2)
    assert w.elected == ("a", "c")
    assert w.score == pytest.approx(5.0)
    assert pav(["a", "b", "c"], ballots, 2, method="ilp").score == pytest.approx(5.0)
    # a adds 3 (its approvers would otherwise have nobody), c adds 2, b would add 3 x 1/2
    assert w.candidates.loc["c", "explanation"] == "elected: approved by 2; adds 2.000 to the committee's PAV score 5.000"
    assert w.candidates.loc["b", "explanation"] == (
        "not elected: approved by 3; would add 1.500, no more than the least a member adds (2.000)"
    )


@FEW
@given(approval_profiles())
def test_pav_explanations_hold(profile):
    """At a PAV optimum no outsider adds more than the member adding least."""
    m, k, ballots = profile
    w = pav(_cands(m), _names(ballots), k)
    t = w.candidates
    adds = t["explanation"].str.extract(r"adds? (\d+\.\d+)")[0].astype(float)
    outsiders = t["explanation"].str.extract(r"would add (\d+\.\d+)")[0].astype(float)
    assert (outsiders[~t["elected"]] <= adds[t["elected"]].min() + 1e-3).all()


@FEW
@given(approval_profiles())
def test_pav_agrees_with_abcvoting(profile):
    from abcvoting import abcrules

    m, k, ballots = profile
    ref = _as_sets(abcrules.compute("pav", _abc(m, ballots), k, resolute=False, algorithm="brute-force"))
    mine = pav(_cands(m), _names(ballots), k)
    assert frozenset(mine.elected) in ref
    ilp = pav(_cands(m), _names(ballots), k, method="ilp")
    assert frozenset(ilp.elected) in ref
    assert ilp.score == pytest.approx(mine.score)


# ---------------------------------------------------------------- seq-Phragmén
@FEW
@given(approval_profiles())
def test_seq_phragmen_agrees_with_abcvoting(profile):
    from abcvoting import abcrules

    m, k, ballots = profile
    prof = _abc(m, ballots)
    mine = seq_phragmen(_cands(m), _names(ballots), k)
    assert frozenset(mine.elected) in _as_sets(abcrules.compute("seqphragmen", prof, k, resolute=False))
    # and the same committee as abcvoting's resolute answer (ties to the earlier candidate)
    assert frozenset(mine.elected) == next(iter(_as_sets(abcrules.compute("seqphragmen", prof, k, resolute=True))))


def test_seq_phragmen_loads():
    """a: 3 approvers, loads 1/3; then b (2 approvers) at 1/2 beats a second seat for the
    first group ((1 + 3 x 1/3) / 3 = 2/3)."""
    ballots = [["a", "x"]] * 3 + [["b"]] * 2
    w = seq_phragmen(["a", "x", "b"], ballots, 2)
    assert w.elected == ("a", "b")
    assert w.candidates.loc["b", "explanation"].startswith("elected in round 2: its 2 approvers each carried a load of 0.5000")


# ---------------------------------------------------------------- STV
def test_stv_wikipedia_food_election():
    """Wikipedia, "Single transferable vote", worked example: 20 voters, 3 seats, Droop
    quota 6; Chocolate (12 first preferences) is elected, its surplus of 6 passes on at
    half value; Pear is eliminated and Orange elected; then Strawberry."""
    ballots = (
        [["Orange"]] * 4
        + [["Pear", "Orange"]] * 2
        + [["Chocolate", "Strawberry"]] * 8
        + [["Chocolate", "Hamburger"]] * 4
        + [["Strawberry"]]
        + [["Hamburger"]]
    )
    cands = ["Orange", "Pear", "Chocolate", "Strawberry", "Hamburger"]
    w = stv(cands, ballots, 3)
    assert w.quota == 6
    assert w.elected == ("Chocolate", "Orange", "Strawberry")
    assert w.candidates.loc["Pear", "explanation"].startswith("eliminated")
    d = w.to_dict()
    assert d["elected"] == ["Chocolate", "Orange", "Strawberry"] and d["quota"] == 6
    assert {r["candidate"]: r["round"] for r in d["candidates"]}["Orange"] == 2


@st.composite
def rankings(draw):
    m = draw(st.integers(2, 6))
    n = draw(st.integers(1, 14))
    k = draw(st.integers(1, m))
    rows = [draw(st.permutations(range(m)))[: draw(st.integers(1, m))] for _ in range(n)]
    return m, k, rows


@FEW
@given(rankings())
def test_stv_agrees_with_pref_voting(case):
    from pref_voting.profiles_with_ties import ProfileWithTies
    from pref_voting.proportional_methods import stv_wig

    m, k, rows = case
    prof = ProfileWithTies([{c: i + 1 for i, c in enumerate(r)} for r in rows], candidates=list(range(m)))
    ref = {f"c{c}" for c in stv_wig(prof, num_seats=k, quota_rule="droop")}
    mine = stv(_cands(m), _names(rows), k)
    assert set(mine.elected) == ref
    assert len(mine.elected) == k


# ---------------------------------------------------------------- errors
def test_ballot_errors_name_the_culprit():
    with pytest.raises(UnknownIdError, match="ballot of voter 'ann' names 'zed', who is not a candidate"):
        pav(["a", "b"], {"ann": ["a", "zed"]}, 1)
    with pytest.raises(SchemaError, match="ballot of voter '0' ranks 'a' twice"):
        stv(["a", "b"], [["a", "a"]], 1)
    with pytest.raises(SchemaError, match="3 seats but only 2 candidates"):
        seq_phragmen(["a", "b"], [["a"]], 3)
    with pytest.raises(DuplicateIdError, match="candidate 'a' is listed twice"):
        stv(["a", "a"], [["a"]], 1)
    with pytest.raises(SchemaError, match="pav: method='magic'"):
        pav(["a", "b"], [["a"]], 1, method="magic")


# ---------------------------------------------------------------- recall
def _council():
    members = [f"m{i}" for i in range(10)]
    w = seq_phragmen(["ana", "ben", "cai"], {m: ["ana"] if i < 6 else ["ben"] for i, m in enumerate(members)}, 2)
    return members, mandates(w, "north", members, recall_threshold=0.5)


def test_mandates_from_election():
    members, ms = _council()
    assert [m.delegate for m in ms] == ["ana", "ben"]
    assert all(m.active and m.council == "north" and m.signatures_needed == 5 for m in ms)


def test_recall_reaching_threshold_ends_mandate_and_calls_election():
    members, (ana, _) = _council()
    r = ana.petition(members[:5] + ["m0"])  # m0 twice counts once
    assert r.reached and r.new_election
    assert len(r.signers) == 5
    assert not r.mandate.active and r.mandate.ended_by == "recall"
    assert ana.active  # the old value is unchanged: mandates are immutable
    assert r.explanation() == "5 of 10 members signed; 5 needed: the mandate of 'ana' ends; council 'north' elects again"
    with pytest.raises(SchemaError, match="has already ended"):
        r.mandate.petition(members)


def test_recall_below_threshold_keeps_mandate():
    members, (ana, _) = _council()
    r = ana.petition(members[:4])
    assert not r.reached and not r.new_election
    assert r.mandate is ana and ana.active


def test_recall_refuses_non_members():
    members, (ana, _) = _council()
    with pytest.raises(UnknownIdError, match=r"'stranger' not a member of council 'north'"):
        ana.petition(members[:6] + ["stranger"])


def test_recall_threshold_validated():
    with pytest.raises(SchemaError, match="recall threshold 0 must be a share of members in"):
        Mandate("ana", "north", frozenset({"m1"}), recall_threshold=0)
    assert Mandate("ana", "north", frozenset({"m1", "m2", "m3"}), recall_threshold=0.5).signatures_needed == 2
