"""Backends: selection, the portable math, and the compiled backends (numba; cupy on a
GPU) against the numpy oracle, bit for bit."""

from __future__ import annotations

import inspect
import math
import warnings

import host_cupy
import numpy as np
import pytest
import quantities as pq

import refsim
from refsim import backends, fmath
from refsim.validation.networks import COBANet, CUBANet

numba = pytest.importorskip("numba", reason="the numba backend needs numba installed")

_CUPY_USABLE, _CUPY_DETAIL = backends.available()["cupy"]
#: the cupy backend's kernels run on the CPU by tests/support/host_cupy.py (needs g++)
ON_HOST = pytest.mark.skipif(
    host_cupy.COMPILER is None, reason="no host C++ compiler (g++) to run the GPU kernels on"
)
ON_GPU = [pytest.mark.gpu, pytest.mark.skipif(not _CUPY_USABLE, reason=_CUPY_DETAIL)]
#: the compiled backends each cross-backend test runs on: numba; cupy's kernels on the
#: host (everywhere with g++) and on a GPU (where there is one)
#: (the ``backend`` fixture, in ``conftest.py``, installs ``cupy-host``)
COMPILED = ["numba", pytest.param("cupy-host", marks=ON_HOST), pytest.param("cupy", marks=ON_GPU)]


# -- selection -------------------------------------------------------------------------


def test_default_is_numba_when_importable(monkeypatch):
    monkeypatch.delenv("REFSIM_BACKEND", raising=False)
    assert backends.get_backend() == "numba"


def test_environment_variable_and_context_manager(monkeypatch):
    monkeypatch.setenv("REFSIM_BACKEND", "numpy")
    assert backends.get_backend() == "numpy"
    with refsim.use_backend("numba"):
        assert refsim.get_backend() == "numba"
        with refsim.set_backend("numpy"):
            assert refsim.get_backend() == "numpy"
        assert refsim.get_backend() == "numba"
    assert refsim.get_backend() == "numpy"


def test_a_use_backend_block_holds_for_its_own_thread_and_restores_only_its_own(monkeypatch):
    """Two threads in blocks of their own, entered and left interleaved: each sees its own
    choice, and neither leaves one behind (a shared stack restored by each left the other's
    choice in force for the whole process)."""
    import threading

    monkeypatch.delenv("REFSIM_BACKEND", raising=False)
    entered, leave_first = threading.Barrier(2), threading.Event()
    seen = {}

    def block(name, key):
        with refsim.use_backend(name):
            entered.wait()
            if key == "second":
                leave_first.wait()  # left after the first thread's block
            seen[key] = refsim.get_backend()
        if key == "first":
            leave_first.set()

    threads = [
        threading.Thread(target=block, args=("numpy", "first")),
        threading.Thread(target=block, args=("numba", "second")),
    ]
    with refsim.use_backend("numba"):
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert refsim.get_backend() == "numba"
    assert seen == {"first": "numpy", "second": "numba"}
    assert refsim.get_backend() == "numba"  # the default: nothing left behind
    with refsim.set_backend("numpy"):  # set_backend outside a block: every thread
        found = []
        worker = threading.Thread(target=lambda: found.append(refsim.get_backend()))
        worker.start()
        worker.join()
        assert found == ["numpy"]
    assert refsim.get_backend() == "numba"


def test_bad_names_and_missing_backends_say_what_to_do(monkeypatch):
    with pytest.raises(ValueError, match="backend must be one of numpy, numba, cupy; got 'jax'"):
        refsim.set_backend("jax")
    monkeypatch.setenv("REFSIM_BACKEND", "fortran")
    with pytest.raises(ValueError, match="REFSIM_BACKEND must be one of"):
        backends.get_backend()
    usable, detail = backends.available()["cupy"]
    if not usable:
        with pytest.raises(backends.BackendError, match="pip install cupy-cuda12x"):
            refsim.set_backend("cupy")


# -- portable math -----------------------------------------------------------------------


def _numba_loops(f, g):
    """A jitted loop writing the scalar twins ``f(x[i])`` and ``g(x[i])`` into two arrays."""
    import refsim.backends.numba.support  # noqa: F401 - registers the twins

    @numba.njit
    def both(x, out_f, out_g):
        for i in range(x.size):
            out_f[i] = f(x[i])
            out_g[i] = g(x[i])

    return both


def test_fmath_is_bit_identical_in_numpy_and_numba_and_within_2_ulp():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            rng.uniform(-40, 40, 200_000),
            rng.uniform(-0.6, 0.6, 200_000),
            [0.0, -0.0, 1e-300, 0.5, -0.5, 709.7, 710.0, -745.0, -800.0],
        ]
    )
    e, r = np.empty_like(x), np.empty_like(x)
    _numba_loops(fmath.exp_scalar, fmath.exprel_scalar)(x, e, r)
    with np.errstate(over="ignore"):
        assert np.array_equal(fmath.exp(x), e)
        assert np.array_equal(fmath.exprel(x), r)
    libm = np.array([math.exp(v) if v < 709.78 else math.inf for v in x])
    normal = (libm > 1e-300) & np.isfinite(libm)
    ulps = np.abs(e[normal] - libm[normal]) / np.spacing(libm[normal])
    assert ulps.max() <= 2.0  # Cody-Waite + degree-13 Taylor: measured max 2 ulp
    assert math.isinf(e[-3]) and e[-1] == 0.0 and 0.0 <= e[-2] < 1e-320
    assert math.isnan(fmath.exp(np.nan)) and fmath.exprel(0.0) == 1.0


def test_tanh_and_cosh_are_bit_identical_in_numpy_and_numba_and_close_to_libm():
    x = np.concatenate([np.random.default_rng(1).uniform(-30, 30, 100_000), [0.0, -0.0, 1e-9]])
    t, c = np.empty_like(x), np.empty_like(x)
    _numba_loops(fmath.tanh_scalar, fmath.cosh_scalar)(x, t, c)
    assert np.array_equal(fmath.tanh(x), t) and np.array_equal(fmath.cosh(x), c)
    # absolute error of tanh (used as (1 + tanh)/2), relative of cosh: a few ulp of 1
    assert np.max(np.abs(t - np.tanh(x))) <= 4 * np.finfo(float).eps
    assert np.max(np.abs(c / np.cosh(x) - 1.0)) <= 4 * np.finfo(float).eps


def test_exprel_matches_expm1_over_z():
    z = np.linspace(-3, 3, 10_001)
    z = z[z != 0]
    # 4 ulp: the series and exp(z)-1 each round a few times
    np.testing.assert_allclose(fmath.exprel(z), np.expm1(z) / z, rtol=4 * 2.2e-16)


# -- numba against numpy -----------------------------------------------------------------


def _run(make, backend, duration_ms, monitors=None):
    with refsim.use_backend(backend):
        refsim.random.seed(1)
        net = make()
        refsim.init_all_states(net)
        if isinstance(net, COBANet):
            net.kick_start(1)
        with refsim.environ.context(dt=0.1 * pq.ms):
            res = refsim.run(
                net,
                duration_ms * pq.ms,
                monitors=monitors(net) if monitors else {"spikes": net.pop},
            )
    return net, res


def _state_of(net):
    return [
        net.pop.V.data.copy(),
        net.pop.last_spike_time.data.copy(),
        net.E.syn.g.data.copy(),
        net.I.syn.g.data.copy(),
    ]


