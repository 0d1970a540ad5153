"""Participatory-budgeting elections and the Pabulib `.pb` file format.

An `Election` is one budget round: the META facts (budget, vote type, limits on ballots),
the candidate projects (a table indexed by project id) and the ballots. Ballots are stored
columnar, as in a CSR sparse matrix: `offsets[i]:offsets[i + 1]` slices voter `i`'s entries
out of `choices` (project positions, in ballot order, so an ordinal ballot keeps its ranking)
and `points` (cumulative or scoring ballots only). A city of 100,000 voters and 500 projects
is a few megabytes and every rule works on these arrays without a Python object per ballot.

The reader keeps everything the file says (every META key, every project and voter column,
their order), so that writing an election back gives the same bytes for the files Pabulib
ships (CRLF line ends, `;` separators). It refuses a file it cannot trust, naming the file,
line and field: a malformed line, an unknown section, a ballot naming an unknown project or
breaking the election's limits (`min_length`, `max_length`, `min_sum_points`,
`max_sum_points`, `max_points`, `min_points`, `max_sum_cost`), a project costing more than the
budget, a duplicate project or voter id.

Format: Faliszewski, Flis, Peters, Pierczyński, Skowron, Stolicki, Szufa, Talmon,
"Participatory Budgeting: Data, Tools and Analysis", IJCAI 2023, and pabulib.org/format.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from gosplan import datasets
from gosplan.errors import DuplicateIdError, SchemaError, SourceError, UnknownIdError

__all__ = [
    "VoteType",
    "Election",
    "read_pabulib",
    "parse_pabulib",
    "write_pabulib",
    "to_pabulib_string",
]


class VoteType(StrEnum):
    """The kinds of ballot Pabulib knows."""

    APPROVAL = "approval"
    CHOOSE_1 = "choose-1"
    CUMULATIVE = "cumulative"
    SCORING = "scoring"
    ORDINAL = "ordinal"

    @property
    def has_points(self) -> bool:
        return self in (VoteType.CUMULATIVE, VoteType.SCORING)


_SECTIONS = ("META", "PROJECTS", "VOTES")
# META keys that bound a single ballot; checked on every ballot.
_LIMIT_KEYS = (
    "min_length",
    "max_length",
    "min_sum_points",
    "max_sum_points",
    "min_points",
    "max_points",
    "max_sum_cost",
    "min_sum_cost",
)


class _BallotProblem(Exception):
    """Internal: which ballot (or project row) is wrong, which field, and why."""

    def __init__(self, index: int, field_name: str, message: str, kind: type[Exception] = SchemaError):
        super().__init__(message)
        self.index = index
        self.field_name = field_name
        self.message = message
        self.kind = kind


def _lossless_numbers(values: Sequence[str]) -> np.ndarray | None:
    """Parse text into int64 or float64 if writing the numbers back gives the same text."""
    try:
        ints = [int(v) for v in values]
    except ValueError:
        ints = None
    if ints is not None and all(str(i) == v for i, v in zip(ints, values)):
        return np.asarray(ints, dtype=np.int64)
    try:
        floats = [float(v) for v in values]
    except ValueError:
        return None
    if all(repr(f) == v and math.isfinite(f) for f, v in zip(floats, values)):
        return np.asarray(floats, dtype=np.float64)
    return None


def _format_number(x) -> str:
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return repr(float(x))


def _read_only(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Election:
    """One participatory-budgeting round: META facts, candidate projects, ballots.

    Parameters
    ----------
    meta
        Every META key and its text value, in file order. ``budget`` and ``vote_type`` are
        required; the ballot limits listed in the module docstring are enforced when present.
    projects
        One row per project, indexed by project id (``str``), with a numeric ``cost`` column
        and any further columns (name, category, district, votes, score, selected, ...).
    voter_ids
        One id per ballot (``str``), unique.
    offsets
        ``int64`` array of length ``n_voters + 1``: ballot ``i`` is entries
        ``offsets[i]:offsets[i + 1]``.
    choices
        ``int32`` positions into ``projects`` of every ballot entry, in ballot order (for an
        ordinal ballot, most preferred first).
    points
        Points of every entry for cumulative and scoring ballots, else ``None``.
    voters
        Further voter columns (age, sex, voting method, ...) as text, indexed like
        ``voter_ids``; ``None`` if the file has none.
    vote_columns
        Header of the VOTES section in file order (kept for exact round trips).
    source
        Where the election came from, used in messages.
    enforce_limits
        Refuse ballots that break the META limits (lengths, points, ballot cost). Set to
        False to keep ballots as they were cast where a published file breaks its own limits.

    Notes
    -----
    Frozen and validated on construction: arrays are read-only copies; change an election
    with ``dataclasses.replace``, which validates again.
    """

    meta: Mapping[str, str]
    projects: pd.DataFrame
    voter_ids: pd.Index
    offsets: np.ndarray
    choices: np.ndarray
    points: np.ndarray | None = None
    voters: pd.DataFrame | None = None
    vote_columns: tuple[str, ...] = ()
    source: str = "<election>"
    enforce_limits: bool = True
    _line_of_ballot: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        src = self.source
        meta = dict(self.meta)
        for key in ("budget", "vote_type"):
            if key not in meta:
                raise SchemaError(f"{src}: META has no '{key}'; every Pabulib election needs one")
        try:
            VoteType(meta["vote_type"])
        except ValueError:
            raise SchemaError(
                f"{src}: META field 'vote_type' is {meta['vote_type']!r}; "
                f"use one of {', '.join(v.value for v in VoteType)}"
            ) from None
        budget = _meta_number(meta, "budget", src)
        if budget < 0:
            raise SchemaError(f"{src}: META field 'budget' is negative ({meta['budget']})")
        for key in _LIMIT_KEYS:
            if key in meta:
                _meta_number(meta, key, src)
        object.__setattr__(self, "meta", MappingProxyType(meta))

        projects = self.projects.copy()
        projects.index = pd.Index([str(p) for p in projects.index], name="project_id", dtype=object)
        if "cost" not in projects.columns:
            raise SchemaError(f"{src}: the projects have no 'cost' column")
        if projects.index.has_duplicates:
            dup = projects.index[projects.index.duplicated()][0]
            raise DuplicateIdError(f"{src}: project id {dup!r} appears more than once; give each project its own id")
        try:
            _check_projects(projects, budget)
        except _BallotProblem as p:
            raise p.kind(f"{src}: project {projects.index[p.index]!r}, field '{p.field_name}': {p.message}") from None
        object.__setattr__(self, "projects", projects)

        voter_ids = pd.Index([str(v) for v in self.voter_ids], name="voter_id", dtype=object)
        if voter_ids.has_duplicates:
            dup = voter_ids[voter_ids.duplicated()][0]
            raise DuplicateIdError(f"{src}: voter id {dup!r} appears more than once; each ballot needs its own id")
        object.__setattr__(self, "voter_ids", voter_ids)
        offsets = np.asarray(self.offsets, dtype=np.int64)
        choices = np.asarray(self.choices, dtype=np.int32)
        n = len(voter_ids)
        if offsets.shape != (n + 1,) or offsets[0] != 0 or offsets[-1] != len(choices) or np.any(np.diff(offsets) < 0):
            raise SchemaError(
                f"{src}: ballot offsets must be non-decreasing, start at 0, end at the number of entries "
                f"({len(choices)}) and have one more entry than voters ({n})"
            )
        points = None
        if self.points is not None:
            points = np.asarray(self.points)
            if points.dtype.kind not in "iuf":
                raise SchemaError(f"{src}: ballot points must be numbers")
            if points.shape != choices.shape:
                raise SchemaError(f"{src}: {len(points)} points for {len(choices)} ballot entries")
        vt = VoteType(meta["vote_type"])
        if vt.has_points and points is None:
            raise SchemaError(f"{src}: a {vt} election needs points on its ballots (VOTES column 'points')")
        if not vt.has_points and points is not None:
            raise SchemaError(f"{src}: a {vt} election has no points; drop the 'points' column or change META 'vote_type'")
        object.__setattr__(self, "offsets", _read_only(offsets))
        object.__setattr__(self, "choices", _read_only(choices))
        object.__setattr__(self, "points", None if points is None else _read_only(points))
        if self.voters is not None:
            voters = self.voters.copy()
            if len(voters) != n:
                raise SchemaError(f"{src}: voter table has {len(voters)} rows for {n} ballots")
            voters.index = voter_ids
            object.__setattr__(self, "voters", voters)
        if not self.vote_columns:
            cols = ["voter_id", "vote"] + (["points"] if points is not None else [])
            if self.voters is not None:
                cols += list(self.voters.columns)
            object.__setattr__(self, "vote_columns", tuple(cols))
        try:
            _check_ballots(self)
        except _BallotProblem as p:
            if self._line_of_ballot is not None:
                where = f"{src}:{int(self._line_of_ballot[p.index])}"
            else:
                where = src
            raise p.kind(f"{where}: voter {voter_ids[p.index]!r}, field '{p.field_name}': {p.message}") from None

    # ------------------------------------------------------------------ views
    @property
    def budget(self) -> float:
        """The money (or hours) the round may spend, META ``budget``."""
        return _meta_number(self.meta, "budget", self.source)

    @property
    def vote_type(self) -> VoteType:
        return VoteType(self.meta["vote_type"])

    @property
    def n_voters(self) -> int:
        return len(self.voter_ids)

    @property
    def n_projects(self) -> int:
        return len(self.projects)

    @property
    def project_ids(self) -> pd.Index:
        return self.projects.index

    @property
    def costs(self) -> np.ndarray:
        """Project costs as float64, in the order of ``projects``."""
        return self.projects["cost"].to_numpy(dtype=np.float64)

    @property
    def ballot_lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def entry_voters(self) -> np.ndarray:
        """The voter position of every ballot entry (the CSR row index, expanded)."""
        return np.repeat(np.arange(self.n_voters, dtype=np.int64), self.ballot_lengths)

    def limit(self, key: str) -> float | None:
        """A numeric META limit (``max_length``, ``max_sum_points``, ...) or ``None``."""
        return _meta_number(self.meta, key, self.source) if key in self.meta else None

    def ballot(self, voter_id: str) -> pd.Series:
        """One voter's ballot: points (or 1 for approval, rank from 1 for ordinal) by project id."""
        try:
            i = self.voter_ids.get_loc(str(voter_id))
        except KeyError:
            raise UnknownIdError(f"{self.source}: no voter {voter_id!r}") from None
        sl = slice(self.offsets[i], self.offsets[i + 1])
        ids = self.project_ids[self.choices[sl]]
        if self.points is not None:
            values = self.points[sl]
        elif self.vote_type is VoteType.ORDINAL:
            values = np.arange(1, sl.stop - sl.start + 1)
        else:
            values = np.ones(sl.stop - sl.start, dtype=np.int64)
        return pd.Series(values, index=pd.Index(ids, name="project_id"), name=str(voter_id))

    def support(self) -> pd.DataFrame:
        """Per project: ``voters`` (ballots naming it) and ``points`` (sum of points, or voters)."""
        m = self.n_projects
        voters = np.bincount(self.choices, minlength=m)
        pts = voters.astype(np.float64) if self.points is None else np.bincount(self.choices, weights=self.points, minlength=m)
        return pd.DataFrame({"voters": voters, "points": pts}, index=self.project_ids)

    def incidence(self):
        """``scipy.sparse.csr_array`` voters x projects: points, or 1 for each project named."""
        from scipy import sparse

        data = np.ones(len(self.choices)) if self.points is None else self.points.astype(np.float64)
        return sparse.csr_array((data, self.choices, self.offsets), shape=(self.n_voters, self.n_projects))

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_ballots(
        cls,
        meta: Mapping[str, object],
        projects: pd.DataFrame,
        ballots: Mapping[str, Sequence[str] | Mapping[str, float]],
        voters: pd.DataFrame | None = None,
        source: str = "<election>",
    ) -> "Election":
        """Build an election from ballots given per voter.

        Parameters
        ----------
        meta
            META fields; values are turned into text (``budget`` and ``vote_type`` required).
        projects
            Table indexed by project id with a ``cost`` column.
        ballots
            ``{voter_id: [project ids]}`` for approval, choose-1 and ordinal ballots (ordinal:
            most preferred first) or ``{voter_id: {project_id: points}}`` for cumulative and
            scoring ballots.
        """
        meta_s = {str(k): _format_meta(v) for k, v in meta.items()}
        pos = {str(p): i for i, p in enumerate(projects.index)}
        offsets = [0]
        choices: list[int] = []
        points: list[float] = []
        known = {v.value for v in VoteType}
        has_points = meta_s.get("vote_type") in known and VoteType(meta_s["vote_type"]).has_points
        for voter, ballot in ballots.items():
            items = ballot.items() if isinstance(ballot, Mapping) else ((p, 1) for p in ballot)
            for p, pt in items:
                if str(p) not in pos:
                    raise UnknownIdError(f"{source}: voter {voter!r}, field 'vote': project {p!r} is not among the projects")
                choices.append(pos[str(p)])
                points.append(pt)
            offsets.append(len(choices))
        pts = None
        if has_points:
            arr = np.asarray(points)
            pts = arr.astype(np.int64) if np.all(arr == np.round(arr)) else arr.astype(np.float64)
        return cls(
            meta=meta_s,
            projects=projects,
            voter_ids=pd.Index([str(v) for v in ballots]),
            offsets=np.asarray(offsets, dtype=np.int64),
            choices=np.asarray(choices, dtype=np.int32),
            points=pts,
            voters=voters,
            source=source,
        )


