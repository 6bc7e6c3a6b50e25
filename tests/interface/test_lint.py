"""The code is lint-clean and formatted as ``ruff format`` writes it: CI runs this with
the tests (ruff is pinned in the ``[test]`` extras, since another version may format
differently).  Locally, ``pre-commit install`` runs the same two checks before a commit
(``.pre-commit-config.yaml``)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("ruff", reason="ruff is in the [test] extras: pip install -e '.[test]'")


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_finds_nothing_to_fix():
    done = _ruff("check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All checks passed!" in done.stdout


def test_ruff_format_would_change_no_file():
    done = _ruff("format", "--check", "--no-cache", ".")
    assert done.returncode == 0, "files ruff format would change:\n" + done.stdout
    assert "already formatted" in done.stdout
