"""A state never holds a subnormal number: each is stored as 0 where it is written, by the
numpy oracle (``State.data``) and the compiled loops (numba's ``_stored``, the kernels'
``stored``) alike, so a silent network keeps its speed and every backend its bits."""

from __future__ import annotations

import numpy as np
import pytest
import quantities as pq

import refsim
from refsim import fmath

numba = pytest.importorskip("numba", reason="the numba backend needs numba installed")
from test_backends import COMPILED  # noqa: E402  (the backend fixture: conftest.py)

from refsim.backends.numba.support import _stored  # noqa: E402

#: around and inside the subnormal range of float64, and what a flush must leave alone
EDGES = [5e-324, -5e-324, 1e-310, -2.2250738585072e-308, 2.2250738585072014e-308,
         -2.2250738585072014e-308, 1e-300, 0.0, -0.0, np.inf, -np.inf, np.nan, -60.0]  # fmt: skip


def _subnormal(x: np.ndarray) -> np.ndarray:
    size = np.abs(x)
    return (size > 0) & (size < np.finfo(x.dtype).smallest_normal)


def _bits(x: np.ndarray) -> np.ndarray:
    return x.view(np.uint64 if x.dtype == np.float64 else np.uint32)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_flush_replaces_the_subnormals_by_plus_zero_and_nothing_else(dtype):
    x = np.array(EDGES + [1e-39, -1e-45, 1.2e-38], dtype=dtype)  # (float32's subnormals)
    flushed = fmath.flush_subnormals(x)
    # float64: the first four edges; float32: the last three numbers but its normal 1.2e-38
    assert not _subnormal(flushed).any() and _subnormal(x).sum() == (
        2 if dtype == np.float32 else 4
    )
    keep = ~_subnormal(x)
    assert np.array_equal(_bits(flushed[keep]), _bits(x[keep]))  # -0.0, NaN, inf kept
    assert np.array_equal(_bits(flushed[~keep]), np.zeros((~keep).sum(), _bits(x).dtype))
    assert fmath.flush_subnormals(flushed) is flushed  # nothing to flush: the same array
    ints = np.array([0, 1, -3])
    assert fmath.flush_subnormals(ints) is ints


@pytest.mark.parametrize("single", [False, True])
def test_the_compiled_store_is_the_array_flush_bit_for_bit(single):
    """numba's ``_stored`` (and through the translated ``flushed_scalar``, the kernels'
    ``stored``: tests/backends/test_translate.py) stores what ``State.data`` stores."""
    dtype = np.float32 if single else np.float64
    values = np.array(EDGES + [1e-39, -1e-45, 3e-39, 1.1754942e-38], dtype=np.float64)
    expected = fmath.flush_subnormals(values.astype(dtype)).astype(np.float64)

    @numba.njit
    def store_all(x, single):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = _stored(x[i], single)
        return out

    assert np.array_equal(_bits(store_all(values, single)), _bits(expected))
    scalars = np.array([fmath.flushed_scalar(np.float64(dtype(v)), single) for v in values])
    assert np.array_equal(_bits(scalars), _bits(expected))


def test_a_state_stores_what_it_is_given_with_its_subnormals_as_zero():
    syn = refsim.init_all_states(refsim.Expon(4, tau=5 * pq.ms))
    syn.g.data = np.array([1e-310, 1.0, -0.0, 3e-308])
    assert _bits(syn.g.data).tolist() == _bits(np.array([0.0, 1.0, -0.0, 3e-308])).tolist()
    syn.g.value = [-4e-320, 2.0, 0.0, 1e-320] * pq.mS
    assert syn.g.data.tolist() == [0.0, 2000.0, 0.0, 0.0]  # (internally in uS)


# -- silent networks: the decaying states reach the subnormal range -----------------------

TINY = 1e-307  # a normal number; states that decay to 0 cross into the subnormals from it


