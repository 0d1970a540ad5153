"""The audit ledger: an append-only, tamper-evident record of a planning round.

Every event of democratic planning (a round opened, a proposal, a vote, the rule chosen,
the plan computed with its manifest, the result published, and kinds other modules add) is
one :class:`Entry` whose ``hash`` covers its content and the previous entry's hash, so that
changing, dropping, inserting or reordering anything already recorded breaks the chain at
the first place touched. The module is storage-agnostic: :class:`Ledger` keeps entries in a
list, and a database layer appends with :func:`make_entry` inside its own transaction.

Canonical form (what is hashed), exactly, so that anyone can re-implement verification:

1. The *content* of an entry is the JSON object with the six members ``seq`` (integer,
   0 for the first entry), ``time`` (ISO 8601 string), ``kind`` (string), ``actor`` (string),
   ``payload`` (object) and ``prev_hash`` (64 lowercase hex digits; 64 zeros before the first
   entry).
2. It is serialised by the JSON Canonicalization Scheme, RFC 8785 (JCS): no whitespace;
   object members sorted by their names compared as UTF-16 code units; strings as in
   ECMAScript ``JSON.stringify`` (UTF-8, only ``"``, ``\\`` and control characters escaped,
   ``\\b \\f \\n \\r \\t`` short, others ``\\u00xx`` lowercase); numbers as IEEE-754 doubles
   printed as ECMAScript ``Number.prototype.toString`` does (shortest round-trip digits,
   ``1e+21`` and ``1e-7`` from those magnitudes on, ``2.0`` is ``2``, ``-0`` is ``0``).
   NaN and infinities are refused, and so are integers that the nearest double does not
   write exactly (some beyond +-2**53; store those as strings).
3. ``hash`` is the SHA-256 of those UTF-8 bytes, as 64 lowercase hex digits.

Export format (:meth:`Ledger.export`): JSON Lines, each line the JCS form of one object and
a ``\\n``. The first line is a header ``{"format": "gosplan-ledger", "version": 1, "round":
..., "entries": n, "genesis": ..., "head": <hash of the last entry>, "canonical":
"RFC8785-JCS", "digest": "sha256", "header_hash": ...}`` whose ``header_hash`` is the SHA-256
of the JCS form of the header without that member; then one line per entry, its content plus
``hash``. A reader refuses any line that is not byte-for-byte the canonical form of what it
parses to, so flipping any byte of an export is detected.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import hashlib
import json
import math
import os
import re
from typing import Any, Callable, Iterable, Mapping, Sequence

from gosplan.errors import SchemaError, SourceError

GENESIS = "0" * 64
"""The ``prev_hash`` of the first entry of a chain."""

FORMAT = "gosplan-ledger"
VERSION = 1
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KIND = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")
_MAX_SAFE = 2**53
_CONTENT = ("seq", "time", "kind", "actor", "payload", "prev_hash")


class LedgerError(SourceError):
    """An exported ledger cannot be read: the message names the line and what is wrong."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class Kind(str, enum.Enum):
    """Kinds of entry gosplan itself writes. ``kind`` stays an open string set: see :data:`KINDS`."""

    ROUND_OPENED = "round_opened"
    PROPOSAL = "proposal"
    VOTE = "vote"
    RULE_CHOSEN = "rule_chosen"
    PLAN_COMPUTED = "plan_computed"
    RESULT_PUBLISHED = "result_published"
    ROUND_CLOSED = "round_closed"
    BUDGET_BALLOT = "budget_ballot"
    ELECTION_RESULT = "election_result"
    PETITION = "petition"
    RECALL = "recall"

    def __str__(self) -> str:
        return self.value


