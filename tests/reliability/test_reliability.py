"""Every case of the adversarial harness (``reliability_cases.py``) ends as it must: a
named error, or a correct result.  ``docs/reliability.md`` tabulates them."""

import re
from pathlib import Path

import pytest
import reliability_cases as harness

CASES = harness.all_cases()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


def _marks(case):
    marks = []
    if "numba" in case.name or "compiling" in case.name:
        marks.append(
            pytest.mark.skipif(
                not harness.refsim.backends.available()["numba"][0], reason="needs numba"
            )
        )
    if "cupy kernels on the host" in case.name:
        import host_cupy

        marks.append(
            pytest.mark.skipif(
                host_cupy.COMPILER is None, reason="the host emulation of the kernels needs g++"
            )
        )
    if case.child or case.category == "concurrency":
        marks.append(pytest.mark.slow)
    return marks


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=f"{c.category}: {c.name}", marks=_marks(c)) for c in CASES]
)
def test_each_case_ends_as_a_named_error_or_a_correct_result(case, python_handles_ctrl_c):
    kind, detail = harness.outcome(case)
    assert kind == case.expect, f"{case.name}: {kind}: {detail}"


def test_the_harness_tries_every_category_and_names_what_it_refuses():
    counts = {c: sum(case.category == c for case in CASES) for c in harness.CATEGORIES}
    assert all(n >= 4 for n in counts.values()), counts
    assert len(CASES) >= 150
    # a named error's pattern names something: a parameter, a state, a file's fault
    assert all(case.pattern for case in CASES if case.error is not None)
    assert len({case.name for case in CASES}) == len(CASES)  # each name once


def test_the_docs_table_lists_what_the_harness_tries():
    """The table of docs/reliability.md: per category the cases tried, all in the named
    and correct columns (the test above holds each case to its column)."""
    expected = {
        c: (
            sum(case.category == c for case in CASES),
            sum(case.category == c and case.expect == "named error" for case in CASES),
            sum(case.category == c and case.expect == "correct" for case in CASES),
        )
        for c in harness.CATEGORIES
    }
    text = DOCS.read_text()
    for category, (tried, named, correct) in expected.items():
        row = rf"\| {re.escape(category)} \| {tried} \| {named} \| {correct} \| 0 \| 0 \| 0 \|"
        assert re.search(row, text), f"docs/reliability.md: no row {row}"
