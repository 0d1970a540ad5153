"""`gosplan ledger verify|show`: check and read an exported audit ledger."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Optional

import typer

from gosplan.cli._app import app

ledger_app = typer.Typer(help="Check and read the tamper-evident ledger of a planning round.",
                         no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


def _read(source: str) -> bytes:
    from gosplan.democracy.ledger import LedgerError, fetch

    if source.startswith(("http://", "https://")):
        return fetch(source)
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise LedgerError(f"{source}: cannot read the ledger: {exc.strerror or exc}") from exc


def _hooks(specs: list[str]) -> dict:
    """``KIND=module:function`` options, on top of the hooks other modules registered
    (:mod:`gosplan.democracy.rounds` registers the replay of every round's outcome)."""
    import gosplan.democracy.rounds  # noqa: F401  (registers plan, budget, election and recall replays)
    from gosplan.democracy.ledger import REPLAYS
    from gosplan.errors import SchemaError

    hooks = dict(REPLAYS)
    for spec in specs:
        kind, _, target = spec.partition("=")
        module, _, name = target.partition(":")
        if not kind or not module or not name:
            raise SchemaError(f"--replay {spec!r}: write KIND=module:function, e.g. plan_computed=mypkg.replay:plan")
        try:
            hooks[kind] = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise SchemaError(f"--replay {spec!r}: cannot import {module}:{name} ({exc})") from exc
    return hooks


_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _heads(specs: list[str], key: str | None, round_id: str | None = None) -> tuple[list[tuple[int, str]], str | None]:
    """``--head`` options: ``COUNT:HASH``, a bare ``HASH`` (the last entry's), a signed head
    file or URL (``GET /rounds/ID/head``) whose signature is checked, or a file of signed heads
    one per line (``gosplan serve --heads-mirror``), of which those of ``round_id`` are taken."""
    from gosplan.errors import SchemaError

    pinned, last = [], None
    for spec in specs:
        count, sep, digest = spec.partition(":")
        if sep and count.isdigit() and _HEX64.match(digest):
            pinned.append((int(count), digest))
        elif _HEX64.match(spec):
            last = spec
        else:
            from gosplan.democracy.ledger import check_signed_head

            try:
                text = _read(spec).decode("utf-8")
                if len([line for line in text.splitlines() if line.strip()]) > 1:
                    from gosplan.server.heads import mirrored_heads

                    pinned += mirrored_heads(text, round_id, key)
                else:
                    pinned.append(check_signed_head(text, key))
            except Exception as exc:  # noqa: BLE001 (any failure to read or check is the user's answer)
                raise SchemaError(f"--head {spec}: {exc}") from None
    return pinned, last


def _export_round(data: bytes) -> str | None:
    """The round an export's header names (to pick its heads from a mirror); None if unreadable
    (the verification then says what is wrong with the export)."""
    import json

    try:
        return str(json.loads(data.split(b"\n", 1)[0])["round"])
    except (ValueError, KeyError, TypeError):
        return None


@ledger_app.command("verify")
def verify_command(
    source: str = typer.Argument(..., help="An exported ledger (.jsonl) or an http(s) URL such as "
                                           "http://host/rounds/ID/ledger."),
    replay: list[str] = typer.Option([], "--replay", help="KIND=module:function that recomputes the "
                                     "recorded result of entries of KIND (repeatable); plan, budget, "
                                     "election and recall outcomes are recomputed without it."),
    no_replay: bool = typer.Option(False, "--no-replay", help="Check the chain only; recompute nothing."),
    head: list[str] = typer.Option([], "--head", help="A published head the ledger must contain: COUNT:HASH, "
                                   "a signed head file or URL (GET /rounds/ID/head), or the last HASH "
                                   "(repeatable). Detects a ledger cut short or rewritten."),
    key: Optional[str] = typer.Option(None, "--key", help="The server's public key (hex, GET /key) that "
                                      "signed heads must carry."),
) -> None:
    """Check the hash chain, recompute every recorded outcome, and check published heads;
    report the first entry that does not match."""
    from rich.console import Console

    from gosplan.democracy.ledger import verify_export

    console = Console()
    hooks = {} if no_replay else _hooks(replay)
    data = _read(source)
    pinned, last = _heads(head, key, _export_round(data))
    report = verify_export(data, replay=hooks, expected_head=last, pinned=pinned)
    if report.ok:
        notes = []
        if not report.replayed:
            notes.append("no outcome was recomputed" + (" (--no-replay)" if no_replay else
                                                         " (the ledger records none)"))
        if pinned or last:
            notes.append(f"{len(pinned) + (last is not None)} published head(s) match")
        else:
            notes.append("no published head given (--head): a ledger cut short at its end would verify too")
        console.print(f"[bold green]OK[/] {report.message}; " + "; ".join(notes), highlight=False)
        return
    where = f"entry {report.index}" if report.index is not None else "header"
    if report.line is not None:
        where += f" (line {report.line})"
    console.print(f"[bold red]TAMPERED or BROKEN[/] at {where}: {report.message}", highlight=False)
    if report.field:
        console.print(f"  field: {report.field}", highlight=False)
    if report.expected is not None or report.found is not None:
        console.print(f"  expected: {report.expected}\n  found:    {report.found}", highlight=False)
    raise typer.Exit(1)


@ledger_app.command("show")
def show_command(
    source: str = typer.Argument(..., help="An exported ledger (.jsonl) or an http(s) URL."),
    width: int = typer.Option(240, help="Characters of each payload to show (the rest is cut with …)."),
) -> None:
    """List the entries of an exported ledger, one block per entry (no verification: use `verify`)."""
    from rich.console import Console
    from rich.markup import escape

    from gosplan.democracy.ledger import canonical_json, read_export, verify

    header, entries = read_export(_read(source))
    report = verify(entries, genesis=header["genesis"], expected_count=header["entries"],
                    expected_head=header["head"])
    console = Console()
    console.print(f"[bold]ledger of round {escape(str(header['round']))}[/]: {header['entries']} entries, "
                  f"head {header['head']}", highlight=False)
    # a block per entry reads at any width: the header line, then the payload wrapped under it
    for e in entries:
        payload = canonical_json(e.payload).decode()
        if len(payload) > width:
            payload = payload[: width - 1] + "…"
        when = e.time.replace("T", " ")[:19]
        console.print(f"[bold]#{e.seq:<4}[/] {when}  [cyan]{escape(e.kind)}[/]  by {escape(e.actor)}  "
                      f"[dim]hash {e.hash[:12]}[/]", highlight=False)
        console.print(f"      {escape(payload)}", highlight=False, overflow="fold")
    if report.ok:
        console.print("[green]chain verifies[/] (recorded results not recomputed: `gosplan ledger verify`)")
    else:
        console.print(f"[bold red]chain broken at entry {report.index}[/]: {report.message}", highlight=False)