KINDS: dict[str, str] = {
    "round_opened": "a planner opened a planning round; payload: round id, economy, deadline",
    "proposal": "a council's proposal (basket of final demand, priorities, limits)",
    "vote": "a council's vote or ballot among alternatives",
    "rule_chosen": "the aggregation rule the round uses, by name, with its parameters",
    "plan_computed": "the plan was computed; payload carries its 'manifest' (hash of every input)",
    "result_published": "the plan and its valuations were published back to the councils",
    "round_closed": "a planner closed the round; no more proposals or votes",
    "budget_ballot": "a participatory-budgeting ballot",
    "election_result": "the outcome of an election (e.g. of a committee)",
    "petition": "a petition and its signatures",
    "recall": "a recall of a delegate",
}
"""Registry of known kinds and what their payload holds. Unknown kinds are still accepted."""


def register_kind(name: str, description: str) -> None:
    """Add a kind of entry to :data:`KINDS` (documentation only: any well-formed kind is accepted)."""
    _check_kind(name)
    KINDS[name] = description


def _check_kind(kind: str) -> str:
    kind = str(kind.value if isinstance(kind, Kind) else kind)
    if not _KIND.match(kind):
        raise SchemaError(f"kind {kind!r}: lowercase letters, digits, '_', '.', '-', starting with a letter (<= 64)")
    return kind


# --- canonical JSON (RFC 8785) ---------------------------------------------------------------


