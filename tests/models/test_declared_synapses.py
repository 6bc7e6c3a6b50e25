"""A synapse written in this file, outside refsim, compiles: it declares its twins once
(``compiled = refsim.SynapseTwins(...)``) and runs, beside a neuron model declared the
same way (``KickLIF``), on numpy, numba and the cupy kernels on the host with the same
bits.  Nothing in refsim/ names it."""

import host_cupy
import numpy as np
import pytest
import quantities as pq
from test_declared_models import KickLIF

import refsim
from refsim import fmath
from refsim.init import Constant, unit_of
from refsim.integrators import exp_euler, exp_euler_scalar
from refsim.module import Synapse

numba = pytest.importorskip("numba", reason="the compiled side of the comparison")


# -- a synapse with a rise: h takes the events, g follows h ------------------------------


def rise_step_scalar(g, h, events, tau_rise, tau_decay, dt):
    """Exponential Euler of g (driven by the old h), then of h, which takes the events."""
    g_new = exp_euler_scalar(
        g, (-g + h) / tau_decay, fmath.exprel_scalar(dt * (-1.0 / tau_decay)), dt
    )
    h_new = exp_euler_scalar(h, -h / tau_rise, fmath.exprel_scalar(dt * (-1.0 / tau_rise)), dt)
    return g_new, h_new + events


def rise_output_scalar(g, scale):
    return scale * g


class RiseSynapse(Synapse):
    r""":math:`\tau_r dh/dt = -h + \sum_k w_k \delta(t - t_k)`,
    :math:`\tau_d dg/dt = -g + h`; the output is ``scale * g``."""

    align_post = True  # linear in its events: merged on the postsynaptic side
    compiled = refsim.SynapseTwins(
        states=("g", "h"),
        params=("tau_rise", "tau_decay", "scale"),
        step=rise_step_scalar,
        output=rise_output_scalar,
    )

    def __init__(
        self,
        in_size,
        tau_rise=2.0 * pq.ms,
        tau_decay=6.0 * pq.ms,
        scale=1.5,
        g_initializer=Constant(0.0 * pq.mS),
        name=None,
    ):
        super().__init__(in_size, name=name)
        self._param("tau_rise", tau_rise, pq.ms, positive=True)
        self._param("tau_decay", tau_decay, pq.ms, positive=True)
        self._param("scale", scale, None)
        self.g_initializer = g_initializer
        self.g_unit = unit_of(g_initializer)

    def init_state(self, batch_size=None):
        self.g = self._new_state("g", self.g_initializer, self.g_unit, batch_size)
        self.h = self._new_state("h", self.g_initializer, self.g_unit, batch_size)

    def step(self, x=None):
        p, dt = self.p, refsim.environ.dt_ms()
        events = self.sum_delta_inputs(0.0)
        if x is not None:
            events = events + x
        g, h = self.g.data, self.h.data
        self.g.data = exp_euler(g, (-g + h) / p.tau_decay, -1.0 / p.tau_decay, dt)
        self.h.data = exp_euler(h, -h / p.tau_rise, -1.0 / p.tau_rise, dt) + events
        return p.scale * self.g.data


# -- a synapse of one state, its output the state itself -----------------------------------


def trace_step_scalar(g, events, tau, dt):
    return g * fmath.exp_scalar(-dt / tau) + events


class Trace(Synapse):
    """A trace decaying by its exact factor, ``g <- g exp(-dt/tau) + events``."""

    align_post = True
    compiled = refsim.SynapseTwins(states=("g",), params=("tau",), step=trace_step_scalar)

    def __init__(self, in_size, tau=8.0 * pq.ms, g_initializer=Constant(0.0 * pq.mA), name=None):
        super().__init__(in_size, name=name)
        self._param("tau", tau, pq.ms, positive=True)
        self.g_initializer = g_initializer
        self.g_unit = unit_of(g_initializer)

    def init_state(self, batch_size=None):
        self.g = self._new_state("g", self.g_initializer, self.g_unit, batch_size)

    def step(self, x=None):
        events = self.sum_delta_inputs(0.0)
        if x is not None:
            events = events + x
        self.g.data = self.g.data * fmath.exp(-refsim.environ.dt_ms() / self.p.tau) + events
        return self.g.data


