"""The numba backend's model passes vectorise: every loop over a block of neurons becomes
SIMD code.

What keeps a loop scalar is invisible in its results and costs 3x on an HH network
(`docs/performance.md`): an index Numba cannot prove non-negative (``b0 + w`` with ``b0``
an argument: each access then wraps a negative index, and LLVM does not vectorise), or a
conditional store in the loop (a refractory model's bookkeeping).  Each pass is compiled
afresh here (no cache, so that its LLVM IR is at hand) and its optimised IR must hold at
least one vectorised loop body (``vector.body``) per ``for ... in range(`` of its source,
and no gather or scatter (what a wrapped index vectorises into, on AVX-512: a load or store
per lane, no faster than the scalar loop).
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

numba = pytest.importorskip("numba", reason="numba is not installed: no compiled passes")

import refsim  # noqa: E402
from refsim import fmath  # noqa: E402
from refsim.backends import codes  # noqa: E402
from refsim.backends.numba import continuous, declared, neurons, synapses  # noqa: E402

N = 16


def _vector_bodies(ir: str) -> int:
    return len(re.findall(r"^vector\.body\d*:", ir, re.M))


def _loops(function) -> int:
    return len(re.findall(r"\bfor \w+ in range\(", inspect.getsource(function)))


def _fresh_ir(dispatcher, *args) -> str:
    """The optimised LLVM IR of ``dispatcher``'s Python function compiled for ``args``."""
    fresh = numba.njit(error_model="numpy")(dispatcher.py_func)
    fresh(*args)
    return fresh.inspect_llvm(fresh.signatures[0])


def _arrays():
    v = np.full(N, -65.0)
    extra = np.full((3, N), 0.1)
    par = np.ones((codes.OWN_START + 12, N))
    work = np.zeros((8, N))
    population = (v, extra, np.zeros(N), np.zeros(N), np.zeros(N, bool), par, True, True)
    return v, extra, par, work, population


def _cases():
    v, extra, par, work, population = _arrays()
    own, cur = par[codes.OWN_START :], np.zeros(N)
    return {
        "continuous._conductance_steps (HH, WangBuzsakiHH, MorrisLecar)": (
            continuous._conductance_steps,
            (codes.HH_KIND, 0, 0, N, v, extra, cur, own, 0.1),
        ),
        "continuous._reduced_steps (FitzHughNagumo, HindmarshRose)": (
            continuous._reduced_steps,
            (codes.FITZHUGH_NAGUMO_KIND, 0, 0, N, v, extra, cur, own, par[1], 0.1),
        ),
        "neurons._resets": (
            neurons._resets,
            (codes.ADEX_KIND, 0, 0, N, population, work[0], work[1]),
        ),
        "neurons._lif_family_steps (ALIF, Izhikevich, IF, CubaLIF, CobaLIF)": (
            neurons._lif_family_steps,
            (codes.ALIF_KIND, 0, N, par, work, 0.1),
        ),
        "neurons._exp_or_quadratic_steps (ExpIF, AdEx, QuaIF, AdQuaIF)": (
            neurons._exp_or_quadratic_steps,
            (codes.EXPIF_KIND, 0, N, par, work, 0.1),
        ),
        "neurons._hold (refractory)": (
            neurons._hold,
            (0, 0, N, population, work, 1.0, False),
        ),
        "synapses._expon_decay": (
            synapses._expon_decay,
            (0, N, v.copy(), 5.0, 0.98, True, np.zeros(N), False),
        ),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_every_loop_of_a_model_pass_vectorises(name):
    function, args = _cases()[name]
    ir = _fresh_ir(function, *args)
    assert _vector_bodies(ir) >= _loops(function.py_func), name
    assert not re.findall(r"call .*@llvm\.masked\.(gather|scatter)", ir), name


def test_a_declared_models_adapter_vectorises():
    """TraubHH's adapter (``refsim.NeuronTwins``, generated source): its reset loop, its
    step loops (whole, or apart from the rest where jumps come between) and its refractory
    bookkeeping (a loop apart) all vectorise."""
    from refsim.validation.networks import TraubHH

    source = declared.adapter_source(TraubHH, TraubHH.compiled)
    ir = declared.adapter(TraubHH).inspect_llvm()
    assert source.count("for _w in range(n)") == 5
    assert _vector_bodies(ir) >= 5
    assert not re.findall(r"call .*@llvm\.masked\.(gather|scatter)", ir)


def _trace_step(g, events, tau, dt):
    return g * fmath.exp_scalar(-dt / tau) + events


class _Trace:
    """A declared synapse (only its declaration is read here): a trace decaying by its
    exact factor."""

    compiled = refsim.SynapseTwins(states=("g",), params=("tau",), step=_trace_step)


def test_a_declared_synapses_adapter_vectorises():
    source = declared.synapse_adapter_source(_Trace, _Trace.compiled)
    ir = declared.adapter(_Trace).inspect_llvm()
    assert source.count("for _w in range(n)") == 1
    assert _vector_bodies(ir) >= 1
    assert not re.findall(r"call .*@llvm\.masked\.(gather|scatter)", ir)
