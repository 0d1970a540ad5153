"""`gosplan ledger verify|show`: check and read an exported audit ledger."""

from __future__ import annotations

import importlib
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
    """``KIND=module:function`` options, on top of the hooks other modules registered."""
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


@ledger_app.command("verify")
def verify_command(
    source: str = typer.Argument(..., help="An exported ledger (.jsonl) or an http(s) URL such as "
                                           "http://host/rounds/ID/ledger."),
    replay: list[str] = typer.Option([], "--replay", help="KIND=module:function that recomputes the "
                                     "recorded result of entries of KIND (repeatable)."),
    no_replay: bool = typer.Option(False, "--no-replay", help="Check the chain only; recompute nothing."),
    head: Optional[str] = typer.Option(None, "--head", help="The published head hash the chain must end at."),
) -> None:
    """Check the hash chain (and recompute recorded results); report the first entry that does not match."""
    from rich.console import Console

    from gosplan.democracy.ledger import verify_export

    console = Console()
    hooks = {} if no_replay else _hooks(replay)
    report = verify_export(_read(source), replay=hooks, expected_head=head)
    if report.ok:
        console.print(f"[bold green]OK[/] {report.message}", highlight=False)
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
