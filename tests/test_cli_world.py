"""``gosplan world``: its progress bar (stage, round, certified gap; off when not a terminal)
and its report, on a small world written as tables."""

from __future__ import annotations

import io

import pytest
from typer.testing import CliRunner

from gosplan.cli import app


@pytest.fixture(scope="module")
def world_folder(tmp_path_factory):
    from test_report import small_world

    from gosplan.planning.world import world_to_tables

    w, b = small_world()
    folder = tmp_path_factory.mktemp("world")
    for k, df in world_to_tables(w, b).items():
        df.to_parquet(folder / f"{k}.parquet", index=False)
    return folder


def on_a_terminal(monkeypatch) -> io.StringIO:
    """The world command's console as a terminal that writes into a buffer."""
    from rich.console import Console

    import gosplan.cli.world as cmd

    buf = io.StringIO()
    monkeypatch.setattr(cmd, "console", lambda: Console(file=buf, force_terminal=True, width=200))
    return buf


def test_decomposed_world_shows_rounds_and_the_certified_gap(world_folder, monkeypatch):
    buf = on_a_terminal(monkeypatch)
    res = CliRunner().invoke(app, ["world", str(world_folder), "--method", "decomposed"])
    assert res.exit_code == 0, res.output
    shown = buf.getvalue()
    assert "5 regions, decomposed: round" in shown and "certified gap" in shown and "━" in shown


def test_compare_autarky_decomposed_shows_each_stage(world_folder, monkeypatch):
    """compare_autarky takes no progress callback: the bar counts the rounds the executor is asked to price."""
    buf = on_a_terminal(monkeypatch)
    res = CliRunner().invoke(app, ["world", str(world_folder), "--method", "decomposed", "--compare", "autarky"])
    assert res.exit_code == 0, res.output
    shown = buf.getvalue()
    assert "the world pooled (max-min): round" in shown
    assert "the world pooled (least resource, same floors): round" in shown


def test_no_progress_bar_when_not_a_terminal(world_folder):
    res = CliRunner().invoke(app, ["world", str(world_folder), "--method", "decomposed"], terminal_width=140)
    assert res.exit_code == 0, res.output
    assert "certified gap" not in res.output and "decomposed: round" not in res.output
    assert "basket" in res.output and "R4" in res.output
