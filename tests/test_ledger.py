"""The tamper-evident ledger: canonical form, chain, export, tampering, replay, CLI."""

from __future__ import annotations

import functools
import http.server
import json
import math
import struct
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gosplan.democracy.ledger import (
    GENESIS,
    KINDS,
    Kind,
    Ledger,
    LedgerError,
    canonical_hash,
    canonical_json,
    make_entry,
    read_export,
    register_kind,
    verify,
    verify_export,
)
from gosplan.errors import SchemaError

T0 = "2026-05-01T09:00:00Z"


def build(proposals=((10, 4), (3, 8), (5, 5))) -> Ledger:
    """A small round: opened, three proposals, a rule, a plan whose manifest is a sum, published."""
    led = Ledger(clock=lambda: T0)
    led.append(Kind.ROUND_OPENED, "planner:ana", {"round": "r1", "products": ["bread", "books"]})
    for i, (bread, books) in enumerate(proposals, start=1):
        led.append("proposal", f"council:{i}", {"basket": {"bread": bread, "books": books}, "weight": 1.5 * i})
    led.append("rule_chosen", "planner:ana", {"rule": "weighted_sum"})
    led.append("plan_computed", "system", {"manifest": total_manifest(led.entries)})
    led.append("result_published", "planner:ana", {"note": "plan für alle ✓", "x": 0.1})
    return led


def total_manifest(history) -> dict:
    """A deterministic 'plan': the weighted total basket of the proposals recorded before."""
    total: dict[str, float] = {}
    for e in history:
        if e.kind == "proposal":
            for k, q in e.payload["basket"].items():
                total[k] = total.get(k, 0) + q * e.payload["weight"]
    return {"targets": total, "rule": "weighted_sum"}


def replay_plan(entry, history):
    return total_manifest(history)


# --- canonical JSON -------------------------------------------------------------------------


def test_rfc8785_example():
    """RFC 8785, section 3.2.3: the worked example of the JSON Canonicalization Scheme."""
    value = json.loads('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
                       '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
                       '"literals": [null, true, false]}')
    expected = ('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
                '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
    assert canonical_json(value).decode("utf-8") == expected


@pytest.mark.parametrize("bits,text", [
    # RFC 8785, Appendix B: IEEE-754 bit patterns and their canonical text
    ("0000000000000000", "0"), ("8000000000000000", "0"), ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"), ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"), ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"), ("44b52d02c7e14af6", "1e+23"),
    ("444b1ae4d6e2ef50", "1e+21"), ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"), ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555555", "333333333.3333333"), ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"), ("43143ff3c1cb0959", "1424953923781206.2"),
])
def test_rfc8785_numbers(bits, text):
    x = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert canonical_json(x).decode() == text


def test_canonical_form_sorts_by_utf16_and_unifies_numbers():
    # U+10000 is D800 DC00 in UTF-16, so it sorts before U+E000 although its code point is larger
    assert canonical_json({"\ue000": 1, "\U00010000": 2}).decode() == '{"\U00010000":2,"\ue000":1}'
    assert canonical_json([2.0, 2, -0.0, True]) == b"[2,2,0,true]"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_canonical_form_is_a_fixed_point(value):
    once = canonical_json(value)
    assert canonical_json(json.loads(once)) == once


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=5))
def test_any_payload_survives_export_and_verifies(payload):
    led = Ledger(clock=lambda: T0)
    led.append("proposal", "council:1", payload)
    led.append("vote", "council:2", {"ranking": ["a", "b"]})
    report = verify_export(led.export("r"))
    assert report.ok and report.head == led.head


# --- chain ----------------------------------------------------------------------------------


def test_chain_verifies_and_round_trips():
    led = build()
    assert verify(led.entries).ok
    data = led.export(round_id="r1")
    header, entries = read_export(data)
    assert header["round"] == "r1" and header["entries"] == len(led) == 7 and header["head"] == led.head
    assert [e.to_dict() for e in entries] == [e.to_dict() for e in led.entries]
    assert Ledger.load(data).export(round_id="r1") == data
    report = verify_export(data, replay={"plan_computed": replay_plan})
    assert report.ok and report.replayed == 1 and report.entries == 7
    assert entries[0].prev_hash == GENESIS
    assert data.count(b"\n") == 8


def test_entries_for_a_database_are_the_same_as_the_ledgers():
    led = build()
    prev, rebuilt = GENESIS, []
    for e in led.entries:
        rebuilt.append(make_entry(prev, e.seq, e.kind, e.actor, e.payload, time=e.time))
        prev = rebuilt[-1].hash
    assert rebuilt == list(led.entries)
    assert rebuilt[1].hash == canonical_hash(rebuilt[1].content())


