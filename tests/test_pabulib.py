"""Tests of gosplan.democracy.pabulib: reading and writing Pabulib `.pb` files.

The four real elections are from Pabulib (Faliszewski et al., IJCAI 2023), mirror
`pabulib/pabulib_files` at commit 88cfaba3, kept in ``data/pabulib`` (see its README) and shipped as datasets (``assen_2024``, ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gosplan.democracy.pabulib import (
    Election,
    VoteType,
    parse_pabulib,
    read_pabulib,
    to_pabulib_string,
    write_pabulib,
)
from gosplan.errors import DuplicateIdError, SchemaError, SourceError, UnknownIdError


def pabulib_dir() -> Path:
    """The raw Pabulib files kept in the repository (the shipped elections are copies of them)."""
    return Path(__file__).resolve().parents[1] / "data" / "pabulib"


FILES = {
    "Netherlands_Assen_2024.pb": ("approval", 84, 14, 100000),
    "Poland_Swiecie_2023.pb": ("approval", 2553, 22, 1070000),
    "Poland_Czestochowa_2024_Mirow.pb": ("cumulative", 379, 11, 272579),
    "Poland_Czestochowa_2024_Lisiniec.pb": ("cumulative", 1356, 34, 364210),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_real_elections_load(name):
    """Each shipped election loads with the counts of the data README's table."""
    vote_type, voters, projects, budget = FILES[name]
    e = read_pabulib(pabulib_dir() / name)
    assert e.vote_type == VoteType(vote_type)
    assert e.n_voters == voters == int(e.meta["num_votes"])
    assert e.n_projects == projects == int(e.meta["num_projects"])
    assert e.budget == budget
    # the votes column of PROJECTS is the number of ballots naming the project
    support = e.support()
    np.testing.assert_array_equal(support["voters"].to_numpy(), e.projects["votes"].to_numpy())
    if e.points is not None:
        np.testing.assert_array_equal(support["points"].to_numpy(), e.projects["score"].to_numpy())
        assert e.limit("max_sum_points") == 10
        assert np.bincount(e.entry_voters, weights=e.points).max() <= 10


@pytest.mark.parametrize("name", sorted(FILES))
def test_round_trip_is_byte_exact(name, tmp_path):
    """write(read(file)) gives the same bytes, and reading it again the same election."""
    src = pabulib_dir() / name
    e = read_pabulib(src)
    out = write_pabulib(e, tmp_path / name)
    assert out.read_bytes() == src.read_bytes()
    again = read_pabulib(out)
    assert dict(again.meta) == dict(e.meta)
    pd.testing.assert_frame_equal(again.projects, e.projects)
    np.testing.assert_array_equal(again.offsets, e.offsets)
    np.testing.assert_array_equal(again.choices, e.choices)
    if e.points is not None:
        np.testing.assert_array_equal(again.points, e.points)
    if e.voters is None:
        assert again.voters is None
    else:
        pd.testing.assert_frame_equal(again.voters, e.voters)


def test_meta_keys_and_ballots_kept():
    e = read_pabulib(pabulib_dir() / "Poland_Czestochowa_2024_Mirow.pb")
    assert list(e.meta)[:3] == ["description", "country", "unit"]
    assert e.meta["district"] == "Mirów"
    assert list(e.voters.columns) == ["sex", "voting_method"]
    first = e.ballot("7")  # line 35: 7;795,435,687;6,2,2;M;internet
    assert first.to_dict() == {"795": 6, "435": 2, "687": 2}
    assert e.voters.loc["7", "sex"] == "M"
    with pytest.raises(UnknownIdError, match="no voter 'nobody'"):
        e.ballot("nobody")


def test_arrays_are_read_only():
    e = read_pabulib(pabulib_dir() / "Netherlands_Assen_2024.pb")
    with pytest.raises(ValueError):
        e.choices[0] = 1
    with pytest.raises(TypeError):
        e.meta["budget"] = "1"  # type: ignore[index]
    with pytest.raises(AttributeError):
        e.source = "elsewhere"  # type: ignore[misc]


def test_pabutools_reads_what_gosplan_writes(tmp_path):
    """The peer library parses gosplan's output to the same instance and profile."""
    from pabutools.election import parse_pabulib as pabu_parse

    e = read_pabulib(pabulib_dir() / "Poland_Czestochowa_2024_Mirow.pb")
    path = write_pabulib(e, tmp_path / "m.pb")
    inst, prof = pabu_parse(str(path))
    assert float(inst.budget_limit) == e.budget
    assert {p.name: float(p.cost) for p in inst} == {k: float(v) for k, v in e.projects["cost"].items()}
    assert len(prof) == e.n_voters
    for ballot, vid in zip(prof, e.voter_ids):
        assert {p.name: float(v) for p, v in ballot.items()} == {k: float(v) for k, v in e.ballot(vid).items()}