def _format_meta(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _meta_number(meta: Mapping[str, str], key: str, src: str) -> float:
    text = str(meta[key]).strip().replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise SchemaError(f"{src}: META field '{key}' is {meta[key]!r}, not a number") from None
    if not math.isfinite(value):
        raise SchemaError(f"{src}: META field '{key}' is {meta[key]!r}, not a finite number")
    return value


def _check_projects(projects: pd.DataFrame, budget: float) -> None:
    cost = projects["cost"]
    if cost.dtype.kind not in "iuf":
        raise _BallotProblem(0, "cost", "costs must be numbers")
    c = cost.to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(c) | (c < 0))
    if len(bad):
        raise _BallotProblem(int(bad[0]), "cost", f"cost {cost.iloc[bad[0]]} is not a non-negative number")
    over = np.flatnonzero(c > budget)
    if len(over):
        i = int(over[0])
        raise _BallotProblem(
            i, "cost", f"cost {_format_number(cost.iloc[i])} exceeds the budget {_format_number(budget)}; "
            "no rule could fund it: split the project or correct the cost"
        )


def _first(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if len(idx) else None


def _check_ballots(e: Election) -> None:
    """Find the first ballot that breaks the election's rules; raise `_BallotProblem` for it."""
    n, m = e.n_voters, e.n_projects
    lengths = e.ballot_lengths
    if len(e.choices) and (e.choices.min() < 0 or e.choices.max() >= m):
        i = _first(np.bincount(e.entry_voters[(e.choices < 0) | (e.choices >= m)], minlength=n) > 0)
        raise _BallotProblem(i, "vote", f"a ballot entry points outside the {m} projects", UnknownIdError)
    rows = e.entry_voters
    if len(e.choices):
        key = rows * m + e.choices
        order = np.argsort(key, kind="stable")
        dup = np.flatnonzero(np.diff(key[order]) == 0)
        if len(dup):
            j = order[dup[0] + 1]
            raise _BallotProblem(
                int(rows[j]), "vote", f"project {e.project_ids[e.choices[j]]!r} is named twice; name each project once"
            )
    vt = e.vote_type
    if vt is VoteType.CHOOSE_1:
        i = _first(lengths > 1)
        if i is not None:
            raise _BallotProblem(i, "vote", f"a choose-1 ballot names {lengths[i]} projects; it may name one")
    if e.points is not None:
        pts = e.points
        if (j := _first(~np.isfinite(pts.astype(np.float64)) | (pts < 0))) is not None:
            raise _BallotProblem(int(rows[j]), "points", f"points {pts[j]} are not a non-negative number")
    if e.enforce_limits:
        _check_limits(e, lengths, rows)


_HINT = "; to load the ballots as cast, read with enforce_limits=False"


def _check_limits(e: Election, lengths: np.ndarray, rows: np.ndarray) -> None:
    """The META limits on a single ballot (the ones a city sets for its voters)."""
    n = e.n_voters
    lo, hi = e.limit("min_length"), e.limit("max_length")
    if hi is not None and (i := _first(lengths > hi)) is not None:
        raise _BallotProblem(i, "vote", f"ballot names {lengths[i]} projects, more than max_length {_format_meta(hi)}{_HINT}")
    if lo is not None and (i := _first(lengths < lo)) is not None:
        raise _BallotProblem(i, "vote", f"ballot names {lengths[i]} projects, fewer than min_length {_format_meta(lo)}{_HINT}")
    costs = e.costs
    for key, op, what in (("max_sum_cost", np.greater, "more"), ("min_sum_cost", np.less, "less")):
        limit = e.limit(key)
        if limit is not None:
            spent = np.bincount(rows, weights=costs[e.choices], minlength=n)
            if (i := _first(op(spent, limit))) is not None:
                raise _BallotProblem(
                    i, "vote", f"ballot's projects cost {_format_meta(float(spent[i]))}, {what} than {key} {_format_meta(limit)}{_HINT}"
                )
    if e.points is not None:
        pts = e.points
        for key, op, what in (("max_points", np.greater, "more"), ("min_points", np.less, "fewer")):
            limit = e.limit(key)
            if limit is not None and (j := _first(op(pts, limit))) is not None:
                raise _BallotProblem(
                    int(rows[j]), "points",
                    f"{pts[j]} points to project {e.project_ids[e.choices[j]]!r}, {what} than {key} {_format_meta(limit)}{_HINT}",
                )
        total = np.bincount(rows, weights=pts.astype(np.float64), minlength=n)
        for key, op, what in (("max_sum_points", np.greater, "more"), ("min_sum_points", np.less, "fewer")):
            limit = e.limit(key)
            if limit is not None and (i := _first(op(total, limit))) is not None:
                raise _BallotProblem(
                    i, "points", f"ballot gives {_format_meta(float(total[i]))} points, {what} than {key} {_format_meta(limit)}{_HINT}"
                )


# ---------------------------------------------------------------------- reading
def read_pabulib(path: str | Path, enforce_limits: bool = True) -> Election:
    """Read a Pabulib ``.pb`` file, or a shipped election by name (``"assen_2024"``), into an `Election`.

    ``enforce_limits=False`` keeps ballots that break the file's own META limits (lengths,
    points, ballot cost) instead of refusing the file; see `Election`.

    Raises
    ------
    SourceError
        The file is missing or malformed: a line with the wrong number of fields, text
        outside a section, an unknown or repeated section, a missing required column.
    SchemaError
        The content breaks the election's rules (unknown project in a ballot, duplicate id,
        a ballot over its limits, a project costing more than the budget); the message names
        the line and field.
    """
    path = datasets.resolve(path, "election")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    return parse_pabulib(text, source=str(path), enforce_limits=enforce_limits)


def parse_pabulib(text: str, source: str = "<string>", enforce_limits: bool = True) -> Election:
    """Parse the text of a Pabulib file; see `read_pabulib`."""
    lines = text.splitlines()
    sections: dict[str, tuple[int, list[str], list[tuple[int, list[str]]]]] = {}
    current: str | None = None
    reader = csv.reader(lines, delimiter=";")
    expect_header = False
    for lineno, row in enumerate(reader, start=1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        first = row[0].strip()
        if len(row) == 1 and first.upper() == first and first.replace("_", "").isalpha():
            if first not in _SECTIONS:
                raise SourceError(
                    f"{source}:{lineno}: unknown section {first!r}; a Pabulib file has the sections META, PROJECTS, VOTES"
                )
            if first in sections:
                raise SourceError(f"{source}:{lineno}: section {first} appears twice")
            current = first
            expect_header = True
            continue
        if current is None:
            raise SourceError(f"{source}:{lineno}: text before the first section; a Pabulib file starts with META")
        if expect_header:
            header = [h.strip() for h in row]
            sections[current] = (lineno, header, [])
            expect_header = False
            continue
        header = sections[current][1]
        if len(row) != len(header):
            raise SourceError(
                f"{source}:{lineno}: {current} line has {len(row)} fields where the header "
                f"({';'.join(header)}) has {len(header)}; check for a stray or missing ';'"
            )
        sections[current][2].append((lineno, row))
    if expect_header:
        raise SourceError(f"{source}: section {current} has no header line")
    for name in _SECTIONS:
        if name not in sections:
            raise SourceError(f"{source}: no {name} section; a Pabulib file has META, PROJECTS and VOTES")

    # META
    meta: dict[str, str] = {}
    for lineno, row in sections["META"][2]:
        key = row[0].strip()
        if key in meta:
            raise SourceError(f"{source}:{lineno}: META key {key!r} appears twice")
        meta[key] = row[1]
    for key in ("budget", "vote_type"):
        if key not in meta:
            raise SourceError(f"{source}:{sections['META'][0]}: META has no {key!r}; add a line '{key};...'")
    try:
        vote_type = VoteType(meta["vote_type"].strip())
    except ValueError:
        line = next(ln for ln, r in sections["META"][2] if r[0].strip() == "vote_type")
        raise SchemaError(
            f"{source}:{line}: field 'vote_type' is {meta['vote_type']!r}; use one of "
            f"{', '.join(v.value for v in VoteType)}"
        ) from None
    for key in ("budget",) + _LIMIT_KEYS:
        if key in meta:
            try:
                _meta_number(meta, key, source)
            except SchemaError:
                line = next(ln for ln, r in sections["META"][2] if r[0].strip() == key)
                raise SchemaError(f"{source}:{line}: META field {key!r} is {meta[key]!r}, not a number") from None

    # PROJECTS
    plineno, pheader, prows = sections["PROJECTS"]
    for col in ("project_id", "cost"):
        if col not in pheader:
            raise SourceError(f"{source}:{plineno}: PROJECTS header has no {col!r} column")
    if len(set(pheader)) != len(pheader):
        raise SourceError(f"{source}:{plineno}: PROJECTS header names a column twice")
    id_col = pheader.index("project_id")
    ids = [r[id_col].strip() for _, r in prows]
    seen: dict[str, int] = {}
    for (lineno, _), pid in zip(prows, ids):
        if pid in seen:
            raise DuplicateIdError(
                f"{source}:{lineno}: field 'project_id': project {pid!r} already defined on line {seen[pid]}; give each project its own id"
            )
        seen[pid] = lineno
    columns: dict[str, object] = {}
    for j, col in enumerate(pheader):
        if j == id_col:
            continue
        values = [r[j] for _, r in prows]
        if col == "cost":
            parsed = _lossless_numbers(values)
            if parsed is None:
                out = []
                for (lineno, _), v in zip(prows, values):
                    try:
                        out.append(float(v.strip().replace(",", ".")))
                    except ValueError:
                        raise SchemaError(f"{source}:{lineno}: field 'cost' is {v!r}, not a number") from None
                parsed = np.asarray(out)
            columns[col] = parsed
        else:
            parsed = _lossless_numbers(values) if values else None
            columns[col] = parsed if parsed is not None else pd.array(values, dtype=object)
    projects = pd.DataFrame(columns, index=pd.Index(ids, name="project_id", dtype=object))
    budget = _meta_number(meta, "budget", source)
    try:
        _check_projects(projects, budget)
    except _BallotProblem as p:
        raise p.kind(f"{source}:{prows[p.index][0]}: project {ids[p.index]!r}, field '{p.field_name}': {p.message}") from None

    # VOTES
    vlineno, vheader, vrows = sections["VOTES"]
    for col in ("voter_id", "vote") + (("points",) if vote_type.has_points else ()):
        if col not in vheader:
            raise SourceError(f"{source}:{vlineno}: VOTES header has no {col!r} column (needed for {vote_type} ballots)")
    if len(set(vheader)) != len(vheader):
        raise SourceError(f"{source}:{vlineno}: VOTES header names a column twice")
    vi, vv = vheader.index("voter_id"), vheader.index("vote")
    vp = vheader.index("points") if vote_type.has_points else None
    extra = [j for j in range(len(vheader)) if j not in (vi, vv, vp)]
    pos = {pid: i for i, pid in enumerate(ids)}
    voter_ids: list[str] = []
    offsets = np.zeros(len(vrows) + 1, dtype=np.int64)
    choices: list[int] = []
    point_text: list[str] = []
    seen_v: dict[str, int] = {}
    for b, (lineno, row) in enumerate(vrows):
        vid = row[vi].strip()
        if vid in seen_v:
            raise DuplicateIdError(
                f"{source}:{lineno}: field 'voter_id': voter {vid!r} already voted on line {seen_v[vid]}; each ballot needs its own id"
            )
        seen_v[vid] = lineno
        voter_ids.append(vid)
        vote = row[vv].strip()
        names = vote.split(",") if vote else []
        for name in names:
            p = pos.get(name.strip())
            if p is None:
                raise UnknownIdError(
                    f"{source}:{lineno}: voter {vid!r}, field 'vote': project {name.strip()!r} is not in PROJECTS; "
                    "correct the ballot or add the project"
                )
            choices.append(p)
        if vp is not None:
            ptext = row[vp].strip()
            pts = ptext.split(",") if ptext else []
            if len(pts) != len(names):
                raise SchemaError(
                    f"{source}:{lineno}: voter {vid!r}, field 'points': {len(pts)} points for {len(names)} projects; "
                    "give one number per project in 'vote'"
                )
            point_text.extend(p.strip() for p in pts)
        offsets[b + 1] = len(choices)
    points = None
    if vp is not None:
        points = _lossless_numbers(point_text) if point_text else np.zeros(0, dtype=np.int64)
        if points is None:
            vals = []
            entry_line = np.repeat([ln for ln, _ in vrows], np.diff(offsets))
            for k, t in enumerate(point_text):
                try:
                    vals.append(float(t.replace(",", ".")))
                except ValueError:
                    raise SchemaError(f"{source}:{entry_line[k]}: field 'points': {t!r} is not a number") from None
            points = np.asarray(vals)
    voters = None
    if extra:
        voters = pd.DataFrame({vheader[j]: pd.array([r[j] for _, r in vrows], dtype=object) for j in extra})
    return Election(
        meta=meta,
        projects=projects,
        voter_ids=pd.Index(voter_ids, dtype=object),
        offsets=offsets,
        choices=np.asarray(choices, dtype=np.int32),
        points=points,
        voters=voters,
        vote_columns=tuple(vheader),
        source=source,
        enforce_limits=enforce_limits,
        _line_of_ballot=np.asarray([ln for ln, _ in vrows], dtype=np.int64),
    )


# ---------------------------------------------------------------------- writing
def _cell(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return ""
    if isinstance(x, (bool, np.bool_)):
        return str(int(x))
    if isinstance(x, (int, np.integer, float, np.floating)):
        return _format_number(x)
    return str(x)


def to_pabulib_string(election: Election, newline: str = "\r\n") -> str:
    """The Pabulib text of an election (``;`` separated, CRLF line ends as Pabulib ships)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator=newline)
    w.writerow(["META"])
    w.writerow(["key", "value"])
    for k, v in election.meta.items():
        w.writerow([k, v])
    w.writerow(["PROJECTS"])
    cols = list(election.projects.columns)
    w.writerow(["project_id", *cols])
    frame = election.projects
    col_values = [frame[c].tolist() for c in cols]
    for i, pid in enumerate(frame.index):
        w.writerow([pid, *(_cell(v[i]) for v in col_values)])
    w.writerow(["VOTES"])
    w.writerow(list(election.vote_columns))
    ids = election.project_ids.to_numpy()
    extra = election.voters
    extra_cols = {c: extra[c].tolist() for c in extra.columns} if extra is not None else {}
    pts = election.points.tolist() if election.points is not None else None
    off = election.offsets
    for i, vid in enumerate(election.voter_ids):
        a, b = off[i], off[i + 1]
        row = []
        for col in election.vote_columns:
            if col == "voter_id":
                row.append(vid)
            elif col == "vote":
                row.append(",".join(ids[election.choices[a:b]]))
            elif col == "points" and pts is not None:
                row.append(",".join(_cell(p) for p in pts[a:b]))
            else:
                row.append(_cell(extra_cols[col][i]))
        w.writerow(row)
    return buf.getvalue()


def write_pabulib(election: Election, path: str | Path, newline: str = "\r\n") -> Path:
    """Write an election as a Pabulib ``.pb`` file (UTF-8); returns the path."""
    path = Path(path)
    try:
        path.write_bytes(to_pabulib_string(election, newline).encode("utf-8"))
    except OSError as exc:
        raise SourceError(f"{path}: cannot write the file ({exc.strerror})") from None
    return path