def _number(x: float) -> str:
    """ECMAScript Number::toString of a finite double (RFC 8785, section 3.2.2.3)."""
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    mantissa, _, exponent = repr(abs(x)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    # n: position of the decimal point relative to the first significant digit
    n = len(int_part.lstrip("0")) if int_part.strip("0") else -(len(frac_part) - len(frac_part.lstrip("0")))
    n += int(exponent) if exponent else 0
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        out = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + out


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


#: The characters a JSON string escapes, and lone surrogates: a string without any is copied as is.
_SPECIAL = re.compile('[\x00-\x1f"\\\\\ud800-\udfff]')


def _string(s: str, where: str) -> str:
    if _SPECIAL.search(s) is None:
        return '"' + s + '"'
    out = []
    for ch in s:
        o = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif o < 0x20:
            out.append(f"\\u{o:04x}")
        elif 0xD800 <= o <= 0xDFFF:
            raise SchemaError(f"{where}: lone surrogate U+{o:04X} cannot be encoded in UTF-8")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _canon(value: Any, where: str, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value, where))
    elif isinstance(value, int) and -_MAX_SAFE <= value <= _MAX_SAFE:
        out.append(str(value))  # what _number gives for every integer that a double holds exactly
    elif isinstance(value, int):
        text = _number(float(value)) if abs(value) < 2**1024 else ""
        if abs(value) > _MAX_SAFE and text != str(value):
            raise SchemaError(f"{where}: integer {value} is beyond 2**53 and would lose digits; store it as a string")
        out.append(text)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise SchemaError(f"{where}: {value!r} is not a JSON number; store a finite value or null")
        out.append(_number(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _canon(item, f"{where}[{i}]", out)
        out.append("]")
    elif isinstance(value, (dict, Mapping)):  # dict first: the ABC check is slow
        items = []
        for key in value:
            if not isinstance(key, str):
                raise SchemaError(f"{where}: key {key!r} is not a string; JSON objects have string keys")
            items.append(key)
        items.sort(key=lambda k: k.encode("utf-16-be"))
        out.append("{")
        for i, key in enumerate(items):
            if i:
                out.append(",")
            out.append(_string(key, where))
            out.append(":")
            _canon(value[key], f"{where}[{key!r}]", out)
        out.append("}")
    else:
        # numpy scalars and the like: accept what is exactly a Python number
        for cast in (int, float):
            if hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0:
                kind = value.dtype.kind
                if (kind in "iu" and cast is int) or (kind == "f" and cast is float) or (kind == "b" and cast is int):
                    return _canon(bool(value) if kind == "b" else cast(value), where, out)
        raise SchemaError(f"{where}: {type(value).__name__} is not JSON (str, number, bool, null, list, dict)")


def canonical_json(value: Any, where: str = "value") -> bytes:
    """The RFC 8785 (JCS) canonical UTF-8 bytes of a JSON-able value (module docstring, step 2)."""
    out: list[str] = []
    _canon(value, where, out)
    return "".join(out).encode("utf-8")


def canonical_hash(value: Any, where: str = "value") -> str:
    """SHA-256 (64 lowercase hex digits) of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(value, where)).hexdigest()


# --- entries ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Entry:
    """One recorded event. ``hash`` covers every other field (module docstring)."""

    seq: int
    time: str
    kind: str
    actor: str
    payload: dict
    prev_hash: str
    hash: str

    def content(self) -> dict:
        """The hashed part: every field but ``hash``."""
        return {name: getattr(self, name) for name in _CONTENT}

    def to_dict(self) -> dict:
        return {**self.content(), "hash": self.hash}

    def computed_hash(self) -> str:
        return canonical_hash(self.content(), f"entry {self.seq}")

    @classmethod
    def from_dict(cls, data: Mapping, where: str = "entry") -> "Entry":
        """Build an entry from its exported object, refusing missing or unknown members."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"{where}: a JSON object is expected, got {type(data).__name__}")
        fields = set(_CONTENT) | {"hash"}
        missing, unknown = fields - set(data), set(data) - fields
        if missing or unknown:
            raise SchemaError(f"{where}: missing members {sorted(missing)}, unknown members {sorted(unknown)}")
        entry = cls(**{name: data[name] for name in fields})
        _check_types(entry, where)
        return entry


def _check_types(e: Entry, where: str) -> None:
    if not isinstance(e.seq, int) or isinstance(e.seq, bool) or e.seq < 0:
        raise SchemaError(f"{where}: seq {e.seq!r} is not a non-negative integer")
    for name in ("time", "kind", "actor", "prev_hash", "hash"):
        if not isinstance(getattr(e, name), str):
            raise SchemaError(f"{where}: {name} {getattr(e, name)!r} is not a string")
    if not isinstance(e.payload, dict):
        raise SchemaError(f"{where}: payload is not a JSON object")
    for name in ("prev_hash", "hash"):
        if not _HEX64.match(getattr(e, name)):
            raise SchemaError(f"{where}: {name} {getattr(e, name)!r} is not 64 lowercase hex digits")


def _check_time(time: str) -> str:
    try:
        _dt.datetime.fromisoformat(time.replace("Z", "+00:00"))
    except (ValueError, AttributeError) as exc:
        raise SchemaError(f"time {time!r} is not an ISO 8601 date-time (e.g. 2026-05-01T12:00:00Z)") from exc
    return time


def utc_now() -> str:
    """The current UTC time, ISO 8601 with microseconds and ``Z``: the default clock."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_entry(prev_hash: str, seq: int, kind: str | Kind, actor: str, payload: Mapping,
               time: str | None = None) -> Entry:
    """The next entry of a chain, hashed: what a database layer appends in one transaction.

    Parameters
    ----------
    prev_hash : str
        ``hash`` of the entry before (:data:`GENESIS` for the first).
    seq : int
        Its position in the chain, counting from 0.
    kind, actor : str
        What happened (see :data:`KINDS`) and who did it (a council, a planner, the system).
    payload : mapping
        JSON-able details; copied through a canonical round trip, so the stored entry is
        exactly what is hashed (e.g. ``2.0`` becomes ``2``, tuples become lists).
    time : str, optional
        ISO 8601; :func:`utc_now` when omitted.
    """
    if not isinstance(prev_hash, str) or not _HEX64.match(prev_hash):
        raise SchemaError(f"prev_hash {prev_hash!r} is not 64 lowercase hex digits")
    if not isinstance(seq, int) or seq < 0:
        raise SchemaError(f"seq {seq!r} is not a non-negative integer")
    if not isinstance(actor, str) or not actor:
        raise SchemaError(f"actor {actor!r}: name who acted (a non-empty string)")
    if not isinstance(payload, Mapping):
        raise SchemaError(f"payload of a {kind} entry must be a JSON object (dict), got {type(payload).__name__}")
    kind = _check_kind(kind)
    time = _check_time(utc_now() if time is None else time)
    payload = json.loads(canonical_json(dict(payload), f"payload of {kind} entry {seq}"))
    content = {"seq": seq, "time": time, "kind": kind, "actor": actor, "payload": payload, "prev_hash": prev_hash}
    return Entry(**content, hash=canonical_hash(content))


class Ledger:
    """An append-only chain of entries kept in memory.

    >>> led = Ledger()
    >>> e = led.append("round_opened", "planner:ana", {"round": "2026"}, time="2026-01-01T00:00:00Z")
    >>> verify(led.entries).ok
    True
    """

    def __init__(self, entries: Iterable[Entry] = (), *, clock: Callable[[], str] = utc_now,
                 genesis: str = GENESIS):
        self._entries: list[Entry] = list(entries)
        self._clock = clock
        self.genesis = genesis

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._entries)

    @property
    def head(self) -> str:
        """Hash of the last entry (:data:`GENESIS` when empty): publish it to pin the record."""
        return self._entries[-1].hash if self._entries else self.genesis

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(self._entries)

    def __getitem__(self, i):
        return self._entries[i]

    def append(self, kind: str | Kind, actor: str, payload: Mapping, time: str | None = None) -> Entry:
        """Record one event and return its entry."""
        entry = make_entry(self.head, len(self._entries), kind, actor, payload,
                           time if time is not None else self._clock())
        self._entries.append(entry)
        return entry

    def export(self, round_id: str | None = None, path: str | os.PathLike | None = None) -> bytes:
        """The whole chain as one JSON Lines file (module docstring); written to ``path`` if given."""
        data = export_entries(self._entries, round_id=round_id, genesis=self.genesis)
        if path is not None:
            with open(path, "wb") as fh:
                fh.write(data)
        return data

    @classmethod
    def load(cls, source: bytes | str | os.PathLike) -> "Ledger":
        """Read an export (bytes or a path). Parses strictly; call :func:`verify` to check the chain."""
        header, entries = read_export(source)
        return cls(entries, genesis=header["genesis"])


def _header(entries: Sequence[Entry], round_id, genesis: str) -> dict:
    header = {"format": FORMAT, "version": VERSION, "round": round_id, "entries": len(entries),
              "genesis": genesis, "head": entries[-1].hash if entries else genesis,
              "canonical": "RFC8785-JCS", "digest": "sha256"}
    header["header_hash"] = canonical_hash(header, "header")
    return header


def export_entries(entries: Sequence[Entry], round_id: str | None = None, genesis: str = GENESIS) -> bytes:
    """JSON Lines bytes of a header and the entries (module docstring)."""
    lines = [canonical_json(_header(entries, round_id, genesis), "header")]
    lines += [canonical_json(e.to_dict(), f"entry {e.seq}") for e in entries]
    return b"".join(line + b"\n" for line in lines)


def read_export(source: bytes | str | os.PathLike) -> tuple[dict, list[Entry]]:
    """Parse an exported ledger strictly: ``(header, entries)``.

    Raises :class:`LedgerError` naming the line (1 is the header) when a line is not UTF-8,
    not JSON, not in canonical form, or lacks a member; or when the header is not a
    gosplan-ledger header. The chain itself is checked by :func:`verify`.
    """
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        try:
            with open(source, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise LedgerError(f"{source}: cannot read the ledger: {exc.strerror or exc}") from exc
    if not data.endswith(b"\n"):
        raise LedgerError("the ledger must end with a newline after its last line (was it truncated?)",
                          data.count(b"\n") + 1)
    raw_lines = data[:-1].split(b"\n")
    objects = []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8")
            obj = json.loads(text)
        except UnicodeDecodeError as exc:
            raise LedgerError(f"line {number}: not UTF-8 ({exc.reason} at byte {exc.start})", number) from exc
        except json.JSONDecodeError as exc:
            raise LedgerError(f"line {number}: not JSON ({exc.msg} at column {exc.colno})", number) from exc
        try:
            canonical = canonical_json(obj, f"line {number}")
        except SchemaError as exc:
            raise LedgerError(str(exc), number) from exc
        if canonical != raw:
            raise LedgerError(f"line {number}: not in canonical form (RFC 8785); the line was altered", number)
        objects.append(obj)
    header = objects[0]
    _check_header(header)
    entries = []
    for number, obj in enumerate(objects[1:], start=2):
        try:
            entries.append(Entry.from_dict(obj, f"line {number}"))
        except SchemaError as exc:
            raise LedgerError(str(exc), number) from exc
    return header, entries


def _check_header(header) -> None:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise LedgerError(f"line 1: not a {FORMAT} header", 1)
    if header.get("version") != VERSION:
        raise LedgerError(f"line 1: ledger version {header.get('version')!r}; this gosplan reads {VERSION}", 1)
    expected = {"format", "version", "round", "entries", "genesis", "head", "canonical", "digest", "header_hash"}
    if set(header) != expected:
        raise LedgerError(f"line 1: header members {sorted(set(header) ^ expected)} are unexpected or missing", 1)
    body = {k: v for k, v in header.items() if k != "header_hash"}
    if canonical_hash(body) != header["header_hash"]:
        raise LedgerError(
            f"line 1: header_hash {header['header_hash']!r} does not match its content "
            f"({canonical_hash(body)}); the header was altered", 1)
    if not isinstance(header["genesis"], str) or not _HEX64.match(header["genesis"]):
        raise LedgerError("line 1: genesis is not 64 lowercase hex digits", 1)


# --- verification -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify` found.

    ``ok`` when the whole chain checks. Otherwise ``index`` is the first entry (0-based
    position) that does not match, ``field`` what failed (``seq``, ``prev_hash``, ``hash``,
    ``head``, ``entries``, ``replay``, ``parse``), ``expected`` and ``found`` the two values
    compared (hashes, or sequence numbers), ``line`` the line of an export (header = 1) and
    ``message`` a sentence saying it.
    """

    ok: bool
    entries: int
    head: str | None = None
    index: int | None = None
    field: str | None = None
    expected: str | None = None
    found: str | None = None
    line: int | None = None
    message: str = "the chain verifies"
    replayed: int = 0

    def __bool__(self) -> bool:
        return self.ok


ReplayFn = Callable[[Entry, Sequence[Entry]], Any]


class NotReplayable(Exception):
    """Raised by a replay hook for an entry it does not know how to recompute (a chain written
    by another tool, whose inputs are not recorded in the form the hook reads): the entry is
    then not counted as replayed, and not as a failure either."""

REPLAY_FIELD = {"plan_computed": "manifest"}
"""Payload member a replay hook's result is compared with, by kind (default ``"result"``)."""

REPLAYS: dict[str, ReplayFn] = {}
"""Replay hooks registered by other modules (:func:`register_replay`); the CLI uses them."""


def register_replay(kind: str, fn: ReplayFn) -> None:
    """Register the function that recomputes the result recorded by entries of ``kind``.

    ``fn(entry, history)`` gets the entry and every entry before it (the recorded inputs)
    and returns the recomputed value of ``entry.payload[REPLAY_FIELD.get(kind, "result")]``
    (e.g. the plan's manifest), or its :func:`canonical_hash`.
    """
    REPLAYS[_check_kind(kind)] = fn


def _bad(entries, i, field, expected, found, message, line_offset) -> VerifyReport:
    return VerifyReport(False, len(entries), None, i, field, None if expected is None else str(expected),
                        None if found is None else str(found),
                        None if i is None or line_offset is None else i + line_offset, message)


def verify(entries: Sequence[Entry | Mapping], *, replay: Mapping[str, ReplayFn] | None = None,
           genesis: str = GENESIS, expected_head: str | None = None, expected_count: int | None = None,
           pinned: Iterable[tuple[int, str]] = (), _line_offset: int | None = None) -> VerifyReport:
    """Check a chain and report the first entry that does not match.

    For each entry ``i`` in order: ``seq == i``; ``prev_hash`` equals the previous entry's
    ``hash`` (``genesis`` for the first); ``hash`` equals the SHA-256 of the canonical JSON of
    its content (module docstring); and, where ``replay`` has a hook for its kind, the hook's
    recomputation equals the recorded value. Then, if given, the last hash must be
    ``expected_head`` and the length ``expected_count`` (catches a dropped tail), and for
    each published head ``(count, hash)`` in ``pinned`` the chain must hold at least
    ``count`` entries (else it was cut short) and entry ``count - 1`` must have that hash
    (else it was rewritten after the head was published: a fork).

    Parameters
    ----------
    entries : sequence of Entry or dict
    replay : mapping kind -> callable, optional
        ``{"plan_computed": fn}``: ``fn(entry, history)`` recomputes from the recorded inputs
        and returns the value recorded in the payload (``manifest`` for ``plan_computed``,
        ``result`` otherwise) or its :func:`canonical_hash`.

    Returns
    -------
    VerifyReport
    """
    checked: list[Entry] = []
    prev = genesis
    replayed = 0
    for i, raw in enumerate(entries):
        try:
            e = raw if isinstance(raw, Entry) else Entry.from_dict(raw, f"entry {i}")
            if isinstance(raw, Entry):
                _check_types(e, f"entry {i}")
        except SchemaError as exc:
            return _bad(entries, i, "parse", None, None, str(exc), _line_offset)
        if e.seq != i:
            return _bad(entries, i, "seq", i, e.seq,
                        f"entry {i}: seq is {e.seq}, expected {i} (an entry was removed, inserted or moved)", _line_offset)
        if e.prev_hash != prev:
            return _bad(entries, i, "prev_hash", prev, e.prev_hash,
                        f"entry {i}: prev_hash does not match the hash of the entry before", _line_offset)
        try:
            computed = e.computed_hash()
        except SchemaError as exc:
            return _bad(entries, i, "hash", None, e.hash, str(exc), _line_offset)
        if computed != e.hash:
            return _bad(entries, i, "hash", computed, e.hash,
                        f"entry {i} ({e.kind}): content does not match its hash; it was altered", _line_offset)
        hook = (replay or {}).get(e.kind)
        if hook is not None:
            field = REPLAY_FIELD.get(e.kind, "result")
            if field not in e.payload:
                return _bad(entries, i, "replay", None, None,
                            f"entry {i} ({e.kind}): payload has no {field!r} to replay against", _line_offset)
            recorded = canonical_hash(e.payload[field], f"entry {i} payload[{field!r}]")
            try:
                value = hook(e, tuple(checked))
            except NotReplayable:
                checked.append(e)
                prev = e.hash
                continue
            except Exception as exc:  # a failing recomputation is a finding, not a crash
                return _bad(entries, i, "replay", recorded, None,
                            f"entry {i} ({e.kind}): replay failed: {type(exc).__name__}: {exc}", _line_offset)
            found = value if isinstance(value, str) and _HEX64.match(value) else canonical_hash(value, "replay result")
            if found != recorded:
                return _bad(entries, i, "replay", recorded, found,
                            f"entry {i} ({e.kind}): recomputing from the recorded inputs gives a different "
                            f"{field}", _line_offset)
            replayed += 1
        checked.append(e)
        prev = e.hash
    n = len(checked)
    for count, digest in pinned:
        count = int(count)
        if count > n:
            return _bad(entries, n, "head", f"{count}:{digest}", f"{n}:{prev}",
                        f"the ledger holds {n} entries, fewer than the {count} of a published head: "
                        "entries were removed from its end (truncated)", _line_offset)
        at = genesis if count == 0 else checked[count - 1].hash
        if at != digest:
            return _bad(entries, count - 1, "head", digest, at,
                        f"entry {count - 1} has another hash than the published head {count}:{digest[:16]}…: "
                        "the ledger was rewritten after that head was published (forked)", _line_offset)
    if expected_count is not None and expected_count != n:
        return _bad(entries, n, "entries", expected_count, n,
                    f"the ledger holds {n} entries where its header or its round's record announces "
                    f"{expected_count} (entries removed or added)", _line_offset)
    if expected_head is not None and expected_head != prev:
        return _bad(entries, n, "head", expected_head, prev,
                    "the last hash is not the published head (entries dropped or added at the end)", _line_offset)
    return VerifyReport(True, n, prev, replayed=replayed,
                        message=f"{n} entries verify; head {prev}" + (f"; {replayed} replayed" if replayed else ""))


def verify_export(source: bytes | str | os.PathLike, *, replay: Mapping[str, ReplayFn] | None = None,
                  expected_head: str | None = None, pinned: Iterable[tuple[int, str]] = ()) -> VerifyReport:
    """Verify an exported file (bytes or path): parse strictly, then :func:`verify` with its header.

    A line that cannot be read is reported with ``field="parse"`` and its ``line``; the
    entry ``index`` is then ``line - 2`` (``None`` for the header).
    """
    try:
        header, entries = read_export(source)
    except LedgerError as exc:
        if exc.line is None:
            raise
        index = exc.line - 2 if exc.line and exc.line >= 2 else None
        return VerifyReport(False, 0, None, index, "parse", None, None, exc.line, str(exc))
    report = verify(entries, replay=replay, genesis=header["genesis"], expected_count=header["entries"],
                    expected_head=expected_head, pinned=pinned, _line_offset=2)
    if report.ok and header["head"] != report.head:
        return VerifyReport(False, report.entries, None, report.entries, "head", header["head"], report.head,
                            None, "the header's head is not the last entry's hash")
    return report


def fetch(url: str, timeout: float = 30.0, limit: int = 256 * 2**20) -> bytes:
    """Download an export over http(s), e.g. a gosplan server's ``GET /rounds/{id}/ledger``."""
    import urllib.error
    import urllib.request

    if not url.startswith(("http://", "https://")):
        raise SourceError(f"{url}: only http:// and https:// URLs are fetched")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (scheme checked)
            data = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        exc.close()  # the error carries the open response
        raise SourceError(f"{url}: the server answered {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SourceError(f"{url}: cannot fetch the ledger: {getattr(exc, 'reason', exc)}") from exc
    if len(data) > limit:
        raise SourceError(f"{url}: the ledger is larger than {limit} bytes; download it and verify the file")
    return data



# --- published heads --------------------------------------------------------------------------

HEAD_FORMAT = "gosplan-head"
HEAD_VERSION = 1


def check_signed_head(head: dict | str | bytes, public_key: str | None = None) -> tuple[int, str]:
    """Check a head a server published and signed (Ed25519): ``(entries, hash)``, for :func:`verify`'s ``pinned``.

    The signed bytes are the canonical JSON of every member but ``signature`` (hex), and the
    key is the member ``public_key`` (hex); give ``public_key`` to insist on the server's
    published key.

    Raises :class:`GosplanError` saying what does not match.
    """
    from gosplan.errors import GosplanError, require

    require("cryptography", "server")
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if isinstance(head, (str, bytes)):
        try:
            head = json.loads(head)
        except json.JSONDecodeError as exc:
            raise GosplanError(f"the signed head is not JSON ({exc.msg})") from None
    if not isinstance(head, dict) or head.get("format") != HEAD_FORMAT:
        raise GosplanError(f"not a {HEAD_FORMAT} file")
    body = {k: v for k, v in head.items() if k != "signature"}
    if public_key is not None and body.get("public_key") != public_key:
        raise GosplanError(f"the head is signed by key {str(body.get('public_key'))[:16]}…, not by the expected "
                           f"key {public_key[:16]}…")
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(body["public_key"])).verify(
            bytes.fromhex(head["signature"]), canonical_json(body))
    except (InvalidSignature, KeyError, ValueError, TypeError):
        raise GosplanError("the head's signature does not verify: it was altered or not signed by that key") from None
    return int(body["entries"]), str(body["head"])

__all__ = [
    "GENESIS", "KINDS", "Kind", "Entry", "Ledger", "LedgerError", "NotReplayable", "VerifyReport", "REPLAYS", "REPLAY_FIELD",
    "canonical_json", "canonical_hash", "make_entry", "export_entries", "read_export", "register_kind",
    "register_replay", "utc_now", "verify", "verify_export", "fetch", "check_signed_head", "HEAD_FORMAT",
]