# ---------------------------------------------------------------- generated elections
@st.composite
def elections(draw):
    vt = draw(st.sampled_from(list(VoteType)))
    m = draw(st.integers(1, 6))
    costs = draw(st.lists(st.integers(0, 50), min_size=m, max_size=m))
    budget = max(costs) + draw(st.integers(0, 100))
    ids = [f"p{i}" for i in range(m)]
    n = draw(st.integers(0, 8))
    ballots = {}
    for v in range(n):
        k = 1 if vt is VoteType.CHOOSE_1 else m
        chosen = draw(st.lists(st.sampled_from(ids), unique=True, max_size=k))
        if vt.has_points:
            ballots[f"v{v}"] = {p: draw(st.integers(0, 5)) for p in chosen}
        else:
            ballots[f"v{v}"] = chosen
    projects = pd.DataFrame(
        {"cost": costs, "name": [f"project {i}; with a semicolon" for i in range(m)], "category": ["a,b"] * m},
        index=ids,
    )
    voters = pd.DataFrame({"age": [str(20 + v) for v in range(n)]}) if n else None
    meta = {"description": "generated", "budget": budget, "vote_type": vt.value, "currency": "EUR"}
    return Election.from_ballots(meta, projects, ballots, voters=voters)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elections())
def test_generated_round_trip(e):
    text = to_pabulib_string(e)
    again = parse_pabulib(text, source="gen.pb")
    assert to_pabulib_string(again) == text
    assert dict(again.meta) == dict(e.meta)
    np.testing.assert_array_equal(again.offsets, e.offsets)
    np.testing.assert_array_equal(again.choices, e.choices)
    if e.points is not None:
        np.testing.assert_array_equal(again.points, e.points)
    assert list(again.projects["name"]) == list(e.projects["name"])


def test_ordinal_ballot_keeps_ranking():
    projects = pd.DataFrame({"cost": [1, 2, 3]}, index=["a", "b", "c"])
    e = Election.from_ballots({"budget": 6, "vote_type": "ordinal"}, projects, {"x": ["c", "a", "b"]})
    again = parse_pabulib(to_pabulib_string(e))
    assert again.ballot("x").to_dict() == {"c": 1, "a": 2, "b": 3}


# ---------------------------------------------------------------- bad input
ASSEN = pabulib_dir() / "Netherlands_Assen_2024.pb"


def _assen_lines() -> list[str]:
    return ASSEN.read_bytes().decode("utf-8").split("\r\n")


def _parse(lines: list[str]) -> Election:
    return parse_pabulib("\r\n".join(lines), source="bad.pb")


def _line_of(lines: list[str], prefix: str) -> int:
    return next(i for i, l in enumerate(lines) if l.startswith(prefix)) + 1


def test_malformed_line_named():
    lines = _assen_lines()
    i = _line_of(lines, "vote046173fb")
    lines[i - 1] = lines[i - 1] + ";extra"
    with pytest.raises(SourceError, match=rf"bad\.pb:{i}: VOTES line has 3 fields where the header \(voter_id;vote\) has 2"):
        _parse(lines)


def test_unknown_section_named():
    lines = _assen_lines()
    i = _line_of(lines, "VOTES")
    lines[i - 1] = "BALLOTS"
    with pytest.raises(SourceError, match=rf"bad\.pb:{i}: unknown section 'BALLOTS'"):
        _parse(lines)


def test_missing_section_named():
    lines = _assen_lines()
    i = _line_of(lines, "VOTES")
    with pytest.raises(SourceError, match=r"bad\.pb: no VOTES section"):
        _parse(lines[: i - 1])


def test_ballot_with_unknown_project_named():
    lines = _assen_lines()
    i = _line_of(lines, "vote046173fb")
    lines[i - 1] = "vote046173fb-2020-434c-8996-228dbd840ad5;1,99"
    with pytest.raises(
        UnknownIdError,
        match=rf"bad\.pb:{i}: voter 'vote046173fb-2020-434c-8996-228dbd840ad5', field 'vote': project '99' is not in PROJECTS",
    ):
        _parse(lines)


