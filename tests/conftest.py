"""Shared fixtures: the raw sources kept in the repository and small textbook economies."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

#: the raw published files the shipped datasets are built from (in the repository, not the wheel)
RAW_DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def raw_data() -> Path:
    if not RAW_DATA.is_dir():
        pytest.skip(f"the raw sources are kept in the git repository's data/ folder ({RAW_DATA} is missing: "
                    "an installed wheel does not carry them)")
    return RAW_DATA


@pytest.fixture(scope="session")
def miller_blair():
    """The two-sector flow table of Miller and Blair (2009), Input-Output Analysis, 2nd ed., table 2.3.

    Z = [[150, 500], [200, 100]], x = (1000, 2000), final demand (350, 1700),
    payments sector (value added) (650, 1400); A = [[.15, .25], [.20, .05]] (eq. 2.8).
    """
    from gosplan import Economy

    ids = ["s1", "s2"]
    Z = pd.DataFrame([[150.0, 500.0], [200.0, 100.0]], index=ids, columns=ids)
    x = pd.Series([1000.0, 2000.0], index=ids)
    Y = pd.DataFrame({"final": [350.0, 1700.0]}, index=ids)
    V = pd.DataFrame([[650.0, 1400.0]], index=["value_added"], columns=ids)
    return Economy.from_flows(Z, x, V, Y, balance="both", name="miller_blair_2_3")


def pytest_addoption(parser):
    parser.addoption("--strict-skips", action="store_true", default=os.environ.get("GOSPLAN_STRICT_SKIPS") == "1",
                     help="fail a test that skips (a missing optional dependency, service or data), except the GPU "
                          "ones; CI sets GOSPLAN_STRICT_SKIPS=1 because it installs everything")


#: what may be missing even where everything is installed: no CI machine has a GPU
ALLOWED_SKIPS = ("cupy", "gpu")


def _strict_failure(config, report) -> None:
    if not (report.skipped and config.getoption("--strict-skips")) or hasattr(report, "wasxfail"):
        return
    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
    if any(word in reason.lower() for word in ALLOWED_SKIPS):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped under --strict-skips (GOSPLAN_STRICT_SKIPS=1): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _strict_failure(item.config, outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _strict_failure(collector.config, outcome.get_result())