@pytest.mark.parametrize(
    "make, duration_ms",
    [
        (lambda: COBANet(4000, 1), 1000.0),
        (lambda: CUBANet(4000, 1), 1000.0),
        (lambda: COBANet(1000, 3), 300.0),
    ],
    ids=["COBA 4000, 1 s", "CUBA 4000, 1 s", "COBA 1000"],
)
@pytest.mark.parametrize("backend", COMPILED, indirect=True)
def test_compiled_equals_numpy_bit_for_bit_on_the_benchmark_networks(backend, make, duration_ms):
    def monitors(net):
        return {
            "spikes": net.pop,
            "V": refsim.StateMonitor(net.pop.V, indices=[0, 7, 999], every=7),
            "g": net.E.syn.g,
        }

    a_net, a = _run(make, backend, duration_ms, monitors)
    b_net, b = _run(make, "numpy", duration_ms, monitors)
    assert a.engine == backend and b.engine == "numpy"
    assert a["spikes"].count > 1000
    assert np.array_equal(a["spikes"].steps, b["spikes"].steps)
    assert np.array_equal(a["spikes"].indices_fired, b["spikes"].indices_fired)
    for x, y in zip(_state_of(a_net), _state_of(b_net), strict=True):
        assert np.array_equal(x, y)  # identical operations in identical order
    assert np.array_equal(a["V"].magnitude, b["V"].magnitude)
    assert a["V"].shape == (-(-int(duration_ms * 10) // 7), 3)
    assert np.array_equal(a["g"].magnitude, b["g"].magnitude)


@pytest.mark.parametrize("backend", COMPILED, indirect=True)
def test_reruns_are_bit_identical_and_continue_like_one_run(backend):
    first, r1 = _run(lambda: CUBANet(2000, 4), backend, 200.0)
    again, r2 = _run(lambda: CUBANet(2000, 4), backend, 200.0)
    assert np.array_equal(r1["spikes"].steps, r2["spikes"].steps)
    assert all(
        np.array_equal(x, y) for x, y in zip(_state_of(first), _state_of(again), strict=True)
    )
    assert r1.plan_s > 0 and r1.compile_s > 0 and r1.wall_s > 0  # timed apart
    # two runs of 100 ms == one of 200 ms
    with refsim.use_backend(backend):
        refsim.random.seed(1)
        net = refsim.init_all_states(CUBANet(2000, 4))
        with refsim.environ.context(dt=0.1 * pq.ms):
            h1 = refsim.run(net, 100 * pq.ms, monitors={"s": net.pop})
            h2 = refsim.run(net, 100 * pq.ms, monitors={"s": net.pop}, t_start=h1.next_t)
    refsim.random.seed(1)
    steps = np.concatenate([h1["s"].steps, h2["s"].steps])
    assert np.array_equal(steps, r1["spikes"].steps)


@pytest.mark.parametrize("backend", COMPILED, indirect=True)
def test_spike_monitor_with_indices_keeps_the_oracles_order(backend):
    picks = [50, 3, 1999, 10]
    mons = lambda net: {"s": refsim.SpikeMonitor(net.pop, indices=picks)}  # noqa: E731
    _, a = _run(lambda: COBANet(2000, 2), backend, 200.0, mons)
    _, b = _run(lambda: COBANet(2000, 2), "numpy", 200.0, mons)
    assert a["s"].count == b["s"].count > 0
    assert np.array_equal(a["s"].indices_fired, b["s"].indices_fired)
    assert np.array_equal(a["s"].steps, b["s"].steps)


@pytest.mark.parametrize("backend", COMPILED, indirect=True)
def test_network_with_direct_current_and_lif_matches_brainpy_golden_raster(backend):
    from refsim.validation.golden_cases import run_einet
    from refsim.validation.golden_data import load

    ref = load("einet_seed0")
    with refsim.use_backend(backend):
        net, spikes = run_einet(0, V0_mV=ref["V0_mV"])
    raster = np.zeros(ref["spikes"].shape, dtype=np.uint8)
    raster[spikes.steps, spikes.indices_fired] = 1
    assert spikes.count == 4321
    assert np.array_equal(raster, ref["spikes"])


@pytest.mark.parametrize("backend", COMPILED, indirect=True)
def test_a_network_that_does_not_compile_warns_and_runs_numpy(backend):
    net = refsim.Network()
    pop = net.population(refsim.HH(3, method="rk4"), current=5 * pq.uA)
    refsim.init_all_states(net)
    pop.add_current_input("ramp", lambda V: 0.0 * pq.uA)  # Python at every stage
    with refsim.use_backend(backend), refsim.environ.context(dt=0.1 * pq.ms):
        with pytest.warns(
            backends.BackendFallbackWarning, match="current input 'ramp' does not compile"
        ):
            res = refsim.run(net, 1 * pq.ms, monitors={"V": pop.V})
    assert res.engine.startswith(f"numpy ({backend} could not compile: ")
    assert res["V"].shape == (10, 3)


def test_a_monitor_the_loop_cannot_fill_runs_numpy_with_a_warning():
    """A callable monitor that computes from a state needs Python each step: the run
    falls back, naming the monitor, what its callable does and the line (it used to raise
    NotCompilable from inside the compiled run)."""
    results = {}
    for backend in ("numba", "numpy"):
        net = refsim.Network()
        pop = net.population(refsim.LIF(10), current=20 * pq.mA)
        refsim.init_all_states(net)
        with (
            refsim.use_backend(backend),
            refsim.environ.context(dt=0.1 * pq.ms),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            results[backend] = refsim.run(
                net,
                1 * pq.ms,
                progress=False,
                monitors={"mean": lambda pop=pop: pop.V.value.mean(), "spikes": pop},
            )
        messages = [
            str(w.message)
            for w in caught
            if issubclass(w.category, backends.BackendFallbackWarning)
        ]
        assert len(messages) == (backend == "numba")
    res = results["numba"]
    assert res.engine.startswith(
        "numpy (numba could not compile: monitor 'mean': its callable does not compile: it "
        "computes with the state V in Python (magnitude), at "
    )
    assert res["mean"].shape == (10,) and res["mean"][-1] > res["mean"][0]
    assert np.array_equal(res["mean"].magnitude, results["numpy"]["mean"].magnitude)


def _callable_monitors(net) -> dict:
    """Monitors of ``net`` (a COBANet) through callables, as a user writes them."""
    return {
        "V": lambda: net.pop.V.value,
        "V data": lambda: net.pop.V.data,
        "g": refsim.StateMonitor(lambda: net.E.syn.g.value, indices=[0, 5], every=2),
        "mean V": refsim.StateMonitor(lambda: net.pop.V.value, reduce="mean"),
        "spikes": net.pop,
    }


@pytest.mark.parametrize("backend", COMPILED, indirect=True)
def test_a_monitor_whose_callable_returns_a_state_runs_compiled(backend):
    """``lambda: pop.V.value`` (or ``.data``) is the state itself: the compiled loop records
    it, the same records, shapes and units as the NumPy run's, bit for bit."""
    results = {}
    for engine in ("numpy", backend):
        with warnings.catch_warnings():
            warnings.simplefilter("error", backends.BackendFallbackWarning)
            results[engine] = _run(lambda: COBANet(400, 3), engine, 20.0, _callable_monitors)[1]
    numpy_run, compiled = results["numpy"], results[backend]
    assert compiled.engine == backend
    assert compiled["spikes"].count == numpy_run["spikes"].count > 0
    shapes = {"V": (200, 400), "V data": (200, 400), "g": (100, 2), "mean V": (200,)}
    for name, shape in shapes.items():
        assert np.shape(compiled[name]) == np.shape(numpy_run[name]) == shape, name
        assert getattr(compiled[name], "units", None) == getattr(numpy_run[name], "units", None)
        assert np.array_equal(np.asarray(compiled[name]), np.asarray(numpy_run[name])), name
    assert str(compiled["V"].units) == "1.0 mV" and str(compiled["g"].units) == "1.0 nS"
    assert not isinstance(compiled["V data"], pq.Quantity)  # .data: plain numbers, as NumPy's


def test_a_monitor_whose_callable_calls_a_component_or_slices_says_so():
    net = refsim.Network()
    pop = net.population(refsim.LIF(10), current=20 * pq.mA)
    refsim.init_all_states(net)
    for monitor, why in (
        (lambda: pop.V.value[:3], "its callable does not compile: it computes with the state V"),
        (lambda: pop.get_spike(), "reads something other than a state of a compiled component"),
    ):
        with refsim.use_backend("numba"), refsim.environ.context(dt=0.1 * pq.ms):
            with pytest.warns(backends.BackendFallbackWarning, match=f"monitor 'm'.? {why}"):
                res = refsim.run(net, 1 * pq.ms, monitors={"m": monitor}, progress=False)
        assert res.engine.startswith("numpy (numba could not compile: monitor 'm'")
        assert np.shape(res["m"]) in ((10, 3), (10, 10))


def test_a_plain_step_function_is_captured_and_runs_compiled():
    n = refsim.init_all_states(refsim.LIF(2))
    with refsim.use_backend("numba"), refsim.environ.context(dt=0.1 * pq.ms):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = refsim.run(lambda: n(1 * pq.mA), 1 * pq.ms, monitors={"V": n.V})
    assert res.engine == "numba (a captured step function; its first 2 steps ran the NumPy code)"
    assert res["V"].shape == (10, 2) and res.compile_s > 0


def test_a_monitor_whose_callable_fails_before_the_run_is_left_to_the_numpy_steps():
    """Read before the run (to find the state it returns), a callable that raises then
    falls back, saying so; the NumPy steps call it in the run as they always do."""
    net = refsim.Network()
    pop = net.population(refsim.LIF(4), current=20 * pq.mA)
    refsim.init_all_states(net)
    calls = []

    def monitor():
        calls.append(1)
        if len(calls) < 3:  # fails in the reads before the run (memory probe, backend)
            raise RuntimeError("not yet")
        return pop.V.value

    with refsim.use_backend("numba"), refsim.environ.context(dt=0.1 * pq.ms):
        with pytest.warns(backends.BackendFallbackWarning) as caught:
            res = refsim.run(net, 1 * pq.ms, monitors={"m": monitor}, progress=False)
    assert str(caught[0].message) == (
        "refsim.run on the numba backend: monitor 'm': its callable raised RuntimeError "
        "(not yet) when read before the run; running the NumPy code step by step"
    )
    assert res["m"].shape == (10, 4) and len(calls) == 2 + 10


def test_a_step_function_with_a_callable_monitor_of_a_state_runs_compiled():
    records = {}
    for backend in ("numpy", "numba"):
        n = refsim.init_all_states(refsim.LIF(2))
        with refsim.use_backend(backend), refsim.environ.context(dt=0.1 * pq.ms):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                res = refsim.run(
                    lambda n=n: n(30 * pq.mA), 5 * pq.ms, monitors={"V": lambda n=n: n.V.value}
                )
        records[backend] = res["V"]
    assert res.engine == "numba (a captured step function; its first 2 steps ran the NumPy code)"
    assert records["numba"].shape == (50, 2) and records["numba"].units == pq.mV
    assert np.array_equal(records["numba"].magnitude, records["numpy"].magnitude)


def test_a_step_function_that_does_not_compile_says_why_naming_both_lines():
    n = refsim.init_all_states(refsim.LIF(2))
    with refsim.use_backend("numba"), refsim.environ.context(dt=0.1 * pq.ms):
        with pytest.warns(backends.BackendFallbackWarning) as caught:
            line = inspect.currentframe().f_lineno + 1
            res = refsim.run(lambda: n(1 * pq.mA + 0 * n.V.value / pq.mV * pq.mA), 1 * pq.ms)
    assert str(caught[0].message) == (
        "refsim.run of a step function on the numba backend: the step function does not "
        "compile: it computes with the state V in Python (numpy.multiply), at "
        f"{__file__}:{line}; running the NumPy code step by step"
    )
    assert (caught[0].filename, caught[0].lineno) == (__file__, line)
    assert res.engine.startswith("numpy (numba could not compile the step function: ")
    assert res.plan_s == res.compile_s == 0.0 and res.wall_s > 0


def test_for_loop_on_a_compiled_backend_compiles_and_says_when_it_cannot():
    n = refsim.init_all_states(refsim.LIF(2))
    with refsim.use_backend("numba"), warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled = refsim.for_loop(lambda i: n(1 * pq.mA), np.arange(5))
    assert compiled.shape == (5, 2)
    with (
        refsim.use_backend("numba"),
        pytest.warns(
            backends.BackendFallbackWarning,
            match=r"refsim.for_loop of a step function on the numba backend: .*loop's argument 0"
            r" in Python .*test_backends.py:\d+; running",
        ),
    ):
        out = refsim.for_loop(lambda i: n(i * pq.mA), np.arange(5))
    assert out.shape == (5, 2)
    with refsim.use_backend("numpy"), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert refsim.for_loop(lambda i: n(1 * pq.mA), np.arange(5)).shape == (5, 2)


def test_network_declaration_errors_name_the_problem():
    net = refsim.Network()
    pop = refsim.LIF(10)
    proj = refsim.AlignPostProj(
        comm=refsim.EventFixedProb(4, 10, 2, 1 * pq.mS, seed=0),
        syn=refsim.Expon.desc(10),
        out=refsim.CUBA.desc(),
        post=pop,
    )
    with pytest.raises(ValueError, match="is not a population of this network"):
        net.project(proj, pop)
    net.population(pop)
    with pytest.raises(ValueError, match=r"expects 4 presynaptic neurons but the slice \[0:10\]"):
        net.project(proj, pop)
    with pytest.raises(ValueError, match=r"the slice \[8:12\] does not fit"):
        net.project(proj, pop, 8, 12)
    with pytest.raises(TypeError, match="population must be a refsim neuron"):
        net.population(proj)


def _mixed_network(seed: int = 5):
    """Two populations with per-neuron parameters on one, a population larger than a
    block of the compiled loop, per-synapse and shared weights, COBA and CUBA."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    n_a, n_b = 5000, 700
    net = refsim.Network()
    a = refsim.LIFRef(
        n_a,
        R=1.0 * pq.MOhm,
        tau=rng.uniform(10.0, 30.0, n_a) * pq.ms,
        tau_ref=2.0 * pq.ms,
        V_rest=-60.0 * pq.mV,
        V_th=rng.uniform(-52.0, -48.0, n_a) * pq.mV,
        V_reset=-65.0 * pq.mV,
        V_initializer=refsim.init.Uniform(-65.0, -48.0, unit=pq.mV),
    )
    b = refsim.LIF(
        n_b,
        R=1.0 * pq.MOhm,
        tau=15.0 * pq.ms,
        V_rest=-60.0 * pq.mV,
        V_th=-50.0 * pq.mV,
        V_reset=-60.0 * pq.mV,
        spk_reset="hard",
        V_initializer=refsim.init.Uniform(-60.0, -50.0, unit=pq.mV),
    )
    W = sp.random(n_a, n_b, density=0.02, format="csr", random_state=seed) * 3.0
    a_to_b = refsim.AlignPostProj(
        comm=refsim.SparseLinear(W, unit=pq.nS),
        syn=refsim.Expon.desc(n_b, tau=5.0 * pq.ms),
        out=refsim.COBA.desc(E=0.0 * pq.mV),
        post=b,
    )
    b_to_a = refsim.AlignPostProj(
        comm=refsim.EventFixedProb(n_b, n_a, 0.05, -0.4 * pq.nA, seed=seed),
        syn=refsim.Expon.desc(
            n_a, tau=8.0 * pq.ms, g_initializer=(refsim.init.Constant(0.0 * pq.nA))
        ),
        out=refsim.CUBA.desc(scale=1.0),
        post=a,
    )
    a_to_a = refsim.AlignPostProj(
        comm=refsim.EventFixedProb(n_a, n_a, 0.01, 0.5 * pq.nS, seed=seed + 1),
        syn=refsim.Expon.desc(n_a, tau=3.0 * pq.ms),
        out=refsim.COBA.desc(E=0.0 * pq.mV),
        post=a,
    )
    net.population(a, current=rng.uniform(9.0, 13.0, n_a) * pq.nA)
    net.population(b, current=9.5 * pq.nA)
    net.project(a_to_b, a)
    net.project(b_to_a, b)
    net.project(a_to_a, a)
    return net, a, b


@pytest.mark.parametrize("backend", COMPILED, indirect=True)
def test_compiled_equals_numpy_with_per_neuron_parameters_and_weights_over_blocks(backend):
    from refsim.backends import numba as numba_backend
    from refsim.backends.numba import loop

    results = {}
    compiled = backend
    for backend in (compiled, "numpy"):
        refsim.random.seed(11)
        net, a, b = _mixed_network()
        refsim.init_all_states(net)
        if backend == "numba":
            pl = numba_backend.plan(net)
            # the cases this test is for: a per-neuron table and a shared one, a
            # population over one block, per-synapse and shared weights
            assert list(pl.neurons.narrow) == [False, True]
            assert a.num > loop._BLOCK
            assert sorted(pl.feeds.uniform) == [False, True, True]
        with refsim.use_backend(backend), refsim.environ.context(dt=0.1 * pq.ms):
            res = refsim.run(net, 150 * pq.ms, monitors={"a": a, "b": b}, progress=False)
        results[backend] = (res, a.V.data.copy(), b.V.data.copy(), a.last_spike_time.data.copy())
    (ra, *sa), (rb, *sb) = results[compiled], results["numpy"]
    assert ra.engine == compiled and rb.engine == "numpy"
    assert ra["a"].count > 500 and ra["b"].count > 100  # both populations are active
    for key in ("a", "b"):
        assert np.array_equal(ra[key].steps, rb[key].steps)
        assert np.array_equal(ra[key].indices_fired, rb[key].indices_fired)
    for x, y in zip(sa, sb, strict=True):
        assert np.array_equal(x, y)


def _repeated_targets_network():
    """A LIF population feeding itself through a CSR matrix whose rows are unsorted and
    repeat targets with weights whose sum depends on their order (1e16 + 1 - 1e16 is 0,
    1e16 - 1e16 + 1 is 1): a loop that reordered a row's synapses would show."""
    import scipy.sparse as sp

    n = 64
    cols, weights = [], []
    for pre in range(n):  # five synapses a row, three of them onto one target
        cols += [
            (pre * 7 + 5) % n,
            (pre * 3 + 1) % n,
            (pre * 7 + 5) % n,
            (pre * 11) % n,
            (pre * 7 + 5) % n,
        ]
        weights += [1e16, 0.3, 1.0, 0.2, -1e16]
    # from (data, indices, indptr): scipy keeps this storage order (from COO it would sum
    # the repeated targets)
    W = sp.csr_matrix(
        (np.array(weights), np.array(cols, dtype=np.int32), np.arange(0, 5 * n + 1, 5)),
        shape=(n, n),
    )
    pop = refsim.LIF(
        n,
        R=1.0 * pq.MOhm,
        tau=10.0 * pq.ms,
        V_rest=-60.0 * pq.mV,
        V_th=-50.0 * pq.mV,
        V_reset=-60.0 * pq.mV,
        V_initializer=refsim.init.Uniform(-60.0, -50.0, unit=pq.mV),
    )
    proj = refsim.AlignPostProj(
        comm=refsim.SparseLinear(W, unit=pq.nA),
        syn=refsim.Expon.desc(
            n, tau=5.0 * pq.ms, g_initializer=(refsim.init.Constant(0.0 * pq.nA))
        ),
        out=refsim.CUBA.desc(scale=1.0),
        post=pop,
    )
    net = refsim.Network()
    net.population(pop, current=11.0 * pq.nA)
    net.project(proj, pop)
    return net, pop, W


def _assert_same_spikes(a, b, more_than: int, engine: str = "numba") -> None:
    """``a`` ran on ``engine`` and ``b`` on numpy, with more than ``more_than`` spikes in
    the monitor ``"spikes"``, the same (step, index) pairs in the same order."""
    assert a.engine == engine and b.engine == "numpy"
    assert a["spikes"].count > more_than
    assert np.array_equal(a["spikes"].steps, b["spikes"].steps)
    assert np.array_equal(a["spikes"].indices_fired, b["spikes"].indices_fired)


def _repeated_targets_runs(duration_ms: float, g_monitor: bool):
    """:func:`_repeated_targets_network` run on numba and on numpy: per backend the result
    (spikes, and the synapse's g if ``g_monitor``) and the final V; and the matrix."""
    results = {}
    for backend in ("numba", "numpy"):
        refsim.random.seed(4)
        net, pop, W = _repeated_targets_network()
        refsim.init_all_states(net)
        monitors = {"spikes": pop}
        if g_monitor:
            monitors["g"] = refsim.StateMonitor(net.feeds[0][0].syn.g)
        with refsim.use_backend(backend), refsim.environ.context(dt=0.1 * pq.ms):
            res = refsim.run(net, duration_ms * pq.ms, progress=False, monitors=monitors)
        results[backend] = res, pop.V.data.copy()
    return results, W


def test_a_row_that_repeats_a_target_adds_in_storage_order_when_compiled():
    """The compiled loop sorts each row by target and cuts it between threads
    (``_sorted_rows``, ``_cut_rows``): a target's repeated synapses keep their order, so
    the sums (which here depend on it) equal the oracle's."""
    results, W = _repeated_targets_runs(100.0, g_monitor=True)
    (ra, Va), (rb, Vb) = results["numba"], results["numpy"]
    _assert_same_spikes(ra, rb, more_than=200)
    assert np.array_equal(ra["g"].magnitude, rb["g"].magnitude)
    assert np.array_equal(Va, Vb)
    # the order mattered: summed in storage order a row adds 0.0 to its repeated target,
    # sorted by weight it would add 1.0
    assert (1e16 + 1.0) - 1e16 == 0.0 and (1e16 - 1e16) + 1.0 == 1.0
    assert np.array_equal(W.indices[:5], [5, 1, 5, 0, 5])


@pytest.mark.parametrize("lo, hi", [(0, 0), (0, 5), (0, 64), (8, 61), (16, 100), (96, 100)])
def test_spike_lists_read_eight_flags_at_a_time_and_miss_none(lo, hi):
    from refsim.backends.numba import propagate

    rng = np.random.default_rng(lo + hi)
    spk = rng.random(100) < 0.1
    spk[hi - 1 if hi else 0] = True  # the last flag of a range (a tail past the words)
    fired = np.full(100, -1, dtype=np.int64)
    count = propagate._list_fired(spk, fired, lo, hi)
    expected = np.flatnonzero(spk[lo:hi]) + lo
    assert count == expected.size
    assert fired[lo : lo + count].tolist() == expected.tolist()
    assert np.all(fired[:lo] == -1) and np.all(fired[lo + count :] == -1)


def test_array_tables_give_the_arrays_back_in_the_loop_and_refuse_other_layouts():
    import numba

    from refsim.backends.numba.support import array_table, cube_at, matrix_at, vector_at

    @numba.njit
    def touch(vectors, matrices, cubes):
        v, m, c = (
            vector_at(vectors, 1, np.float64),
            matrix_at(matrices, 0, np.int32),
            cube_at(cubes, 0, np.float64),
        )
        v[2] += 1.0
        m[1, 2] = 7
        c[1, 0, 1] = 5.0
        return v.size, m.shape[0], m.shape[1], c.shape[2]

    vectors = [np.zeros(3), np.arange(5.0)]
    matrices = [np.zeros((2, 3), dtype=np.int32)]
    cubes = [np.zeros((2, 1, 4))]
    sizes = touch(
        array_table(vectors, np.float64, 1),
        array_table(matrices, np.int32, 2),
        array_table(cubes, np.float64, 3),
    )
    assert sizes == (5, 2, 3, 4)
    assert vectors[1].tolist() == [0.0, 1.0, 3.0, 3.0, 4.0]  # views: written in place
    assert matrices[0][1, 2] == 7 and cubes[0][1, 0, 1] == 5.0
    assert array_table([], np.float64, 1).shape == (0, 4)
    with pytest.raises(
        TypeError,
        match=r"item 0 is a 1-d float32 array \(C-contiguous: "
        r"True\); expected a C-contiguous 1-d float64 array",
    ):
        array_table([np.zeros(3, dtype=np.float32)], np.float64, 1)
    with pytest.raises(TypeError, match="C-contiguous: False"):
        array_table([np.zeros((3, 4))[:, 1:]], np.float64, 2)


def test_spike_records_that_outgrow_their_buffers_lose_nothing(monkeypatch):
    """Buffers of four steps' worth of spikes: the loop stops before each step that could
    fill them and the run doubles them, again and again; the record equals numpy's."""
    from refsim.backends.numba import driver

    monkeypatch.setattr(driver, "_FIRST_SPIKES", 1)
    results, _ = _repeated_targets_runs(600.0, g_monitor=False)  # two barriers a step
    (ra, Va), (rb, Vb) = results["numba"], results["numpy"]
    a, b = ra["spikes"], rb["spikes"]
    assert ra.engine == "numba" and np.array_equal(Va, Vb)
    assert a.count > 4 * 4 * 64  # the 256 first entries doubled at least three times
    assert np.array_equal(a.steps, b.steps)
    assert np.array_equal(a.indices_fired, b.indices_fired)


def test_which_populations_take_the_one_pass_cuba_kernel():
    """``_lif_cuba_pass`` (one fused pass) steps LIF populations with shared parameters
    whose one or two Expon rows each take one feed into one CUBA output; the bit-for-bit
    tests run it on CUBA 4000 (two rows) and on the repeated-targets network (one row)."""
    from refsim.backends import numba as numba_backend
    from refsim.backends.numba import prepare

    def feeds_of(net, p=0):
        refsim.init_all_states(net)
        return prepare.cuba_rows(numba_backend.plan(net), p)

    refsim.random.seed(1)
    assert feeds_of(CUBANet(400, 1)) == (0, 1)
    assert feeds_of(_repeated_targets_network()[0]) == (0, 0)
    assert feeds_of(COBANet(400, 1)) == (-1, -1)  # COBA outputs: the general passes
    net, a, b = _mixed_network()
    assert feeds_of(net, 0) == (-1, -1)  # a CUBA and a COBA output


@pytest.mark.parametrize(
    "V_th, V_reset",
    [
        (-50.0, -60.0),
        (-50.0, -52.0),
        (0.0, -2.0),
        (0.0, -3.0),
        (0.0, -1.0),
        (5.0, 4.0),
        (0.0, -1e300),
        (0.0, -1.7e308),
        (1e-310, -1.9e-310),
        (1e-320, 0.0),
    ],
)
def test_the_cuba_pass_spike_test_without_division_equals_spike_scalar(V_th, V_reset):
    """``V - V_th >= spike_floor(V_th, V_reset)`` is ``spike_scalar``'s
    ``(V - V_th) / (V_th - V_reset) >= 0`` for every V: near the threshold, at subnormal
    distances (where a quotient underflows to -0.0, which passes), at the floor and its
    neighbours, at infinities and NaN."""
    from refsim.backends.numba.prepare import spike_floor
    from refsim.neurons.base import spike_scalar

    floor = spike_floor(V_th, V_reset)
    assert floor <= 0.0
    rng = np.random.default_rng(0)
    tiny = 5e-324
    x = np.concatenate(
        [
            rng.normal(0.0, 10.0, 2000),
            rng.normal(0.0, 1e-300, 200),
            [
                0.0,
                -0.0,
                tiny,
                -tiny,
                -2 * tiny,
                -3 * tiny,
                -5 * tiny,
                np.inf,
                -np.inf,
                np.nan,
                floor,
                np.nextafter(floor, -np.inf),
                np.nextafter(floor, np.inf),
            ],
        ]
    )
    V = np.concatenate([V_th + x, [V_th, np.nextafter(V_th, np.inf), np.nextafter(V_th, -np.inf)]])
    with np.errstate(all="ignore"):
        expected = np.array(
            [bool(spike_scalar(np.float64(v), np.float64(V_th), np.float64(V_reset))) for v in V]
        )
        got = V - V_th >= floor
    assert np.array_equal(got, expected)
    assert 100 < expected.sum() < V.size - 100


def test_a_spike_floor_exists_only_for_a_positive_finite_reset_distance():
    from refsim.backends.numba.prepare import spike_floor

    # 5 * 2**-1074 / 10 is half the least subnormal: a tie, rounded to even, 0
    assert spike_floor(-50.0, -60.0) == -5 * 5e-324
    assert spike_floor(-50.0, -52.0) == -5e-324 and spike_floor(0.0, -1.0) == 0.0
    for V_th, V_reset in ((-50.0, -50.0), (-50.0, -40.0), (np.inf, 0.0), (np.nan, 0.0)):
        assert np.isnan(spike_floor(V_th, V_reset)), (V_th, V_reset)


def test_the_general_lif_pass_tests_spikes_against_the_floor_as_spike_scalar_does():
    """``_integrate`` (the LIF pass of populations outside the CUBA pass, COBA's) tests a
    shared V_th / V_reset population's spike against :func:`spike_floor`; held in its
    refractory period, each neuron keeps its post-reset potential, so the test sees
    potentials set here: around the threshold, a few subnormals below it (where the
    oracle's quotient underflows to -0.0 and spikes), infinities and NaN."""
    from refsim.backends.numba.lif import _integrate
    from refsim.backends.numba.prepare import spike_floor
    from refsim.backends.numba.support import array_table
    from refsim.neurons.base import spike_scalar

    empty = array_table([], np.float64, 1)  # no jumps (DeltaProj, PoissonInput)
    no_jumps = (np.zeros(0, np.int64), empty, np.zeros((0, 4), np.int64))
    no_jumps += (np.zeros((0, 2, 1)), np.zeros((0, 2), np.int64), empty)
    no_jumps += (np.zeros((0, 2), np.int64), np.zeros(0, np.int64), 0)

    V_th, V_reset, t = 0.0, -10.0, 3.0  # V_th = 0: subnormal distances are representable
    tiny = 5e-324
    V_r = np.concatenate(
        [
            np.random.default_rng(0).normal(0.0, 1e-13, 500),
            [
                0.0,
                -0.0,
                -tiny,
                -4 * tiny,
                -5 * tiny,
                -6 * tiny,
                -10 * tiny,
                np.inf,
                -np.inf,
                np.nan,
            ],
        ]
    )
    n = V_r.size
    spikes = {}
    for floor in (spike_floor(V_th, V_reset), np.nan):  # the floor, and the division
        v, spk, flag = np.zeros(n), np.zeros(n, dtype=np.bool_), np.zeros(n)
        last = np.full(n, t)  # spiked now: held
        _integrate(
            0,
            0,
            n,
            v,
            last,
            flag,
            spk,
            1.0,
            10.0,
            V_th,
            V_reset,
            -52.0,
            5.0,
            True,
            V_r.copy(),
            np.zeros(n),
            np.zeros(n),
            1.0,
            np.zeros((8, n)),
            no_jumps,
            floor,
            t,
            0.1,
            False,
        )
        assert np.array_equal(v, V_r, equal_nan=True)
        spikes[floor == floor] = spk
    with np.errstate(all="ignore"):
        expected = np.array([bool(spike_scalar(x, V_th, V_reset)) for x in V_r])
    assert np.array_equal(spikes[True], expected) and np.array_equal(spikes[False], expected)
    assert expected[-10:].tolist() == [True] * 5 + [False, False, True, False, False]
    assert 100 < expected.sum() < n - 100


def test_a_cuba_population_over_several_blocks_in_one_pass_equals_numpy():
    """``_lif_cuba_pass`` takes a thread's whole share, beyond one block of the passes."""
    from refsim.backends.numba import loop

    results = {}
    for backend in ("numba", "numpy"):
        refsim.random.seed(2)
        net = CUBANet(9000, 2)
        refsim.init_all_states(net)
        with refsim.use_backend(backend), refsim.environ.context(dt=0.1 * pq.ms):
            res = refsim.run(net, 100 * pq.ms, progress=False, monitors={"spikes": net.pop})
        results[backend] = res, _state_of(net)
    (ra, sa), (rb, sb) = results["numba"], results["numpy"]
    assert net.pop.num > 2 * loop._BLOCK and ra.engine == "numba"
    assert ra["spikes"].count > 1000
    assert np.array_equal(ra["spikes"].steps, rb["spikes"].steps)
    assert np.array_equal(ra["spikes"].indices_fired, rb["spikes"].indices_fired)
    for x, y in zip(sa, sb, strict=True):
        assert np.array_equal(x, y)


def test_rows_sorted_by_target_keep_repeated_targets_in_order_and_cut_per_thread():
    from refsim.backends.numba import prepare, support

    indptr = np.array([0, 5, 5, 8], dtype=np.int64)
    indices = np.array([9, 2, 9, 0, 9, 7, 3, 5], dtype=np.int32)
    weights = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    sorted_indices, sorted_weights = prepare._sorted_rows(indptr, indices, weights, False)
    assert sorted_indices.tolist() == [0, 2, 9, 9, 9, 3, 5, 7]
    assert sorted_weights.tolist() == [4.0, 2.0, 1.0, 3.0, 5.0, 7.0, 8.0, 6.0]
    assert indices.tolist() == [9, 2, 9, 0, 9, 7, 3, 5]  # the matrix's own arrays untouched
    assert weights.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    # sorted rows are kept as they are; uniform weights are not copied
    again = prepare._sorted_rows(indptr, sorted_indices, sorted_weights, False)
    assert again[0] is sorted_indices and again[1] is sorted_weights
    ones = np.ones(8)
    assert prepare._sorted_rows(indptr, indices, ones, True)[1] is ones
    # 140 targets on 2 threads: shares 0..63 and 64..139 (cut at a multiple of 64)
    assert [support._share(140, part, 2) for part in range(3)] == [0, 64, 140]
    cut = prepare._cut_rows(indptr, sorted_indices + 56, 140, 2)
    assert cut.tolist() == [0, 2, 5, 5, 5, 8, 8]
    assert prepare._cut_rows(indptr, sorted_indices, 20, 1).tolist() == indptr.tolist()


# -- every compiled neuron model, in a network and on the golden cases ------------------


def _u0():
    return refsim.init.Constant(-13.0 * pq.mV / pq.ms)


#: (model, parameters, direct input) of a recurrent network that spikes without blowing up
#: (the ExpIF threshold sits below the upswing that overflows at dt = 0.1 ms).  The
#: dimensionless FitzHughNagumo and HindmarshRose take no COBA/CUBA output: their golden
#: cases below run them compiled.
MODEL_NETWORKS = {
    "LIF": (
        refsim.LIF,
        dict(tau=10 * pq.ms, V_th=-50 * pq.mV, V_reset=-60 * pq.mV, V_rest=-60 * pq.mV),
        12 * pq.mA,
    ),
    "LIFRef": (
        refsim.LIFRef,
        dict(
            tau=10 * pq.ms,
            V_th=-50 * pq.mV,
            V_reset=-60 * pq.mV,
            V_rest=-60 * pq.mV,
            tau_ref=2 * pq.ms,
        ),
        12 * pq.mA,
    ),
    "ALIF": (
        refsim.ALIF,
        dict(
            tau=10 * pq.ms,
            V_th=-50 * pq.mV,
            V_reset=-60 * pq.mV,
            V_rest=-60 * pq.mV,
            beta=2 * pq.mV,
        ),
        20 * pq.mA,
    ),
    "ExpIF": (refsim.ExpIF, dict(spk_reset="hard", V_th=-50 * pq.mV), 8 * pq.mA),
    "ExpIFRef": (refsim.ExpIFRef, dict(spk_reset="hard", ref_var=True), 8 * pq.mA),
    "AdExIF": (refsim.AdExIF, dict(a=0.05 * pq.S, b=2 * pq.mA, spk_reset="hard"), 8 * pq.mA),
    "AdExIFRef": (refsim.AdExIFRef, dict(a=0.05 * pq.S, b=2 * pq.mA, tau_ref=2 * pq.ms), 8 * pq.mA),
    "QuaIF": (refsim.QuaIF, dict(spk_reset="hard", V_th=-40 * pq.mV), 8 * pq.mA),
    "AdQuaIF": (refsim.AdQuaIF, dict(a=0.05 * pq.S, b=2 * pq.mA, V_th=-40 * pq.mV), 8 * pq.mA),
    "AdQuaIFRef": (
        refsim.AdQuaIFRef,
        dict(a=0.05 * pq.S, b=2 * pq.mA, V_th=-40 * pq.mV, tau_ref=2 * pq.ms, ref_var=True),
        8 * pq.mA,
    ),
    "Izhikevich": (refsim.Izhikevich, dict(u_initializer=_u0()), 5 * pq.mV / pq.ms),
    "Gif": (refsim.Gif, dict(A1=2 * pq.mA, R2=0.5, A2=-1 * pq.mA), 1.2 * pq.mA),
    "GifRef": (refsim.GifRef, dict(a=0.001 / pq.ms, A2=-0.5 * pq.mA, ref_var=True), 1.5 * pq.mA),
    "HH": (refsim.HH, dict(), 8 * pq.uA),
    "WangBuzsakiHH": (refsim.WangBuzsakiHH, dict(), 2 * pq.uA),
    "MorrisLecar": (refsim.MorrisLecar, dict(), 150 * pq.uA),
    "IF": (refsim.IF, dict(tau=10 * pq.ms, V_th=10 * pq.mV, spk_reset="hard"), 15 * pq.mA),
    "CubaLIF": (
        refsim.CubaLIF,
        dict(tau=10 * pq.ms, V_th=-50 * pq.mV, V_reset=-60 * pq.mV, V_rest=-60 * pq.mV),
        12 * pq.mA,
    ),
    "CobaLIF": (
        refsim.CobaLIF,
        dict(tau=10 * pq.ms, V_th=-50 * pq.mV, V_reset=-60 * pq.mV, V_rest=-60 * pq.mV),
        12 * pq.mA,
    ),
    "IzhikevichRef": (
        refsim.IzhikevichRef,
        dict(tau_ref=1 * pq.ms, u_initializer=_u0()),
        5 * pq.mV / pq.ms,
    ),
}


def _model_network(cls, params, current, n=200, n_exc=160, seed=1, weights=(0.001, -0.01)):
    """``n`` neurons, 80 % of them exciting all through COBA (E = 0 mV), the rest
    inhibiting through a CUBA output of negative weight (``weights`` in mS); random
    initial potentials."""
    refsim.random.seed(seed)  # HH draws its initial potential (and gates) from it
    net = refsim.Network()
    pop = net.population(cls(n, **params), current=current)
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(n_exc, n, 0.1, weights[0] * pq.mS, seed=seed),
            syn=refsim.Expon.desc(n, tau=5 * pq.ms),
            out=refsim.COBA.desc(E=0 * pq.mV),
            post=pop,
        ),
        pre=pop,
        start=0,
        stop=n_exc,
    )
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(n - n_exc, n, 0.1, weights[1] * pq.mS, seed=seed + 1),
            syn=refsim.Expon.desc(n, tau=10 * pq.ms),
            out=refsim.CUBA.desc(),
            post=pop,
        ),
        pre=pop,
        start=n_exc,
        stop=n,
    )
    refsim.init_all_states(net)
    pop.V.value = np.random.default_rng(seed).uniform(-70.0, -55.0, n) * pq.mV
    return net, pop


