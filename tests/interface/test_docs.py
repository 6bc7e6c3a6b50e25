"""The model pages are generated from the docstrings and their examples run."""

import runpy
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
sys.path.insert(0, str(DOCS))

import build_model_pages  # noqa: E402

PAGES = build_model_pages.pages()
MODELS = build_model_pages.NEURONS + build_model_pages.SYNAPSES + build_model_pages.OUTPUTS


def test_every_model_has_a_page_and_the_pages_are_current():
    assert {p.stem for p in (DOCS / "models").glob("*.md")} == set(MODELS)
    stale = [p.name for p, text in PAGES.items() if not p.exists() or p.read_text() != text]
    assert stale == [], "run: python docs/build_model_pages.py"


@pytest.mark.parametrize("name", MODELS)
def test_model_page_example_runs(name, tmp_path, capsys):
    script = tmp_path / f"{name}_example.py"
    script.write_text(build_model_pages.example(name))
    runpy.run_path(str(script), run_name="__main__")
    printed = capsys.readouterr().out.strip()
    assert printed, f"the {name} example printed nothing"