@pytest.fixture(scope="module")
def exported() -> bytes:
    return build().export(round_id="r1")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_flipping_any_byte_is_detected(exported, data):
    pos = data.draw(st.integers(0, len(exported) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="xor")
    tampered = bytearray(exported)
    tampered[pos] ^= mask
    report = verify_export(bytes(tampered))
    assert not report.ok
    line = exported[:pos].count(b"\n") + 1
    assert report.line == line, (report, line)
    if line >= 2:
        assert report.index == line - 2


@pytest.mark.parametrize("mask", [0x01, 0x20, 0x80])
def test_every_byte_position_is_covered(exported, mask):
    """Not a sample: each byte of the export flipped in turn (three masks) is detected on its line."""
    for pos in range(len(exported)):
        tampered = bytearray(exported)
        tampered[pos] ^= mask
        report = verify_export(bytes(tampered))
        assert not report.ok, pos
        assert report.line == exported[:pos].count(b"\n") + 1, (pos, report)


def test_reordering_deleting_and_inserting_are_detected(exported):
    lines = exported.splitlines(keepends=True)
    header, body = lines[0], lines[1:]

    swapped = [header] + body[:2] + [body[3], body[2]] + body[4:]
    r = verify_export(b"".join(swapped))
    assert not r.ok and r.index == 2 and r.field == "seq"

    dropped = [header] + body[:3] + body[4:]
    r = verify_export(b"".join(dropped))
    assert not r.ok and r.index == 3 and r.field == "seq"

    tail_cut = [header] + body[:-1]
    r = verify_export(b"".join(tail_cut))
    assert not r.ok and r.field == "entries"

    # a forged entry, correctly hashed onto its predecessor and renumbered after
    led = build()
    forged = make_entry(led[2].hash, 3, "vote", "council:9", {"x": 1}, time=T0)
    entries = [e.to_dict() for e in led.entries]
    entries.insert(3, forged.to_dict())
    for i in range(4, len(entries)):
        entries[i]["seq"] = i
    r = verify(entries)
    assert not r.ok and r.index == 4 and r.field == "prev_hash"
    assert r.expected == forged.hash and r.found == led[2].hash


def test_a_rewritten_history_is_caught_by_the_published_head():
    honest = build()
    forged = build(proposals=((10, 4), (30, 8), (5, 5)))  # all hashes recomputed consistently
    assert verify_export(forged.export("r1")).ok
    r = verify_export(forged.export("r1"), expected_head=honest.head)
    assert not r.ok and r.field == "head" and r.expected == honest.head


def test_content_tampering_names_entry_field_and_hashes():
    led = build()
    entries = [e.to_dict() for e in led.entries]
    entries[2]["payload"]["basket"]["bread"] = 300
    r = verify(entries)
    assert not r.ok and (r.index, r.field) == (2, "hash")
    assert r.found == led[2].hash and r.expected != r.found and len(r.expected) == 64


def test_replay_mismatch_is_detected():
    """A proposal changed and re-hashed consistently, but the recorded plan kept: replay catches it."""
    led = build()
    rebuilt = Ledger(clock=lambda: T0)
    for e in led.entries:
        payload = e.payload
        if e.seq == 2:
            payload = {**payload, "basket": {"bread": 99, "books": 8}}
        rebuilt.append(e.kind, e.actor, payload)
    assert verify(rebuilt.entries).ok  # the chain alone cannot tell
    r = verify(rebuilt.entries, replay={"plan_computed": replay_plan})
    assert not r.ok and r.field == "replay" and r.index == 5
    assert r.expected == canonical_hash(led[5].payload["manifest"])
    assert r.found == canonical_hash(replay_plan(None, rebuilt.entries[:5]))
    # a hook may also return the hash itself
    assert verify(led.entries, replay={"plan_computed": lambda e, h: canonical_hash(total_manifest(h))}).ok


def test_replay_failure_is_reported_not_raised():
    def broken(entry, history):
        raise RuntimeError("solver missing")

    r = verify(build().entries, replay={"plan_computed": broken})
    assert not r.ok and r.field == "replay" and "solver missing" in r.message


# --- bad input ------------------------------------------------------------------------------


def test_bad_entries_are_refused_with_the_culprit():
    with pytest.raises(SchemaError, match=r"payload of vote entry 0\['w'\]\[1\]: nan"):
        make_entry(GENESIS, 0, "vote", "c", {"w": [1.0, math.nan]}, time=T0)
    with pytest.raises(SchemaError, match="beyond 2\\*\\*53"):
        make_entry(GENESIS, 0, "vote", "c", {"n": 2**60}, time=T0)
    with pytest.raises(SchemaError, match="ISO 8601"):
        make_entry(GENESIS, 0, "vote", "c", {}, time="yesterday")
    with pytest.raises(SchemaError, match="kind 'Vote!'"):
        make_entry(GENESIS, 0, "Vote!", "c", {}, time=T0)
    with pytest.raises(SchemaError, match="prev_hash"):
        make_entry("abc", 0, "vote", "c", {}, time=T0)
    with pytest.raises(SchemaError, match="not JSON"):
        make_entry(GENESIS, 0, "vote", "c", {"s": {1, 2}}, time=T0)


def test_kinds_are_an_open_set_with_a_registry():
    assert {k.value for k in Kind} <= set(KINDS)
    e = make_entry(GENESIS, 0, "citizens_assembly", "council:1", {}, time=T0)
    assert verify([e]).ok
    register_kind("citizens_assembly", "a sortition assembly's recommendation")
    assert "citizens_assembly" in KINDS


def test_unreadable_exports_name_the_line(tmp_path, exported):
    assert verify_export(exported[:-1]).line == 8  # truncated: no final newline
    with pytest.raises(LedgerError, match="cannot read"):
        read_export(tmp_path / "missing.jsonl")
    spaced = exported.replace(b'"seq":1,', b'"seq": 1,')
    r = verify_export(spaced)
    assert not r.ok and r.line == 3 and "canonical" in r.message


# --- CLI ------------------------------------------------------------------------------------


@pytest.fixture()
def cli():
    from gosplan.cli import app

    return functools.partial(CliRunner(env={"COLUMNS": "200"}).invoke, app)


def test_cli_verify_and_show(cli, tmp_path, exported):
    path = tmp_path / "round.jsonl"
    path.write_bytes(exported)
    ok = cli(["ledger", "verify", str(path)])
    assert ok.exit_code == 0 and "OK" in ok.output and "7 entries" in ok.output
    bad = bytearray(exported)
    bad[exported.index(b'"bread":3') + 8] = ord("4")
    path.write_bytes(bytes(bad))
    r = cli(["ledger", "verify", str(path)])
    assert r.exit_code == 1 and "entry 2" in r.output and "field: hash" in r.output
    path.write_bytes(exported)
    shown = cli(["ledger", "show", str(path)])
    assert shown.exit_code == 0 and "plan_computed" in shown.output and "council:3" in shown.output
    assert "chain verifies" in shown.output
    path.write_bytes(bytes(bad))
    shown = cli(["ledger", "show", str(path)])
    assert shown.exit_code == 0 and "chain broken at entry 2" in shown.output


def test_cli_replay_option(cli, tmp_path, exported):
    path = tmp_path / "round.jsonl"
    path.write_bytes(exported)
    r = cli(["ledger", "verify", str(path), "--replay", "plan_computed=json:dumps"])
    assert r.exit_code == 1 and "replay failed" in r.output  # json.dumps is not a replay hook
    r = cli(["ledger", "verify", str(path), "--replay", "nonsense"])
    assert r.exit_code != 0 and "KIND=module:function" in str(r.exception)


def test_cli_verify_url(cli, exported):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/rounds/r1/ledger":
                self.send_response(200)
                self.send_header("Content-Type", "application/jsonl")
                self.end_headers()
                self.wfile.write(exported)
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        r = cli(["ledger", "verify", f"{base}/rounds/r1/ledger"])
        assert r.exit_code == 0 and "OK" in r.output
        r = cli(["ledger", "verify", f"{base}/rounds/zz/ledger"])
        assert r.exit_code != 0 and "404" in str(r.exception)
    finally:
        server.shutdown()
        server.server_close()


def test_cli_show_reads_at_80_columns(tmp_path, exported):
    """Every entry's kind, actor and payload are on the screen of an 80-column terminal, none cut."""
    from gosplan.cli import app

    path = tmp_path / "round.jsonl"
    path.write_bytes(exported)
    shown = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["ledger", "show", str(path)])
    assert shown.exit_code == 0
    lines = shown.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    _, entries = read_export(exported)
    text = "".join(line.strip() for line in lines)
    for e in entries:
        assert f"#{e.seq}" in shown.output and e.kind in shown.output and e.actor in shown.output
        assert canonical_json(e.payload).decode() in text