def test_ballot_above_max_length_named():
    lines = _assen_lines()
    lines.insert(_line_of(lines, "min_length"), "max_length;4")
    i = _line_of(lines, "vote01006bcf")  # 1,2,6,9,13: five projects
    with pytest.raises(
        SchemaError,
        match=rf"bad\.pb:{i}: voter 'vote01006bcf-62b6-435d-a0de-2966c3e75249', field 'vote': "
        r"ballot names 5 projects, more than max_length 4",
    ):
        _parse(lines)


def test_limits_can_be_waived_for_published_files():
    """A file whose ballots break its own META limits loads as cast on request."""
    lines = _assen_lines()
    lines.insert(_line_of(lines, "min_length"), "max_length;4")
    e = parse_pabulib("\r\n".join(lines), source="bad.pb", enforce_limits=False)
    assert e.ballot_lengths.max() == 9 and not e.enforce_limits
    with pytest.raises(SchemaError, match="read with enforce_limits=False"):
        _parse(lines)


def test_file_cut_short_at_a_line_boundary_named():
    """Assen's META says num_votes;84; a copy ending after its 10th ballot parses line by line
    without a fault, but 10 ballots are not the election (issue 14): refused, naming the
    line where VOTES ends and both counts, unless limits are waived."""
    lines = _assen_lines()
    head = _line_of(lines, "voter_id;vote")  # the VOTES header
    cut = lines[: head + 10] + [""]
    with pytest.raises(
        SchemaError,
        match=rf"bad\.pb:{head + 10}: the VOTES section ends here after 10 ballots, but META num_votes "
        rf"\(line {_line_of(lines, 'num_votes')}\) says 84; the file may be cut short",
    ):
        _parse(cut)
    e = parse_pabulib("\r\n".join(cut), source="bad.pb", enforce_limits=False)
    assert e.n_voters == 10
    lines[_line_of(lines, "num_votes") - 1] = "num_votes;eighty-four"
    with pytest.raises(SchemaError, match=r"META field 'num_votes' is 'eighty-four', not a whole number"):
        _parse(lines)


def test_project_count_checked_against_meta():
    lines = _assen_lines()
    lines[_line_of(lines, "num_projects") - 1] = "num_projects;15"
    last_project = _line_of(lines, "VOTES") - 1
    with pytest.raises(
        SchemaError, match=rf"bad\.pb:{last_project}: the PROJECTS section ends here after 14 projects, but META num_projects"
    ):
        _parse(lines)


def test_ballot_below_min_length_named():
    lines = _assen_lines()
    i = _line_of(lines, "vote046173fb")
    lines[i - 1] = "vote046173fb-2020-434c-8996-228dbd840ad5;3"
    with pytest.raises(SchemaError, match=rf"bad\.pb:{i}: .*field 'vote': ballot names 1 projects, fewer than min_length 2"):
        _parse(lines)


def test_ballot_above_max_sum_points_named():
    lines = (pabulib_dir() / "Poland_Czestochowa_2024_Mirow.pb").read_bytes().decode("utf-8").split("\r\n")
    i = _line_of(lines, "7;795")
    lines[i - 1] = "7;795,435,687;6,2,3;M;internet"
    with pytest.raises(SchemaError, match=rf"bad\.pb:{i}: voter '7', field 'points': ballot gives 11 points, more than max_sum_points 10"):
        _parse(lines)


def test_points_not_matching_projects_named():
    lines = (pabulib_dir() / "Poland_Czestochowa_2024_Mirow.pb").read_bytes().decode("utf-8").split("\r\n")
    i = _line_of(lines, "7;795")
    lines[i - 1] = "7;795,435,687;6,2;M;internet"
    with pytest.raises(SchemaError, match=rf"bad\.pb:{i}: voter '7', field 'points': 2 points for 3 projects"):
        _parse(lines)


def test_project_dearer_than_budget_named():
    lines = _assen_lines()
    i = _line_of(lines, "8;40000")
    lines[i - 1] = lines[i - 1].replace("8;40000", "8;140000")
    with pytest.raises(SchemaError, match=rf"bad\.pb:{i}: project '8', field 'cost': cost 140000 exceeds the budget 100000"):
        _parse(lines)


def test_duplicate_project_named():
    lines = _assen_lines()
    i = _line_of(lines, "9;21000")
    lines[i - 1] = lines[i - 1].replace("9;21000", "3;21000")
    with pytest.raises(DuplicateIdError, match=rf"bad\.pb:{i}: field 'project_id': project '3' already defined on line {i - 1}"):
        _parse(lines)


