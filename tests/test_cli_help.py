"""Every command's help reads at 80 columns, and one option letter means one thing everywhere."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gosplan.cli import app

COMMANDS = ["info", "convert", "demo", "serve", "analyze", "scissors", "budget", "plan", "compare", "invest",
            "world", "ledger verify", "ledger show"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_whole_at_80_columns(command):
    shown = CliRunner(env={"COLUMNS": "80"}).invoke(app, [*command.split(), "--help"])
    assert shown.exit_code == 0, shown.output
    assert "<bool>" not in shown.output  # a flag takes no value
    assert "…" not in shown.output.replace("cut with …", "")  # nothing cut (ledger show explains its own)
    assert max(len(line) for line in shown.output.splitlines()) <= 80
    for line in shown.output.splitlines():
        if line.strip().startswith("-o,"):
            assert "--out" in line, f"{command}: -o is not --out: {line}"
        if line.strip().startswith("--threads"):
            assert len(line.split()) > 2, f"{command}: --threads has no description"
