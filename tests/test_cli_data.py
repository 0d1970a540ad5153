"""The data commands of the CLI: info, convert, demo (through the installed entry point's app)."""

from __future__ import annotations

from typer.testing import CliRunner

from gosplan.cli import app
from gosplan.sources import read_economy
from gosplan.testing import assert_economy_equal

runner = CliRunner()


def test_info_reports_sizes_productivity_and_totals():
    result = runner.invoke(app, ["info", "uk_2010"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "127 / 127 / 5" in result.output
    assert "spectral radius of A <= 0.7306" in result.output
    assert "801,796.0" in result.output  # compensation of employees, ONS total


def test_convert_round_trip(tmp_path):
    out = tmp_path / "usa.xlsx"
    result = runner.invoke(app, ["convert", "usa_2014", str(out)])
    assert result.exit_code == 0, result.output
    assert_economy_equal(read_economy(out), read_economy("usa_2014"))


def test_bad_table_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    from gosplan.cli import main

    proc = subprocess.run(
        [sys.executable, "-c", "from gosplan.cli import main; main()", "info", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "missing: no such file or folder" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert callable(main)


def test_error_with_brackets_is_printed_verbatim(tmp_path, miller_blair):
    import subprocess
    import sys

    import pandas as pd

    from gosplan.sources import write_economy

    path = write_economy(miller_blair, tmp_path / "mb.csv", format="csv")
    use = pd.read_csv(path / "use.csv", dtype=str)
    use.loc[0, "product"] = "[steel]"
    use.to_csv(path / "use.csv", index=False)
    proc = subprocess.run(
        [sys.executable, "-c", "from gosplan.cli import main; main()", "info", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "use.csv row 2: unknown product '[steel]'" in proc.stderr


def test_demo_runs_end_to_end(tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo")], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "127 / 127 / 5" in result.output  # part 1: the real table
    for name in ("table.csv", "chart.png", "report.md"):
        assert (tmp_path / "demo" / name).stat().st_size > 0
    import pandas as pd

    table = pd.read_csv(tmp_path / "demo" / "table.csv").set_index(["scenario", "period"])["scissors_index"]
    assert table["industrialisation"].iloc[-1] < table["industrialisation"].iloc[0]
    assert table["baseline"].iloc[-1] >= table["baseline"].iloc[0] - 1e-9