def _states(net, pop):
    """Every state of the population and of its synapses, as arrays."""
    return _state_arrays(pop) + [proj.syn.g.data.copy() for proj, *_ in net.feeds]


@pytest.mark.parametrize("backend", COMPILED, indirect=True)
@pytest.mark.parametrize("model", MODEL_NETWORKS)
def test_every_compiled_neuron_model_equals_numpy_bit_for_bit_in_a_network(model, backend):
    cls, params, current = MODEL_NETWORKS[model]
    results = {}
    for engine in (backend, "numpy"):
        net, pop = _model_network(cls, params, current)
        with refsim.use_backend(engine), refsim.environ.context(dt=0.1 * pq.ms):
            res = refsim.run(net, 200 * pq.ms, monitors={"spikes": pop}, progress=False)
        results[engine] = res, _states(net, pop)
    (a, a_states), (b, b_states) = results[backend], results["numpy"]
    assert a.engine == backend and b.engine == "numpy"
    assert 200 < a["spikes"].count < 0.25 * 200 * 2000  # active, far from every step
    assert np.array_equal(a["spikes"].steps, b["spikes"].steps)
    assert np.array_equal(a["spikes"].indices_fired, b["spikes"].indices_fired)
    _assert_same_states(a_states, b_states, at_least=3)


