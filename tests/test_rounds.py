"""Rounds from the ledger's entries, without the server: outcomes, replays, quorum, ballot checks."""

from __future__ import annotations

import pytest

from gosplan.democracy import rounds
from gosplan.democracy.ledger import Ledger, verify
from gosplan.errors import SchemaError

T = "2026-05-01T09:00:00Z"


def budget_round(ballots: list[dict]) -> Ledger:
    led = Ledger(clock=lambda: T)
    led.append("round_opened", "planner#1", {
        "round": 1, "kind": "budget", "title": "parks", "rule": "greedy", "council": None,
        "params": {"budget": 10.0, "ballot": "approval"},
        "projects": [{"key": "p3", "name": "park", "cost": 6.0}, {"key": "p11", "name": "pool", "cost": 6.0}]})
    for i, b in enumerate(ballots):
        led.append("budget_ballot", f"member#{i}", {"vote": i + 1, "voter": f"member:{i}", **b})
    led.append("round_closed", "planner#1", {"votes": len(ballots)})
    led.append("budget_outcome", "planner#1", {"result": rounds.budget_from_ledger(led.entries)})
    return led


def test_budget_outcome_from_entries_and_its_replay():
    led = budget_round([{"approve": ["p3"]}] * 3 + [{"approve": ["p11"]}])
    assert led.entries[-1].payload["result"]["funded"] == ["p3"]
    report = verify(led.entries, replay=rounds.REPLAYS)
    assert report.ok and report.replayed == 1


def test_a_recorded_outcome_the_ballots_do_not_give_fails_the_replay():
    led = budget_round([{"approve": ["p3"]}] * 3)
    entries = list(led.entries[:-1])
    forged = Ledger(entries, clock=lambda: T)
    result = dict(led.entries[-1].payload["result"], funded=["p11"])
    forged.append("budget_outcome", "planner#1", {"result": result})
    report = verify(forged.entries, replay=rounds.REPLAYS)
    assert not report.ok and report.field == "replay" and report.index == len(entries)


def election(ballots: list[list[int]], members: int, quorum: float = 0.5) -> Ledger:
    led = Ledger(clock=lambda: T)
    led.append("round_opened", "planner#1", {"round": 2, "kind": "election", "title": "delegates", "rule": "pav",
                                             "council": 1, "params": {"seats": 1, "quorum": quorum}, "candidates": [7, 8]})
    for i, b in enumerate(ballots):
        led.append("election_ballot", f"member#{i}", {"vote": i + 1, "voter": f"member:{i}", "approve": b})
    led.append("round_closed", "planner#1", {"votes": len(ballots), "members": members})
    led.append("election_result", "planner#1", {"result": rounds.election_from_ledger(led.entries, members)})
    return led


@pytest.mark.parametrize("ballots, elected", [([], []), ([[7]], []), ([[7], [7]], [7]), ([[8], [7], [8]], [8])])
def test_no_ballots_no_mandate_and_the_quorum(ballots, elected):
    led = election(ballots, members=4)
    result = led.entries[-1].payload["result"]
    assert result["elected"] == elected
    assert result["quorum_met"] is (len(ballots) >= 2)
    assert verify(led.entries, replay=rounds.REPLAYS).replayed == 1


def test_a_candidate_no_ballot_names_is_not_elected():
    led = election([[7], [7]], members=2)
    led2 = Ledger(clock=lambda: T)
    led2.append("round_opened", "p", {"round": 3, "kind": "election", "title": "two seats", "rule": "pav", "council": 1,
                                      "params": {"seats": 2, "quorum": 0.5}, "candidates": [7, 8]})
    led2.append("election_ballot", "m", {"vote": 1, "voter": "member:1", "approve": [7]})
    assert rounds.election_from_ledger(led2.entries, 2)["elected"] == [7]
    assert led.entries[-1].payload["result"]["elected"] == [7]


@pytest.mark.parametrize("members, quorum, needed", [(1, 0.5, 1), (3, 0.5, 2), (4, 0.5, 2), (10, 0.34, 4), (0, 0.5, 1)])
def test_quorum_needed(members, quorum, needed):
    assert rounds.quorum_needed(members, quorum) == needed


def test_a_foreign_ledger_is_not_replayed():
    led = Ledger(clock=lambda: T)
    led.append("round_opened", "x", {"round": "r1"})
    led.append("budget_outcome", "x", {"result": {"funded": []}})
    report = verify(led.entries, replay=rounds.REPLAYS)
    assert report.ok and report.replayed == 0


@pytest.mark.parametrize("params, data, message", [
    ({"ballot": "approval"}, {"approve": ["p9"]}, "unknown project 'p9'"),
    ({"ballot": "approval"}, {"approve": ["p3", "p3"]}, "appears twice"),
    ({"ballot": "approval", "max_length": 1}, {"approve": ["p3", "p11"]}, "more than the maximum 1"),
    ({"ballot": "approval", "min_length": 2}, {"approve": ["p3"]}, "fewer than the minimum 2"),
    ({"ballot": "cumulative", "max_sum_points": 3}, {"points": {"p3": 4}}, "more than the 3 allowed"),
    ({"ballot": "ordinal"}, {"ranking": []}, "names no project"),
])
def test_ballot_limits_are_checked_once_with_one_wording(params, data, message):
    with pytest.raises(SchemaError, match=message):
        rounds.check_budget_ballot(params, ["p3", "p11"], data)