def _lif(n, **params):
    values = dict(tau=10 * pq.ms, V_th=-50 * pq.mV, V_reset=-60 * pq.mV, V_rest=-60 * pq.mV)
    return refsim.LIF(n, **{**values, **params})


def _post(net, pop, syn, out, seed):
    return net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(pop.num, pop.num, 0.1, 0.01 * pq.mS, seed=seed),
            syn=syn,
            out=out,
            post=pop,
        ),
        pre=pop,
    ).syn


def _merged(first, second, first_out, second_out):
    """A LIF population at rest, no input, with two merged synapse rows."""

    def build(n):
        net = refsim.Network()
        pop = net.population(_lif(n))
        return (
            net,
            pop,
            [_post(net, pop, first(n), first_out, 1), _post(net, pop, second(n), second_out, 2)],
        )

    return build


def _pre(syn, stp):
    """A LIF population at rest feeding itself through an AlignPreProj (COBA)."""

    def build(n):
        net = refsim.Network()
        pop = net.population(_lif(n))
        proj = net.project(
            refsim.AlignPreProj(
                syn=syn(n),
                stp=None if stp is None else stp(n),
                comm=refsim.EventFixedProb(n, n, 0.1, 1.0, seed=3),  # times the g of syn
                out=refsim.COBA.desc(E=0 * pq.mV),
                post=pop,
            ),
            pre=pop,
        )
        return net, pop, [proj.syn] + ([] if proj.stp is None else [proj.stp])

    return build


def _neurons(model, names):
    """A population of ``model`` at rest, no input; ``names``: its states that decay to 0."""

    def build(n):
        net = refsim.Network()
        pop = net.population(model(n))
        return net, pop, [(pop, names)]

    return build


COBA = (refsim.COBA.desc(E=0 * pq.mV), refsim.COBA.desc(E=-80 * pq.mV))
CUBA = (refsim.CUBA.desc(), refsim.CUBA.desc())
#: the passes of the compiled loops that store decaying states: each network is silent
SILENT = {
    "COBA: two Expon rows": _merged(
        lambda n: refsim.Expon.desc(n, tau=5 * pq.ms),
        lambda n: refsim.Expon.desc(n, tau=10 * pq.ms),
        *COBA,
    ),
    "CUBA-only LIF pass": _merged(
        lambda n: refsim.Expon.desc(n, tau=5 * pq.ms),
        lambda n: refsim.Expon.desc(n, tau=10 * pq.ms),
        *CUBA,
    ),
    "DualExpon rows, one with equal taus": _merged(
        lambda n: refsim.DualExpon.desc(n, tau_decay=5 * pq.ms, tau_rise=1 * pq.ms),
        lambda n: refsim.DualExpon.desc(n, tau_decay=3 * pq.ms, tau_rise=3 * pq.ms),
        *COBA,
    ),
    "AlignPreProj AMPA + STD": _pre(lambda n: refsim.AMPA(n), lambda n: refsim.STD(n)),
    "AlignPreProj BioNMDA + STP": _pre(lambda n: refsim.BioNMDA(n), lambda n: refsim.STP(n)),
    "AlignPreProj Alpha": _pre(lambda n: refsim.Alpha(n, tau=4 * pq.ms), None),
    "LIF resting at 0 mV": _neurons(
        lambda n: _lif(n, V_rest=0 * pq.mV, V_reset=0 * pq.mV, V_th=20 * pq.mV), ["V"]
    ),
    "ALIF adaptation": _neurons(lambda n: refsim.ALIF(n, tau_a=10 * pq.ms), ["a"]),
    "AdEx adaptation": _neurons(lambda n: refsim.AdExIF(n, tau_w=10 * pq.ms, a=0 * pq.S), ["w"]),
    "Gif currents": _neurons(lambda n: refsim.Gif(n), ["I1", "I2"]),
}


def _states(part):
    return [x for x in vars(part).values() if isinstance(x, refsim.module.State)]