def _assert_same_states(a_states, b_states, at_least: int) -> None:
    """At least ``at_least`` state arrays, finite and equal pairwise, bit for bit."""
    assert len(a_states) == len(b_states) >= at_least
    for x, y in zip(a_states, b_states, strict=True):
        assert np.all(np.isfinite(x))
        assert np.array_equal(x, y)  # identical operations in identical order


#: the models with a ``method``, run by euler, rk2 and rk4 in the network above (weights
#: in mS; the conductance-based models spike at every step above threshold, so their
#: weights are small enough that the explicit methods stay stable at dt = 0.01 ms), or
#: with the direct input alone (None: the dimensionless models take no output)
EXPLICIT_NETWORKS = {
    "ExpIF": (0.001, -0.01),
    "ExpIFRef": (0.001, -0.01),
    "AdExIF": (0.001, -0.01),
    "AdExIFRef": (0.001, -0.01),
    "QuaIF": (0.001, -0.01),
    "AdQuaIF": (0.001, -0.01),
    "AdQuaIFRef": (0.001, -0.01),
    "Izhikevich": (0.001, -0.01),
    "IzhikevichRef": (0.001, -0.01),
    "HH": (3e-5, -3e-5),
    "WangBuzsakiHH": (3e-5, -3e-5),
    "MorrisLecar": (3e-5, -3e-5),
    "FitzHughNagumo": None,
    "HindmarshRose": None,
}


