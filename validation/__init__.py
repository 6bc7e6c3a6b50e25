"""The refsim validation suite (installed as ``refsim.validation``).

A *case* is a small function that runs refsim and returns a
:class:`CaseResult`: measured errors, each with its tolerance and a one-line
reason for that tolerance, plus curves to plot.  Three kinds:

* ``analytic`` (:mod:`refsim.validation.analytic`): closed-form solutions;
* ``golden`` (:mod:`refsim.validation.golden_cases`): traces recorded with brainpy.state;
* ``statistical`` (in ``golden_cases``): network statistics against recorded spreads;
* ``float32`` (:mod:`refsim.validation.precision`): the golden traces replayed under
  ``precision=32``, held to the float32 tolerance table.

``refsim validate`` runs them (see :mod:`refsim.cli`); the tests run the same
functions and assert every metric.
"""

from __future__ import annotations

import fnmatch
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from refsim.backends import BackendFallbackWarning

__all__ = ["Metric", "Curve", "CaseResult", "Case", "CASES", "case", "select", "run_case"]


@dataclass
class Metric:
    """One measured error against its tolerance.

    ``error`` and ``tolerance`` are in the units named in ``quantity``; the
    metric passes when ``error <= tolerance`` (a NaN error fails).
    """

    quantity: str
    error: float
    tolerance: float
    reason: str

    @property
    def passed(self) -> bool:
        return bool(math.isfinite(self.error) and self.error <= self.tolerance)


@dataclass
class Curve:
    """A trace to plot: refsim against the reference over a common axis."""

    title: str
    x: np.ndarray
    reference: np.ndarray
    refsim: np.ndarray
    xlabel: str = "t (ms)"
    ylabel: str = ""


@dataclass
class CaseResult:
    name: str
    kind: str
    description: str
    metrics: list[Metric]
    curves: list[Curve] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(m.passed for m in self.metrics) and bool(self.metrics)


@dataclass
class Case:
    name: str
    kind: str
    description: str
    fn: Callable[[], CaseResult]


CASES: dict[str, Case] = {}


def case(name: str, kind: str, description: str):
    """Register ``fn() -> (metrics, curves)`` as a validation case."""

    def register(fn):
        CASES[name] = Case(name, kind, description, fn)
        return fn

    return register


def run_case(c: Case) -> CaseResult:
    """Run one case, timing it.  A case driven by a Python step function that does not
    compile (a synapse alone, an input read from a trace step by step) runs its NumPy code
    on any backend; ``refsim validate`` says so once in its header, so the run's own warning
    is not repeated for each case."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"refsim\.(run|for_loop) of a step function",
            category=BackendFallbackWarning,
        )
        metrics, curves = c.fn()
    return CaseResult(c.name, c.kind, c.description, metrics, curves, time.perf_counter() - start)


#: kinds left out by ``quick``: the long statistical runs and the convergence sweeps
SLOW_KINDS = ("statistical", "convergence")


def select(pattern: str | None = None, quick: bool = False) -> list[Case]:
    """Registered cases whose name matches the shell-style ``pattern`` (all by default)."""
    from refsim.validation import (  # noqa: F401 - importing registers the cases
        analytic,
        convergence,
        golden_cases,
        precision,
        statistical,
    )

    cases = [c for c in CASES.values() if not (quick and c.kind in SLOW_KINDS)]
    if not pattern:
        return cases
    pats = [p if any(ch in p for ch in "*?[") else f"*{p}*" for p in pattern.split(",")]
    return [c for c in cases if any(fnmatch.fnmatch(c.name, p) for p in pats)]


def max_abs(a, b) -> float:
    """Largest absolute difference (NaN anywhere gives NaN)."""
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))


def max_rel(a, b) -> float:
    """Largest absolute difference divided by the largest reference magnitude."""
    ref = np.asarray(b, float)
    scale = float(np.max(np.abs(ref)))
    return max_abs(a, b) / scale if scale > 0 else max_abs(a, b)


def mismatches(a, b) -> float:
    """Number of positions where two spike arrays differ."""
    return float(np.count_nonzero((np.asarray(a) != 0) != (np.asarray(b) != 0)))