@pytest.mark.parametrize("q", [float("nan"), float("inf"), -1.0, 1.7e308])
def test_quantities_are_bounded(q):
    with pytest.raises(SchemaError, match="finite"):
        rounds.check_quantities("basket", {"A01": q}, ["A01"])


def test_rule_registries_are_read_from_the_rule_modules():
    from gosplan.democracy.aggregation import RULES
    from gosplan.democracy.budgeting import Rule

    assert {r.replace("-", "_") for r in rounds.BASKET_RULES + rounds.VOTING_RULES} >= set(RULES)
    assert set(rounds.BUDGET_RULES) == {r.value for r in Rule}
    assert rounds.RoundStatus.OPEN == "open" and rounds.RoundKind.BUDGET == "budget"


def test_a_plan_the_solver_refuses_is_recorded_as_failed_not_raised():
    """Defect 7 of issue 18: a basket of 1.7e308 made HiGHS refuse the linear program and the
    round stayed closed for ever. The API bounds quantities now (MAX_QUANTITY); behind it, a
    plan that cannot be computed is an outcome (status ``failed``, a diagnosis, a manifest that
    a replay reproduces) that the round can publish."""
    product = rounds.product_ids(rounds.DEFAULT_ECONOMY)[0]
    plan = rounds.solve_plan(rounds.DEFAULT_ECONOMY, {product: 1.7e308})
    assert plan["status"] == "failed" and "could not be computed" in plan["diagnosis"]
    assert plan["manifest"]["failed"] is True
    assert rounds.solve_plan(rounds.DEFAULT_ECONOMY, {product: 1.7e308})["manifest"] == plan["manifest"]


# -- participatory rounds: every price update recomputed from the recorded proposals --------------


def participatory_proposal(economy, params, council: str, prices: dict, iteration: int) -> dict:
    """A council's proposal as the service records it, made by its councils' techniques and preferences."""
    import pandas as pd

    p = pd.Series(prices)
    workers, consumers = economy.proposals(p)
    inputs = economy.worker_inputs(p)
    share = params["councils"][council]
    inputs = inputs[inputs["worker_council"].isin(share["workers"])]
    asks = {w: dict(zip(g["good"], g["quantity"].astype(float))) for w, g in inputs.groupby("worker_council")}
    return {"iteration": iteration, "council": int(council),
            "workers": {w: {"good": workers.at[w, "good"], "output": float(workers.at[w, "output"]), "inputs": asks[w]}
                        for w in share["workers"]},
            "consumers": {c: [float(consumers.at[c, g]) for g in params["consumer_goods"]] for c in share["consumers"]}}


@pytest.mark.slow
def test_participatory_updates_replay_from_the_ledger_and_a_silent_council_counts_with_its_last_proposal():
    """Year one of dep1ex01 for two iterations, council 3 silent in the second: the recorded prices
    are the library's in the first iteration (the trace's) and every update replays."""
    from gosplan.democracy.participatory import load_pequod_councils, read_pequod_trace

    economy = load_pequod_councils("dep1ex01")
    params = rounds.participatory_params("dep1ex01", [1, 2, 3], "pequod", 700.0, 0.03, 5)
    assert [len(s["workers"]) for s in params["councils"].values()] == [1000, 1000, 1000]
    led = Ledger(clock=lambda: T)
    led.append("round_opened", "planner#1", {"round": 9, "kind": "participatory", "title": "dep1ex01", "rule": "pequod",
                                             "council": None, "params": params})
    prices = params["initial_prices"]
    for k, councils in ((1, ["1", "2", "3"]), (2, ["1", "2"])):
        for c in councils:
            led.append("iteration_proposal", f"delegate#{c}", participatory_proposal(economy, params, c, prices, k))
        outcome = rounds.participatory_outcome(led.entries)
        led.append("prices_updated", "planner#1", {"result": outcome})
        prices = outcome["prices"]
    first, second = (e.payload["result"] for e in led.entries if e.kind == "prices_updated")
    trace = read_pequod_trace("dep1ex01_trace")[0]
    ours = [first["prices"][g] for g in trace["prices"].columns]
    assert max(abs(a / b - 1) for a, b in zip(ours, trace["prices"].iloc[0])) < 1e-9
    assert second["answered"] == {"1": 2, "2": 2, "3": 1} and not second["converged"] and not second["last"]
    report = verify(led.entries, replay=rounds.REPLAYS)
    assert report.ok and report.replayed == 2, report.message
    # an update the proposals do not give fails the replay at that entry
    forged = Ledger(led.entries[:-1], clock=lambda: T)
    forged.append("prices_updated", "planner#1", {"result": {**second, "prices": first["prices"]}})
    report = verify(forged.entries, replay=rounds.REPLAYS)
    assert not report.ok and report.field == "replay" and report.index == len(led.entries) - 1


def test_participatory_round_refusals():
    with pytest.raises(SchemaError, match="rule 'market' is not a participatory price rule; choose one of pequod"):
        rounds.participatory_params("dep1ex01", [1], "market", 700.0, 0.03, 5)
    with pytest.raises(SchemaError, match="not a shipped pequod experiment"):
        rounds.participatory_params("/etc/passwd", [1], "pequod", 700.0, 0.03, 5)
    params = rounds.participatory_params("dep1ex01", [1, 2], "pequod", 700.0, 0.03, 5)
    from gosplan.errors import GosplanError

    with pytest.raises(GosplanError, match="iteration 1: council 2 has not answered in any iteration yet"):
        rounds.iteration_outcome(params, "pequod", None, {"1": {"iteration": 1, "workers": {}, "consumers": {}}})