def _explicit_network(model, method, n=200):
    if EXPLICIT_NETWORKS[model] is not None:
        cls, params, current = MODEL_NETWORKS[model]
        return _model_network(
            cls, dict(params, method=method), current, weights=EXPLICIT_NETWORKS[model]
        )
    net = refsim.Network()
    pop = net.population(getattr(refsim, model)(n, method=method), current=0.8)
    refsim.init_all_states(net)
    pop.V.value = np.random.default_rng(1).uniform(-1.5, 1.5, n)
    return net, pop


@pytest.mark.parametrize("backend", COMPILED, indirect=True)
@pytest.mark.parametrize("method", ["euler", "rk2", "rk4"])
@pytest.mark.parametrize("model", EXPLICIT_NETWORKS)
def test_explicit_methods_compile_bit_for_bit(model, method, backend):
    """Each stage's derivatives (the ``*_derivatives_scalar`` twins) with the input taken
    at the stage's potential, combined as ``integrators.explicit_step`` does."""
    results = {}
    for engine in (backend, "numpy"):
        net, pop = _explicit_network(model, method)
        with refsim.use_backend(engine), refsim.environ.context(dt=0.01 * pq.ms):
            res = refsim.run(net, 20 * pq.ms, monitors={"spikes": pop}, progress=False)
        results[engine] = res, _states(net, pop)
    (a, a_states), (b, b_states) = results[backend], results["numpy"]
    _assert_same_spikes(a, b, more_than=10, engine=backend)
    _assert_same_states(a_states, b_states, at_least=1)