def _network(n=300, seed=4, inhibitory=None):
    """KickLIF neurons: excitation through two merged RiseSynapse projections (their
    events summed in feeding order) onto COBA, inhibition through a Trace of its own
    (``inhibitory``, default one with per-neuron time constants) onto CUBA, a direct
    drive, per-neuron thresholds."""
    refsim.random.seed(seed)
    net = refsim.Network()
    thresholds = np.random.default_rng(seed).uniform(-52.0, -48.0, n) * pq.mV
    pop = net.population(
        KickLIF(n, V_th=thresholds, V_initializer=refsim.init.Uniform(-66.0, -50.0, unit=pq.mV)),
        current=15.0 * pq.mA,
    )
    n_e = int(0.8 * n)
    for part, (start, stop) in enumerate(((0, n_e // 2), (n_e // 2, n_e))):
        net.project(
            refsim.AlignPostProj(
                comm=refsim.EventFixedProb(stop - start, n, 0.1, 1.5 * pq.nS, seed=seed + part),
                syn=RiseSynapse.desc(n, tau_rise=2 * pq.ms, tau_decay=6 * pq.ms),
                out=refsim.COBA.desc(E=0 * pq.mV),
                post=pop,
            ),
            pop,
            start,
            stop,
        )
    taus = np.random.default_rng(seed + 9).uniform(5.0, 15.0, n) * pq.ms
    trace = inhibitory or Trace(n, tau=taus)
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(n - n_e, n, 0.1, -0.5 * pq.mA, seed=seed + 2),
            syn=trace,
            out=refsim.CUBA(scale=1.0),
            post=pop,
        ),
        pop,
        n_e,
        n,
    )
    refsim.init_all_states(net)
    return net, pop, trace


def _run(backend, precision=64):
    with host_cupy.backend(backend), refsim.environ.context(precision=precision):
        net, pop, trace = _network()
        excitatory = net.populations[0].before_updates
        rise = next(iter(excitatory.values())).syn
        monitors = {"spikes": pop, "h": rise.h, "trace": trace.g}
        res = refsim.run(net, 100 * pq.ms, monitors=monitors, progress=False)
    return res, pop, rise


@pytest.mark.parametrize("backend", ["numba", host_cupy.ON_THE_HOST])
def test_a_synapse_defined_outside_refsim_compiles_bit_for_bit(backend):
    oracle, oracle_pop, oracle_rise = _run("numpy")
    compiled, pop, rise = _run(backend)
    assert compiled.engine == backend.split("-")[0]  # compiled, not a fallback
    assert oracle["spikes"].count > 100
    assert np.count_nonzero(oracle["h"].magnitude) > 1000  # the synapses were fed
    assert np.count_nonzero(oracle["trace"].magnitude) > 1000
    np.testing.assert_array_equal(compiled["spikes"].steps, oracle["spikes"].steps)
    np.testing.assert_array_equal(compiled["spikes"].indices_fired, oracle["spikes"].indices_fired)
    np.testing.assert_array_equal(compiled["h"].magnitude, oracle["h"].magnitude)
    np.testing.assert_array_equal(compiled["trace"].magnitude, oracle["trace"].magnitude)
    np.testing.assert_array_equal(rise.g.data, oracle_rise.g.data)
    np.testing.assert_array_equal(pop.V.data, oracle_pop.V.data)


@pytest.mark.skipif(
    host_cupy.COMPILER is None, reason="no host C++ compiler (g++) to run the GPU kernels on"
)
def test_a_declared_synapse_in_float32_is_the_same_on_numba_and_the_cupy_kernels():
    """float32 on the compiled backends: float64 arithmetic, each state and the output
    rounded where stored, the same rule on both (NumPy computes in float32)."""
    numba_run, numba_pop, numba_rise = _run("numba", precision=32)
    cupy_run, cupy_pop, cupy_rise = _run("cupy-host", precision=32)
    assert numba_run.engine == "numba" and cupy_run.engine == "cupy"
    assert numba_rise.h.data.dtype == np.float32
    np.testing.assert_array_equal(
        cupy_run["spikes"].indices_fired, numba_run["spikes"].indices_fired
    )
    np.testing.assert_array_equal(cupy_run["h"].magnitude, numba_run["h"].magnitude)
    np.testing.assert_array_equal(cupy_rise.g.data, numba_rise.g.data)
    np.testing.assert_array_equal(cupy_pop.V.data, numba_pop.V.data)


def test_the_synapse_twins_each_equal_the_numpy_step():
    """The declared twins, one synapse at a time, equal the NumPy step's arithmetic."""
    syn = refsim.init_all_states(RiseSynapse(4))
    syn.g.data[:] = [0.0, 0.5, -1.0, 2.0]
    syn.h.data[:] = [1.0, 0.0, 3.0, -0.25]
    g0, h0 = syn.g.data.copy(), syn.h.data.copy()
    events = np.array([0.0, 1.0, 0.5, 2.0])
    out = syn.step(events)
    p = syn.p
    for j in range(4):
        g, h = rise_step_scalar(g0[j], h0[j], events[j], p.tau_rise, p.tau_decay, 0.1)
        assert (g, h) == (syn.g.data[j], syn.h.data[j])
        assert rise_output_scalar(g, p.scale) == out[j]


def _run_on_alignpre(backend: str, precision: int = 64):
    """KickLIF neurons whose inhibition goes through an AlignPreProj: a declared synapse
    per presynaptic neuron (RiseSynapse behind short-term depression; Trace alone), its
    output summed through the weights onto CUBA and COBA outputs."""
    n, n_e, unitless = 300, 240, Constant(0.0)
    with host_cupy.backend(backend), refsim.environ.context(precision=precision):
        net, pop, _ = _network(n=n)
        rise = RiseSynapse(n - n_e, g_initializer=unitless)
        net.project(
            refsim.AlignPreProj(
                comm=refsim.EventFixedProb(n - n_e, n, 0.1, 0.4 * pq.mS, seed=11),
                syn=rise,
                out=refsim.COBA(E=-80 * pq.mV),
                post=pop,
                stp=refsim.STD(n - n_e, tau=100 * pq.ms, U=0.3),
            ),
            pop,
            n_e,
            n,
        )
        net.project(
            refsim.AlignPreProj(
                comm=refsim.EventFixedProb(n_e, n, 0.05, 0.3 * pq.mA, seed=12),
                syn=Trace.desc(n_e, g_initializer=unitless),
                out=refsim.CUBA(scale=1.0),
                post=pop,
            ),
            pop,
            0,
            n_e,
        )
        refsim.init_all_states(net)
        monitors = {"spikes": pop, "h": rise.h}
        res = refsim.run(net, 100 * pq.ms, monitors=monitors, progress=False)
    return res, pop, rise


@pytest.mark.parametrize("backend", ["numba", host_cupy.ON_THE_HOST])
def test_a_declared_synapse_on_an_alignpreproj_compiles_bit_for_bit(backend):
    (oracle, oracle_pop, oracle_rise), (compiled, pop, rise) = (
        _run_on_alignpre("numpy"),
        _run_on_alignpre(backend),
    )
    assert compiled.engine == backend.split("-")[0]
    assert oracle["spikes"].count > 100
    assert np.count_nonzero(oracle["h"]) > 100  # the presynaptic synapses stepped (unitless)
    np.testing.assert_array_equal(compiled["spikes"].steps, oracle["spikes"].steps)
    np.testing.assert_array_equal(compiled["spikes"].indices_fired, oracle["spikes"].indices_fired)
    np.testing.assert_array_equal(compiled["h"], oracle["h"])
    np.testing.assert_array_equal(rise.g.data, oracle_rise.g.data)
    np.testing.assert_array_equal(pop.V.data, oracle_pop.V.data)


@pytest.mark.skipif(
    host_cupy.COMPILER is None, reason="no host C++ compiler (g++) to run the GPU kernels on"
)
def test_a_declared_presynaptic_synapse_in_float32_is_the_same_on_numba_and_the_kernels():
    (numba_run, numba_pop, numba_rise), (cupy_run, cupy_pop, cupy_rise) = (
        _run_on_alignpre("numba", precision=32),
        _run_on_alignpre("cupy-host", precision=32),
    )
    assert numba_run.engine == "numba" and cupy_run.engine == "cupy"
    assert numba_rise.h.data.dtype == np.float32
    np.testing.assert_array_equal(cupy_run["h"], numba_run["h"])
    np.testing.assert_array_equal(cupy_rise.g.data, numba_rise.g.data)
    np.testing.assert_array_equal(cupy_pop.V.data, numba_pop.V.data)


def test_a_synapse_declaration_naming_an_unknown_argument_does_not_compile_and_says_so():
    def leaky_step(g, events, tau, mystery, dt):
        return g

    class Leaky(Trace):
        compiled = refsim.SynapseTwins(states=("g",), params=("tau",), step=leaky_step)

    with (
        refsim.use_backend("numba"),
        pytest.warns(
            refsim.backends.BackendFallbackWarning,
            match=r"Leaky.compiled: leaky_step takes mystery: expected a state \(g\), a "
            r"declared parameter \(tau\) or one of events, dt",
        ),
    ):
        net, _, _ = _network(n=20, inhibitory=Leaky(20))
        res = refsim.run(net, 1 * pq.ms, progress=False)
    assert res.engine.startswith("numpy")