def _silent_run(build, engine, precision=64):
    """Build, put the neurons at rest and the decaying states at ``TINY`` (1e-37 in
    float32, about ten times its smallest normal), run 300 ms; the spikes and every state's
    array."""
    tiny = TINY if precision == 64 else 1e-37
    with refsim.environ.context(dt=0.1 * pq.ms, precision=precision):
        net, pop, tiny_parts = build(50)
        refsim.init_all_states(net)
        pop.V.data = np.full_like(pop.V.data, pop.p.V_rest)  # at rest (internal mV)
        for part in tiny_parts:
            part, names = part if isinstance(part, tuple) else (part, None)
            for state in _states(part):
                if state.is_event_time or (names is not None and state.name not in names):
                    continue
                state.data = np.full_like(state.data, tiny)
        parts = [pop] + [p if not isinstance(p, tuple) else p[0] for p in tiny_parts]
        with refsim.use_backend(engine):
            res = refsim.run(net, 300 * pq.ms, progress=False, monitors={"spikes": pop})
    arrays = [
        s.data.copy() for p in dict.fromkeys(parts) for s in _states(p) if s.data.dtype.kind == "f"
    ]
    return res, arrays


@pytest.mark.parametrize("backend", COMPILED, indirect=True)
@pytest.mark.parametrize("case", SILENT)
def test_a_silent_network_stores_its_decayed_states_as_zero_on_every_backend(
    case, backend, monkeypatch
):
    compiled, compiled_states = _silent_run(SILENT[case], backend)
    oracle, oracle_states = _silent_run(SILENT[case], "numpy")
    with monkeypatch.context() as m:  # IEEE arithmetic, nothing flushed: what it prevents
        m.setattr(fmath, "flush_subnormals", lambda x: x)
        _, ieee_states = _silent_run(SILENT[case], "numpy")
    assert compiled.engine == backend and oracle.engine == "numpy"
    assert compiled["spikes"].count == oracle["spikes"].count == 0
    assert len(compiled_states) == len(oracle_states) == len(ieee_states) >= 1
    for a, b in zip(compiled_states, oracle_states, strict=True):
        assert np.array_equal(_bits(a), _bits(b))  # the same stores, bit for bit
        assert not _subnormal(a).any()
    flushed = [_subnormal(i) & (a == 0) for a, i in zip(oracle_states, ieee_states, strict=True)]
    assert sum(int(f.sum()) for f in flushed) >= 50  # the IEEE run kept them subnormal


@pytest.mark.parametrize("backend", COMPILED, indirect=True)
def test_float32_conductances_decay_to_zero_on_every_backend(backend):
    """Flushed below float32's smallest normal (numba's float32 rounds each stored state,
    NumPy's each operation: ``docs/precision.md``; the two are not bit-identical)."""
    build = SILENT["COBA: two Expon rows"]
    for engine in (backend, "numpy"):
        res, states = _silent_run(build, engine, precision=32)
        assert res.engine == engine and res["spikes"].count == 0
        assert all(a.dtype == np.float32 and not _subnormal(a).any() for a in states[:1])
        g = states[-2:]  # the two synapses' conductances, started at 1e-37
        assert [a.dtype for a in g] == [np.float32, np.float32]
        assert all(np.array_equal(_bits(a), np.zeros(50, np.uint32)) for a in g)


def test_a_state_the_loop_holds_is_the_array_it_writes_even_with_a_subnormal():
    """``hold`` gives a state the array the compiled loop writes in place; the state keeps
    that very array (a flush that copied it would leave the loop writing elsewhere)."""
    from refsim.backends.reading import hold

    state = refsim.module.State(np.zeros(3), name="ring")
    state._data = np.array([1e-310, 1.0, 0.0])  # a queued sum left subnormal by a run
    held = {}
    values = hold(state, "ring", held)
    assert state.data is values and values.tolist() == [0.0, 1.0, 0.0]
    assert held[id(values)][0] is state