@pytest.mark.parametrize("per_neuron", [False, True], ids=["shared", "per-neuron"])
@pytest.mark.parametrize("model", ["AdExIF", "Izhikevich", "GifRef", "HH"])
def test_model_passes_equal_numpy_over_blocks(model, per_neuron):
    """The passes of ``_membrane_scalar``, ``_gif_block`` and ``_continuous_scalar`` on a
    population of more than one block (each block's parameter columns and scratch), with
    shared parameters (tables one block wide) or a threshold per neuron (tables as wide as
    the population)."""
    from refsim.backends import numba as numba_backend
    from refsim.backends.numba import loop

    cls, params, current = MODEL_NETWORKS[model]
    n = loop._BLOCK + 904
    if per_neuron:  # the threshold (Gif: its resting value, a row of its own)
        name = "V_th_inf" if model == "GifRef" else "V_th"
        spread = np.random.default_rng(3).uniform(-1.0, 1.0, n)
        params = dict(params, **{name: (getattr(cls(1).p, name) + spread) * pq.mV})  # mV
    results = {}
    for engine in ("numba", "numpy"):
        net, pop = _model_network(
            cls, params, current, n=n, n_exc=n * 4 // 5, weights=(1e-4, -1e-3)
        )
        if engine == "numba":
            assert list(numba_backend.plan(net).neurons.narrow) == [not per_neuron]
        with refsim.use_backend(engine), refsim.environ.context(dt=0.1 * pq.ms):
            res = refsim.run(net, 30 * pq.ms, monitors={"spikes": pop}, progress=False)
        results[engine] = res, _states(net, pop)
    (a, a_states), (b, b_states) = results["numba"], results["numpy"]
    _assert_same_spikes(a, b, more_than=100)
    fired = a["spikes"].indices_fired
    assert np.unique(fired[fired >= loop._BLOCK]).size > 10  # the second block too
    _assert_same_states(a_states, b_states, at_least=3)


def _golden_neuron_cases():
    from refsim.validation import golden_cases, golden_data

    return [
        name
        for name in golden_data.case_names()
        if name.split("_")[0] == "neuron"
        and len(name.split("_")) >= 3
        and name.split("_")[1] in golden_cases.NEURONS
    ]


def test_the_golden_neuron_cases_of_every_compiled_model_run_compiled():
    from refsim.backends.codes import NEURON_KINDS

    compiled = [
        n for n in _golden_neuron_cases() if getattr(refsim, n.split("_")[1]) in NEURON_KINDS
    ]
    assert len(compiled) == 59  # every one
    assert {n.split("_")[1] for n in compiled} == {c.__name__ for c in NEURON_KINDS}