def test_duplicate_voter_named():
    lines = _assen_lines()
    i = _line_of(lines, "vote02bb4517")
    lines[i - 1] = "vote01006bcf-62b6-435d-a0de-2966c3e75249;1,2"
    with pytest.raises(
        DuplicateIdError,
        match=rf"bad\.pb:{i}: field 'voter_id': voter 'vote01006bcf-62b6-435d-a0de-2966c3e75249' already voted on line {i - 1}",
    ):
        _parse(lines)


def test_cost_not_a_number_named():
    lines = _assen_lines()
    i = _line_of(lines, "9;21000")
    lines[i - 1] = lines[i - 1].replace("9;21000", "9;lots")
    with pytest.raises(SchemaError, match=rf"bad\.pb:{i}: field 'cost' is 'lots', not a number"):
        _parse(lines)


def test_unknown_vote_type_named():
    lines = _assen_lines()
    i = _line_of(lines, "vote_type")
    lines[i - 1] = "vote_type;plurality"
    with pytest.raises(SchemaError, match=rf"bad\.pb:{i}: field 'vote_type' is 'plurality'"):
        _parse(lines)


def test_missing_file():
    with pytest.raises(SourceError, match="nope.pb: cannot read"):
        read_pabulib(Path("/nonexistent/nope.pb"))


def test_programmatic_election_errors():
    projects = pd.DataFrame({"cost": [5, 20]}, index=["a", "b"])
    with pytest.raises(UnknownIdError, match="voter 'x', field 'vote': project 'z' is not among the projects"):
        Election.from_ballots({"budget": 30, "vote_type": "approval"}, projects, {"x": ["a", "z"]})
    with pytest.raises(SchemaError, match="project 'b', field 'cost': cost 20 exceeds the budget 10"):
        Election.from_ballots({"budget": 10, "vote_type": "approval"}, projects, {"x": ["a"]})
    with pytest.raises(SchemaError, match="voter 'x', field 'vote': project 'a' is named twice"):
        Election.from_ballots({"budget": 30, "vote_type": "approval"}, projects, {"x": ["a", "a"]})
    with pytest.raises(SchemaError, match="voter 'x', field 'points': ballot gives 7 points, more than max_sum_points 5"):
        Election.from_ballots(
            {"budget": 30, "vote_type": "cumulative", "max_sum_points": 5}, projects, {"x": {"a": 3, "b": 4}}
        )
    with pytest.raises(SchemaError, match="voter 'x', field 'vote': a choose-1 ballot names 2 projects"):
        Election.from_ballots({"budget": 30, "vote_type": "choose-1"}, projects, {"x": ["a", "b"]})
    with pytest.raises(SchemaError, match="META has no 'budget'"):
        Election.from_ballots({"vote_type": "approval"}, projects, {})


def test_check_ballot_limits_words_a_single_ballot_as_the_reader_does():
    """One ballot cast in a round gets the same check and words as a ballot in a file."""
    from gosplan.democracy.pabulib import check_ballot_limits

    limits = {"min_length": 2, "max_length": "4", "max_sum_points": 10, "max_points": 6, "max_sum_cost": 100, "name": "x"}
    costs = {"a": 30, "b": 50, "c": 40}
    check_ballot_limits(limits, ["a", "b"], costs)
    check_ballot_limits({"max_length": None}, ["a"])
    with pytest.raises(SchemaError, match=r"^ballot names 1 projects, fewer than min_length 2$"):
        check_ballot_limits(limits, ["a"], costs)
    with pytest.raises(SchemaError, match=r"^ballot names 5 projects, more than max_length 4$"):
        check_ballot_limits(limits, ["a", "b", "c", "d", "e"], costs)
    with pytest.raises(SchemaError, match=r"^ballot's projects cost 120, more than max_sum_cost 100$"):
        check_ballot_limits(limits, ["a", "b", "c"], costs)
    with pytest.raises(SchemaError, match=r"^7 points to project 'b', more than max_points 6$"):
        check_ballot_limits(limits, {"a": 1, "b": 7}, costs)
    with pytest.raises(SchemaError, match=r"^ballot gives 11 points, more than max_sum_points 10$"):
        check_ballot_limits(limits, {"a": 5, "b": 6}, costs)
    with pytest.raises(SchemaError, match="max_sum_cost needs the project costs"):
        check_ballot_limits(limits, ["a", "b"])
    # the reader says the same of the same ballot in a file, with its place and a hint
    lines = _assen_lines()
    lines.insert(_line_of(lines, "min_length"), "max_length;4")
    with pytest.raises(SchemaError, match=r"field 'vote': ballot names 5 projects, more than max_length 4; to load"):
        _parse(lines)
