"""Every code block of the README runs as written, in a fresh clone's layout with nothing beside it.

The blocks run in order in one folder holding the repository's tracked files (so a file one block
writes, such as ``targets.csv``, is there for the next), with the ``gosplan`` of this environment.
The install steps are the one thing not repeated here: ``.ci/run`` runs the README's install and
test command itself, on a fresh virtual environment, and this test checks that it does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.M | re.S)
#: the fresh-install prefix of the README's two first commands
INSTALL = re.compile(r"^python3 -m venv \.venv && \. \.venv/bin/activate && pip install -e (?P<spec>\S+) && (?P<run>.+)$")
PIP = re.compile(r"^pip install -e '\.\[(?P<extras>[\w,]+)\]'")


def readme_blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(README.read_text(encoding="utf-8"))]


def _extras() -> set[str]:
    import tomllib

    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])


def as_run_here(code: str) -> str | None:
    """The block as this environment runs it: installs dropped (checked), the test command left to CI."""
    lines = []
    for line in code.splitlines():
        m = INSTALL.match(line)
        if m:
            assert m.group("spec") in (".", "'.[dev]'"), line
            if m.group("run").strip() == "pytest":
                return None  # the test command: .ci/run runs it (test_ci_runs_the_readme_commands)
            line = m.group("run")
        m = PIP.match(line)
        if m:
            assert set(m.group("extras").split(",")) <= _extras(), line
            continue
        lines.append(line)
    return "\n".join(lines)


def test_ci_runs_the_readme_commands():
    """.ci/run installs and tests exactly as the README's first screen says, on a clone without ../shared."""
    blocks = readme_blocks()
    ci = (ROOT / ".ci" / "run").read_text()
    first = [code.strip() for lang, code in blocks[:2]]
    assert first[0].endswith("&& gosplan demo") and first[1].endswith("&& pytest")
    for line in first:
        assert line in ci, f".ci/run does not run the README's command: {line}"


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The tracked files of the repository, as a fresh clone has them, in a folder with no ../shared."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("the README test needs the git repository (its tracked files make the fresh-clone layout)")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    target = tmp_path_factory.mktemp("readme") / "gosplan"
    for name in filter(None, files):
        src = ROOT / name.decode()
        if src.is_file():
            (target / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / name.decode())
    assert not (target.parent / "shared").exists()
    return target


@pytest.mark.slow
@pytest.mark.parametrize("number", range(len(readme_blocks())))
def test_readme_block_runs(number, clone):
    lang, code = readme_blocks()[number]
    script = as_run_here(code)
    if script is None:
        return  # the test command itself, checked in test_ci_runs_the_readme_commands
    bindir = str(Path(sys.executable).parent)
    env = {"PATH": bindir + ":/usr/bin:/bin", "HOME": str(clone.parent), "COLUMNS": "100", "LANG": "C.UTF-8"}
    if lang == "python":
        cmd = [sys.executable, "-c", script]
    else:
        # a server a block starts in the background is stopped when the block ends
        cmd = ["bash", "-c", "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script]
    done = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (
        f"README block {number} ({lang}) failed:\n{code}\n--- output ---\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