@pytest.mark.parametrize("backend", COMPILED, indirect=True)
@pytest.mark.parametrize("name", _golden_neuron_cases())
def test_golden_neuron_case_as_a_compiled_network_equals_numpy_and_the_recording(name, backend):
    from refsim.validation import golden_cases

    with refsim.use_backend(backend), warnings.catch_warnings():
        warnings.simplefilter("error", backends.BackendFallbackWarning)  # all compile
        got, ref, engine = golden_cases.replay_neuron_in_network(name)
    with refsim.use_backend("numpy"):
        oracle, _, _ = golden_cases.replay_neuron_in_network(name)
    loop, _ = golden_cases.replay_neuron(name)
    assert engine == backend
    for key in got:
        assert got[key].shape == ref[key].shape == (1000,)
        assert np.array_equal(got[key], oracle[key])  # same spike steps, same bits
        assert np.array_equal(got[key], loop[key])  # a Network step is the manual step
    assert np.array_equal(got["spike_get"], ref["spike_get"])


def test_the_gpu_plan_takes_every_model_and_gives_the_kernels_the_plans_codes():
    """The cupy backend plans on the host (no CuPy needed): every neuron model (ref_var too),
    parameters one column wide, every integrator; the kernels read the plan's codes."""
    from refsim.backends import cupy as cupy_backend
    from refsim.backends.codes import METHOD_CODES, NEURON_KINDS

    net, pop = _model_network(*MODEL_NETWORKS["GifRef"])
    pl = cupy_backend.plan(net)
    assert list(pl.neurons.refractory) == [True] and pl.neurons.params[0].shape == (
        17,
        1,
    )  # narrow: 1 wide
    assert pl.neurons.extra[0].shape == (3, 200) and pl.neurons.in_refractory[0].shape == (200,)
    assert np.array_equal(pl.neurons.spiking[0], pop.get_spike() != 0)
    source = cupy_backend.kernel_source()
    for cls, (kind, *_) in NEURON_KINDS.items():  # each kind's code is the plan's
        assert f"#define REFSIM_{_KIND_NAMES[kind]}_KIND {kind}\n" in source, cls.__name__
    for method, code in METHOD_CODES.items():
        assert f"#define REFSIM_{method.upper()}_METHOD {code}\n" in source
    net, _ = _explicit_network("AdExIF", "rk2")
    assert list(cupy_backend.plan(net).neurons.method) == [METHOD_CODES["rk2"]]


#: the names of the plan's neuron kinds, as the kernels spell them (REFSIM_<name>_KIND)
_KIND_NAMES = {
    0: "LIF",
    1: "ALIF",
    2: "EXPIF",
    3: "ADEX",
    4: "QUAIF",
    5: "ADQUAIF",
    6: "IZHIKEVICH",
    7: "IF",
    8: "CUBALIF",
    9: "COBALIF",
    10: "GIF",
    11: "HH",
    12: "WANG_BUZSAKI",
    13: "MORRIS_LECAR",
    14: "FITZHUGH_NAGUMO",
    15: "HINDMARSH_ROSE",
}


#: DualExpon in every form (normalised, not, equal time constants) beside Expon
SYNAPSE_PAIRS = {
    "DualExpon, normalised and not": (
        lambda n: refsim.DualExpon.desc(n, tau_decay=5 * pq.ms, tau_rise=1 * pq.ms),
        lambda n: refsim.DualExpon.desc(
            n, tau_decay=10 * pq.ms, tau_rise=0.5 * pq.ms, normalize=False
        ),
    ),
    "DualExpon with equal taus, Expon": (
        lambda n: refsim.DualExpon.desc(n, tau_decay=3 * pq.ms, tau_rise=3 * pq.ms),
        lambda n: refsim.Expon.desc(n, tau=10 * pq.ms),
    ),
}


def _lif_target(n, current):
    """A network of ``n`` LIF neurons (tau 10 ms, threshold -50 mV, reset and rest -60 mV)
    under a constant ``current``."""
    net = refsim.Network()
    pop = net.population(
        refsim.LIF(n, tau=10 * pq.ms, V_th=-50 * pq.mV, V_reset=-60 * pq.mV, V_rest=-60 * pq.mV),
        current=current,
    )
    return net, pop


def _inhibit_and_start(net, pop, syn, n_exc, seed):
    """Neurons ``n_exc:`` inhibit all through an AlignPostProj (``syn``, CUBA; merged
    for a ``.desc``, else the projection's own); then the states (under dt, which a
    delay's buffer needs) and random potentials."""
    n = pop.num
    out = refsim.CUBA.desc() if isinstance(syn, refsim.module.Describer) else refsim.CUBA()
    i = net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(n - n_exc, n, 0.1, -0.2 * pq.mS, seed=seed + 1),
            syn=syn,
            out=out,
            post=pop,
        ),
        pre=pop,
        start=n_exc,
        stop=n,
    )
    with refsim.environ.context(dt=0.1 * pq.ms):
        refsim.init_all_states(net)
    pop.V.value = np.random.default_rng(seed).uniform(-60.0, -50.0, n) * pq.mV
    return i


def _state_arrays(*parts):
    """Copies of every state of ``parts`` (populations, synapses, plasticity)."""
    return [
        x.data.copy() for p in parts for x in vars(p).values() if isinstance(x, refsim.module.State)
    ]


def _synapse_network(exc, inh, n=300, n_exc=240, seed=1, own=False):
    """E and I projections onto LIF neurons with the synapses ``exc``, ``inh`` (``.desc``
    makers): merged, or (``own``) each AlignPostProj given its own synapse and output
    instances, which it steps itself."""
    net, pop = _lif_target(n, 12 * pq.mA)
    e = net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(n_exc, n, 0.1, 0.01 * pq.mS, seed=seed),
            syn=exc(n)() if own else exc(n),
            out=refsim.COBA(E=0 * pq.mV) if own else refsim.COBA.desc(E=0 * pq.mV),
            post=pop,
        ),
        pre=pop,
        start=0,
        stop=n_exc,
    )
    return net, pop, e, _inhibit_and_start(net, pop, inh(n)() if own else inh(n), n_exc, seed)


@pytest.mark.parametrize("own", [False, True], ids=["merged", "own synapses"])
@pytest.mark.parametrize("backend", COMPILED, indirect=True)
@pytest.mark.parametrize("pair", SYNAPSE_PAIRS)
def test_dual_exponential_synapses_compile_bit_for_bit(pair, backend, own):
    """Merged, or given to each AlignPostProj as its own instance (the projection steps
    it, in the projections' phase of the oracle's step; compiled, it is a row of its
    population, stepped with it: the same operations on the same numbers)."""
    results = {}
    for engine in (backend, "numpy"):
        net, pop, e, i = _synapse_network(*SYNAPSE_PAIRS[pair], own=own)
        assert e.merged == i.merged == (not own)
        with refsim.use_backend(engine), refsim.environ.context(dt=0.1 * pq.ms):
            res = refsim.run(
                net,
                200 * pq.ms,
                progress=False,
                monitors={"spikes": pop, "rise": e.syn.g_rise, "V": pop.V},
            )
        # the outputs hold the synapses' last output, to go on with the NumPy code
        results[engine] = res, _state_arrays(pop, e.syn, i.syn) + [e.out._g.copy(), i.out._g.copy()]
    (a, a_states), (b, b_states) = results[backend], results["numpy"]
    _assert_same_spikes(a, b, more_than=1000, engine=backend)
    assert np.array_equal(a["rise"].magnitude, b["rise"].magnitude)
    assert np.array_equal(a["V"].magnitude, b["V"].magnitude)
    assert a["rise"].shape == (2000, 300)
    assert len(a_states) == len(b_states) >= 5
    for x, y in zip(a_states, b_states, strict=True):
        assert np.array_equal(x, y)


def test_two_projections_stepping_one_synapse_do_not_compile_and_run_numpy():
    from refsim.backends import numba as numba_backend
    from refsim.backends.codes import NotCompilable

    net, pop = _lif_target(50, 12 * pq.mA)
    syn, out = refsim.Expon(50, tau=5 * pq.ms), refsim.COBA(E=0 * pq.mV)
    for seed in (1, 2):
        net.project(
            refsim.AlignPostProj(
                comm=refsim.EventFixedProb(50, 50, 0.1, 0.01 * pq.mS, seed=seed),
                syn=syn,
                out=out,
                post=pop,
            ),
            pre=pop,
        )
    with refsim.environ.context(dt=0.1 * pq.ms):
        refsim.init_all_states(net)
    names = [proj.name for proj, *_ in net.feeds]
    with pytest.raises(
        NotCompilable,
        match=rf"projections {names[0]} and {names[1]} both "
        rf"step the synapse {syn.name}: does not "
        "compile",
    ):
        numba_backend.plan(net)
    with (
        refsim.use_backend("numba"),
        refsim.environ.context(dt=0.1 * pq.ms),
        pytest.warns(backends.BackendFallbackWarning, match="both step the synapse"),
    ):
        res = refsim.run(net, 5 * pq.ms, progress=False)
    assert res.engine == (
        "numpy (numba could not compile: projections "
        f"{names[0]} and {names[1]} both step the synapse {syn.name}: does "
        "not compile)"
    )


#: AlignPreProj compiled: each presynaptic synapse the loops run, with and without
#: short-term plasticity and delay (synapse, stp, weight, delay; the weight makes the
#: input matter)
PRE_PROJECTIONS = {
    "Expon": (lambda n: refsim.Expon(n, tau=5 * pq.ms), None, 20.0),
    "DualExpon + STP": (lambda n: refsim.DualExpon(n), lambda n: refsim.STP(n), 20.0),
    "DualExpon, equal taus": (
        lambda n: refsim.DualExpon(n, tau_rise=3 * pq.ms, tau_decay=3 * pq.ms),
        None,
        20.0,
    ),
    "Alpha": (lambda n: refsim.Alpha(n, tau=4 * pq.ms), None, 20.0),
    "AMPA": (lambda n: refsim.AMPA(n), None, 20.0),
    "GABAa + STD": (lambda n: refsim.GABAa(n), lambda n: refsim.STD(n), 20.0),
    "BioNMDA + STP": (lambda n: refsim.BioNMDA(n), lambda n: refsim.STP(n), 20.0),
    "AMPA + STD, delayed 0.25 ms": (
        lambda n: refsim.AMPA(n),
        lambda n: refsim.STD(n),
        20.0,
        0.25 * pq.ms,
    ),
}


def _pre_network(syn, stp, weight, delay=None, n=300, n_exc=240, seed=1):
    """LIF neurons driven above threshold; the excitatory ones feed all through an
    AlignPreProj (COBA, E = 0 mV), the inhibitory ones through a merged AlignPostProj."""
    net, pop = _lif_target(n, 11 * pq.mA)
    e = net.project(
        refsim.AlignPreProj(
            syn=syn(n_exc),
            stp=None if stp is None else stp(n_exc),
            comm=refsim.EventFixedProb(n_exc, n, 0.1, weight, seed=seed),
            out=refsim.COBA.desc(E=0 * pq.mV),
            post=pop,
            delay=delay,
        ),
        pre=pop,
        start=0,
        stop=n_exc,
    )
    return (
        net,
        pop,
        e,
        _inhibit_and_start(net, pop, refsim.Expon.desc(n, tau=10 * pq.ms), n_exc, seed),
    )


@pytest.mark.parametrize("backend", COMPILED, indirect=True)
@pytest.mark.parametrize("case", PRE_PROJECTIONS)
def test_align_pre_projections_compile_bit_for_bit(case, backend):
    results = {}
    for engine in (backend, "numpy"):
        net, pop, e, i = _pre_network(*PRE_PROJECTIONS[case])
        first_state = next(x for x in vars(e.syn).values() if isinstance(x, refsim.module.State))
        with refsim.use_backend(engine), refsim.environ.context(dt=0.1 * pq.ms):
            res = refsim.run(
                net, 200 * pq.ms, progress=False, monitors={"spikes": pop, "pre": first_state}
            )
        states = _state_arrays(pop, e.syn, i.syn, *(() if e.stp is None else (e.stp,)))
        if e.delay is not None:  # its ring, and the row the next step writes
            states += [e.delay.buffer.data.copy(), np.array([e.delay.write_index])]
        # the output keeps the last g_pre @ W, to go on with the NumPy code
        results[engine] = res, states, e.out._g.copy()
    (a, a_states, a_out), (b, b_states, b_out) = results[backend], results["numpy"]
    assert a.engine == backend and b.engine == "numpy"
    assert a["spikes"].count > 1000
    assert np.array_equal(a["spikes"].steps, b["spikes"].steps)
    assert np.array_equal(a["spikes"].indices_fired, b["spikes"].indices_fired)
    assert a["pre"].shape == (2000, 240)
    assert np.array_equal(a["pre"].magnitude, b["pre"].magnitude)
    assert np.count_nonzero(a_out) > 0 and np.array_equal(a_out, b_out)
    assert len(a_states) == len(b_states) >= 3  # V, the two synapses' states (and stp's)
    for x, y in zip(a_states, b_states, strict=True):
        assert np.array_equal(x, y)  # identical operations in identical order


def test_align_pre_projections_that_do_not_compile_say_why():
    from refsim.backends import cupy as cupy_backend
    from refsim.backends import numba as numba_backend
    from refsim.backends.codes import NotCompilable

    def net_with(*modules, **extra):
        net = refsim.Network()
        pop = net.population(refsim.LIF(4), current=20 * pq.mA)
        net.project(
            refsim.AlignPreProj(
                *modules,
                syn=refsim.AMPA(4),
                comm=refsim.EventFixedProb(4, 4, 0.5, 1.0, seed=1),
                out=refsim.COBA(E=0 * pq.mV),
                post=pop,
                **extra,
            ),
            pop,
        )
        refsim.init_all_states(net)
        return net

    for planner in (numba_backend.plan, cupy_backend.plan):
        # the module named, with the file and line of its code
        with pytest.raises(
            NotCompilable,
            match=r"its module '<lambda>' \(.*test_backends\.py:\d+\) is Python code, which the "
            r"compiled loop cannot run",
        ):
            planner(net_with(lambda spikes: spikes))
        with pytest.raises(
            NotCompilable,
            match=r"AMPA and stp=STDLike does not compile "
            r"\(synapses: Expon, DualExpon, Alpha, AMPA",
        ):
            planner(net_with(stp=type("STDLike", (refsim.STD,), {})(4)))


#: AlignPostProj delays compiled: one for the projection (whole steps, or mixing two
#: steps as brainpy does), and one per synapse (rounded to whole steps)
DELAYS = {
    "1 ms": lambda nnz: 1.0 * pq.ms,
    "0.25 ms (mixes steps 2 and 3)": lambda nnz: 0.25 * pq.ms,
    "per synapse, 0.1-3 ms": lambda nnz: np.random.default_rng(7).uniform(0.1, 3.0, nnz) * pq.ms,
}


def _delayed_network(delay, n=300, n_exc=240, seed=1):
    net = refsim.Network()
    pop = net.population(
        refsim.LIFRef(
            n,
            tau=10 * pq.ms,
            V_th=-50 * pq.mV,
            V_reset=-60 * pq.mV,
            V_rest=-60 * pq.mV,
            tau_ref=2 * pq.ms,
        ),
        current=11 * pq.mA,
    )
    comm = refsim.EventFixedProb(n_exc, n, 0.1, 0.5 * pq.mS, seed=seed)
    e = net.project(
        refsim.AlignPostProj(
            comm=comm,
            syn=refsim.Expon.desc(n, tau=5 * pq.ms),
            out=refsim.COBA.desc(E=0 * pq.mV),
            post=pop,
            delay=delay(comm.nnz),
        ),
        pre=pop,
        start=0,
        stop=n_exc,
    )
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(n - n_exc, n, 0.1, -2 * pq.mS, seed=seed + 1),
            syn=refsim.Expon.desc(n, tau=10 * pq.ms),
            out=refsim.CUBA.desc(),
            post=pop,
            delay=2 * pq.ms,
        ),
        pre=pop,
        start=n_exc,
        stop=n,
    )
    with refsim.environ.context(dt=0.1 * pq.ms):
        refsim.init_all_states(net)
    pop.V.value = np.random.default_rng(seed).uniform(-60.0, -50.0, n) * pq.mV
    return net, pop, e


@pytest.mark.parametrize("backend", COMPILED, indirect=True)
@pytest.mark.parametrize("delay", DELAYS)
def test_delayed_projections_compile_bit_for_bit_and_continue_across_runs(delay, backend):
    results = {}
    for engine in (backend, "numpy"):
        net, pop, e = _delayed_network(DELAYS[delay])
        with refsim.use_backend(engine), refsim.environ.context(dt=0.1 * pq.ms):
            first = refsim.run(net, 100 * pq.ms, progress=False, monitors={"spikes": pop})
            second = refsim.run(
                net,
                100 * pq.ms,
                t_start=first.next_t,
                progress=False,
                monitors={"spikes": pop, "g": e.syn.g},
            )
        ring = e.delay.buffer.data.copy()
        where = e.delay.now if hasattr(e.delay, "now") else e.delay.write_index
        results[engine] = first, second, [pop.V.data.copy(), e.syn.g.data.copy(), ring], where
    (a1, a2, a_states, a_at), (b1, b2, b_states, b_at) = results[backend], results["numpy"]
    assert a1.engine == a2.engine == backend and b1.engine == "numpy"
    assert a1["spikes"].count > 300 and a2["spikes"].count > 300  # about 15 Hz each run
    for x, y in ((a1, b1), (a2, b2)):
        assert np.array_equal(x["spikes"].steps, y["spikes"].steps)
        assert np.array_equal(x["spikes"].indices_fired, y["spikes"].indices_fired)
    assert np.array_equal(a2["g"].magnitude, b2["g"].magnitude)
    assert a_at == b_at  # where the ring stands, handed back to the delay object
    assert np.count_nonzero(a_states[2]) > 0  # events in flight at the end
    for x, y in zip(a_states, b_states, strict=True):
        assert np.array_equal(x, y)
