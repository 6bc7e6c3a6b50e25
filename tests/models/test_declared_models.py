"""A neuron model written in this file, outside refsim, compiles: it declares its twins
once (``compiled = refsim.NeuronTwins(...)``) and runs on numpy, numba and the cupy
kernels on the host with the same bits.  Nothing in refsim/ names it."""

import dataclasses
import math
import warnings

import host_cupy
import numpy as np
import pytest
import quantities as pq

import refsim
from refsim import fmath
from refsim.backends import BackendFallbackWarning
from refsim.integrators import exp_euler, exp_euler_scalar
from refsim.neurons.base import Refractory, SpikingNeuron

numba = pytest.importorskip("numba", reason="the compiled side of the comparison")


# -- the model's scalar twins: one neuron, the order of its NumPy update ------------------


def kick_reset_scalar(V, w, spike, V_th, V_reset, b, hard):
    """The reset from the stored spike, and the kick of the adaptation current."""
    s = 1.0 if spike else 0.0
    V_th_eff = V if hard else V_th
    return V - (V_th_eff - V_reset) * s, w + b * s


def kick_step_scalar(V, w, current, slope, R, tau, V_rest, tau_w, dt):
    """Exponential Euler of the membrane (the adaptation current subtracted), then of w."""
    drift = (-(V - V_rest) - R * w + R * current) / tau
    jacobian = (-1.0 + R * slope) / tau
    V_new = exp_euler_scalar(V, drift, fmath.exprel_scalar(dt * jacobian), dt)
    w_new = exp_euler_scalar(w, -w / tau_w, fmath.exprel_scalar(dt * (-1.0 / tau_w)), dt)
    return V_new, w_new


def kick_spike_scalar(V, w, V_th, V_reset):
    return (V - V_th) / (V_th - V_reset) >= 0.0


class KickLIF(SpikingNeuron):
    r"""A LIF neuron with an adaptation current ``w`` kicked by ``b`` at each spike:
    :math:`\tau dV/dt = -(V - V_{rest}) - R w + R I`, :math:`\tau_w dw/dt = -w`."""

    compiled = refsim.NeuronTwins(
        states=("w",),
        params=("R", "tau", "V_rest", "V_th", "V_reset", "b", "tau_w"),
        reset=kick_reset_scalar,
        step=kick_step_scalar,
        spike=kick_spike_scalar,
        takes_jumps=True,  # _step adds them to the stepped V
    )

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=10.0 * pq.ms,
        V_rest=-65.0 * pq.mV,
        V_th=-50.0 * pq.mV,
        V_reset=-68.0 * pq.mV,
        b=0.5 * pq.mA,
        tau_w=50.0 * pq.ms,
        V_initializer=refsim.init.Constant(-65.0 * pq.mV),
        spk_reset="soft",
        name=None,
    ):
        super().__init__(in_size, spk_reset, name)
        self._param("R", R, pq.ohm, nonnegative=True)
        self._param("tau", tau, pq.ms, positive=True)
        self._param("V_rest", V_rest, pq.mV)
        self._param("V_th", V_th, pq.mV)
        self._param("V_reset", V_reset, pq.mV)
        self._param("b", b, pq.mA)
        self._param("tau_w", tau_w, pq.ms, positive=True)
        self._require_reset_below_threshold()
        self.V_initializer = V_initializer

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)
        self.w = self._new_state("w", refsim.init.Constant(0.0 * pq.mA), pq.mA, batch_size)

    def _step(self, x):
        """Reset and kick, the input at the post-reset potential, the step: the post-reset
        and the new values (V_r, w_r, V, w)."""
        p, dt = self.p, refsim.environ.dt_ms()
        spike = self.get_spike()
        V_r = self.reset_potential(self.V.data, spike)
        w_r = self.w.data + p.b * spike
        current, slope = self.sum_current_inputs(x, V_r)
        drift = (-(V_r - p.V_rest) - p.R * w_r + p.R * current) / p.tau
        V = exp_euler(V_r, drift, (-1.0 + p.R * slope) / p.tau, dt)
        V = self.sum_delta_inputs(V)  # a DeltaProj's and a PoissonInput's jumps
        w = exp_euler(w_r, -w_r / p.tau_w, -1.0 / p.tau_w, dt)
        return V_r, w_r, V, w

    def update(self, x=None):
        _, _, self.V.data, self.w.data = self._step(self._external(x))
        return self.get_spike()


class KickLIFRef(Refractory, KickLIF):
    """KickLIF with an absolute refractory period (both states held at their post-reset
    values), declared by the same twins: the loops add the hold."""

    def __init__(self, in_size, tau_ref=2.0 * pq.ms, **kwargs):
        super().__init__(in_size, **kwargs)
        self._init_refractory(tau_ref)

    def update(self, x=None):
        t, refractory = self._refractory_now()
        V_r, w_r, V, w = self._step(self._external(x))
        V = np.where(refractory, V_r, V)
        self.w.data = np.where(refractory, w_r, w)
        self._note_spikes(t, V, self.p.V_th, refractory)
        self.V.data = V
        return self.get_spike()


def _network(cls, n=300, seed=3, jumps=False, **params):
    """An E/I network of ``cls`` with COBA and CUBA outputs, per-neuron thresholds (a
    table as wide as the population), and a direct drive; ``jumps``: a delayed DeltaProj
    and a PoissonInput jump its potential too."""
    refsim.random.seed(seed)
    net = refsim.Network()
    thresholds = np.random.default_rng(seed).uniform(-52.0, -48.0, n) * pq.mV
    pop = net.population(
        cls(
            n,
            V_th=thresholds,
            V_initializer=refsim.init.Uniform(-66.0, -50.0, unit=pq.mV),
            **params,
        ),
        current=16.0 * pq.mA,
    )
    n_e = int(0.8 * n)
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(n_e, n, 0.1, 2.0 * pq.nS, seed=seed),
            syn=refsim.Expon.desc(n, tau=5 * pq.ms),
            out=refsim.COBA.desc(E=0 * pq.mV),
            post=pop,
        ),
        pop,
        0,
        n_e,
    )
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(n - n_e, n, 0.1, -0.5 * pq.mA, seed=seed + 1),
            syn=refsim.Expon.desc(
                n, tau=10 * pq.ms, g_initializer=refsim.init.Constant(0.0 * pq.mA)
            ),
            out=refsim.CUBA.desc(scale=1.0),
            post=pop,
        ),
        pop,
        n_e,
        n,
    )
    if jumps:
        inhibition = refsim.EventFixedProb(n, n, 0.05, -0.8 * pq.mV, seed=seed + 2)
        net.project(refsim.DeltaProj(comm=inhibition, post=pop, delay=1.0 * pq.ms), pop)
        net.background = refsim.PoissonInput(pop, 40, 100 * pq.Hz, 0.5 * pq.mV, seed=seed + 3)
    refsim.init_all_states(net)
    return net, pop


def _run(cls, backend, precision=64, **params):
    with host_cupy.backend(backend), refsim.environ.context(precision=precision):
        net, pop = _network(cls, **params)
        res = refsim.run(net, 100 * pq.ms, monitors={"spikes": pop, "w": pop.w}, progress=False)
    return res, pop


@pytest.mark.parametrize("backend", ["numba", host_cupy.ON_THE_HOST])
@pytest.mark.parametrize("cls", [KickLIF, KickLIFRef], ids=["KickLIF", "KickLIFRef"])
@pytest.mark.parametrize("spk_reset", ["soft", "hard"])
def test_a_model_defined_outside_refsim_compiles_bit_for_bit(cls, backend, spk_reset):
    oracle, oracle_pop = _run(cls, "numpy", spk_reset=spk_reset)
    compiled, pop = _run(cls, backend, spk_reset=spk_reset)
    assert compiled.engine == backend.split("-")[0]  # compiled, not a fallback
    assert oracle["spikes"].count > 100
    np.testing.assert_array_equal(compiled["spikes"].steps, oracle["spikes"].steps)
    np.testing.assert_array_equal(compiled["spikes"].indices_fired, oracle["spikes"].indices_fired)
    np.testing.assert_array_equal(compiled["w"].magnitude, oracle["w"].magnitude)
    np.testing.assert_array_equal(pop.V.data, oracle_pop.V.data)
    if cls is KickLIFRef:
        np.testing.assert_array_equal(pop.last_spike_time.data, oracle_pop.last_spike_time.data)


@pytest.mark.parametrize("backend", ["numba", host_cupy.ON_THE_HOST])
@pytest.mark.parametrize("cls", [KickLIF, KickLIFRef], ids=["KickLIF", "KickLIFRef"])
def test_jumps_onto_a_declared_model_compile_bit_for_bit(cls, backend):
    """takes_jumps=True: a DeltaProj's and a PoissonInput's jumps are added to the stepped
    V, in the NumPy update's order, before the refractory hold."""
    oracle, oracle_pop = _run(cls, "numpy", jumps=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BackendFallbackWarning)  # compiled, or it fails
        compiled, pop = _run(cls, backend, jumps=True)
    assert compiled.engine == backend.split("-")[0]
    no_jumps, _ = _run(cls, "numpy")
    assert oracle["spikes"].count > 100 and oracle["spikes"].count != no_jumps["spikes"].count
    np.testing.assert_array_equal(compiled["spikes"].indices_fired, oracle["spikes"].indices_fired)
    np.testing.assert_array_equal(compiled["w"].magnitude, oracle["w"].magnitude)
    np.testing.assert_array_equal(pop.V.data, oracle_pop.V.data)


def test_jumps_onto_a_model_that_does_not_declare_them_run_numpy_and_say_why():
    class NoJumps(KickLIF):
        compiled = dataclasses.replace(KickLIF.compiled, takes_jumps=False)

    with pytest.warns(
        BackendFallbackWarning,
        match=r"onto NoJumps, whose NeuronTwins do not say "
        r"takes_jumps=True \(that its update adds them to the stepped V",
    ):
        res, _ = _run(NoJumps, "numba", jumps=True)
    assert res.engine.startswith("numpy (numba could not compile")
    assert res["spikes"].count == _run(KickLIF, "numpy", jumps=True)[0]["spikes"].count


def test_a_model_whose_update_leaves_its_jumps_unread_is_refused_at_its_first_step():
    """Its jumps would be lost, step after step, without a word."""

    class Deaf(KickLIF):
        def update(self, x=None):
            p, dt = self.p, refsim.environ.dt_ms()
            current, slope = self.sum_current_inputs(self._external(x), self.V.data)
            drift = (-(self.V.data - p.V_rest) + p.R * current) / p.tau
            self.V.data = exp_euler(self.V.data, drift, (-1.0 + p.R * slope) / p.tau, dt)
            return self.get_spike()

    with pytest.raises(
        RuntimeError,
        match=r"Deaf '.*': its update left the inputs 'DeltaProj"
        r".*', 'PoissonInput.*' unread, so they would be lost",
    ):
        _run(Deaf, "numpy", jumps=True)


@pytest.mark.skipif(
    host_cupy.COMPILER is None, reason="no host C++ compiler (g++) to run the GPU kernels on"
)
@pytest.mark.parametrize("cls", [KickLIF, KickLIFRef], ids=["KickLIF", "KickLIFRef"])
def test_a_declared_model_in_float32_is_the_same_on_numba_and_the_cupy_kernels(cls):
    """float32 on the compiled backends: float64 arithmetic, each state rounded where it
    is stored (docs/decisions.md), the same rule on both; NumPy computes in float32."""
    numba_run, numba_pop = _run(cls, "numba", precision=32)
    cupy_run, cupy_pop = _run(cls, "cupy-host", precision=32)
    numpy_run, _ = _run(cls, "numpy", precision=32)
    assert numba_run.engine == "numba" and cupy_run.engine == "cupy"
    assert numba_pop.V.data.dtype == np.float32
    np.testing.assert_array_equal(
        cupy_run["spikes"].indices_fired, numba_run["spikes"].indices_fired
    )
    np.testing.assert_array_equal(cupy_pop.V.data, numba_pop.V.data)
    np.testing.assert_array_equal(cupy_run["w"].magnitude, numba_run["w"].magnitude)
    # float32 rounding, order by order, moves a few spikes by a step at most
    assert (
        abs(numba_run["spikes"].count - numpy_run["spikes"].count)
        <= 0.02 * numpy_run["spikes"].count
    )


def test_a_declaration_that_names_an_unknown_argument_does_not_compile_and_says_so():
    def bad_step(V, w, current, slope, tau, mystery, dt):
        return V, w

    class Bad(KickLIF):
        compiled = refsim.NeuronTwins(
            states=("w",),
            params=("tau", "V_th", "V_reset", "b"),
            step=bad_step,
            spike=kick_spike_scalar,
            reset=kick_reset_scalar,
        )

    net = refsim.Network()
    net.population(Bad(3), current=16 * pq.mA)
    refsim.init_all_states(net)
    with (
        refsim.use_backend("numba"),
        pytest.warns(
            refsim.backends.BackendFallbackWarning,
            match=r"Bad.compiled: bad_step takes mystery: expected a state \(w besides V\), "
            r"a declared parameter \(tau, V_th, V_reset, b\) or one of current",
        ),
    ):
        res = refsim.run(net, 1 * pq.ms, progress=False)
    assert res.engine.startswith("numpy")


def test_the_twins_each_equal_the_numpy_step():
    """The declared twins, one neuron at a time, equal the NumPy update's arithmetic."""
    n = refsim.init_all_states(KickLIF(5, V_th=-50 * pq.mV))
    n.V.data[:] = [-70.0, -60.0, -50.0, -49.0, -30.0]
    n.w.data[:] = [0.0, 0.1, 0.2, -0.3, 1.0]
    V0, w0, spikes = n.V.data.copy(), n.w.data.copy(), n.get_spike()
    with refsim.environ.context(t=0 * pq.ms):
        V_r, w_r, V, w = n._step(2.0)
    p = n.p
    for j in range(5):
        r = kick_reset_scalar(V0[j], w0[j], spikes[j], p.V_th, p.V_reset, p.b, False)
        assert r == (V_r[j], w_r[j])
        assert kick_step_scalar(r[0], r[1], 2.0, 0.0, p.R, p.tau, p.V_rest, p.tau_w, 0.1) == (
            V[j],
            w[j],
        )


# -- a model with no state but V: its twins return V alone ---------------------------------


def ramp_reset_scalar(V, spike, V_reset):
    return V_reset if spike else V


def ramp_step_scalar(V, current, R, tau, V_rest, dt):
    return V + dt * (-(V - V_rest) + R * current) / tau


def ramp_spike_scalar(V, V_th):
    return V >= V_th


class RampIF(SpikingNeuron):
    """An integrate-and-fire neuron stepped by forward Euler, reset to ``V_reset``."""

    compiled = refsim.NeuronTwins(
        states=(),
        params=("R", "tau", "V_rest", "V_th", "V_reset"),
        reset=ramp_reset_scalar,
        step=ramp_step_scalar,
        spike=ramp_spike_scalar,
    )

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=10.0 * pq.ms,
        V_rest=-65.0 * pq.mV,
        V_th=-50.0 * pq.mV,
        V_reset=-68.0 * pq.mV,
        V_initializer=refsim.init.Constant(-65.0 * pq.mV),
        spk_reset="hard",
        name=None,
    ):
        super().__init__(in_size, spk_reset, name)
        self._param("R", R, pq.ohm, nonnegative=True)
        self._param("tau", tau, pq.ms, positive=True)
        self._param("V_rest", V_rest, pq.mV)
        self._param("V_th", V_th, pq.mV)
        self._param("V_reset", V_reset, pq.mV)
        self._require_reset_below_threshold()
        self.V_initializer = V_initializer

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)

    def get_spike(self):
        return (self.V.data >= self.p.V_th).astype(float)

    def update(self, x=None):
        p, dt = self.p, refsim.environ.dt_ms()
        V = np.where(self.get_spike() > 0, p.V_reset, self.V.data)
        current, _ = self.sum_current_inputs(self._external(x), V)
        self.V.data = V + dt * (-(V - p.V_rest) + p.R * current) / p.tau
        return self.get_spike()


def _run_ramp(backend):
    refsim.random.seed(5)
    with host_cupy.backend(backend):
        net = refsim.Network()
        pop = net.population(
            RampIF(50, V_initializer=refsim.init.Uniform(-66.0, -50.0, unit=pq.mV)),
            current=np.linspace(10, 30, 50) * pq.mA,
        )
        refsim.init_all_states(net)
        res = refsim.run(net, 50 * pq.ms, monitors={"spikes": pop, "V": pop.V}, progress=False)
    return res


@pytest.mark.parametrize("backend", ["numba", host_cupy.ON_THE_HOST])
def test_a_model_of_V_alone_compiles_bit_for_bit(backend):
    oracle, compiled = _run_ramp("numpy"), _run_ramp(backend)
    assert compiled.engine == backend.split("-")[0]
    assert oracle["spikes"].count > 50
    np.testing.assert_array_equal(compiled["spikes"].steps, oracle["spikes"].steps)
    np.testing.assert_array_equal(compiled["V"].magnitude, oracle["V"].magnitude)


# -- twins one backend cannot compile: that backend says so and runs the NumPy code -------


def exp_step_scalar(V, current, R, tau, V_rest, dt):
    """Exact integration of the membrane, with math.exp: numba compiles it, the C
    translator does not (not a twin, not a function it knows)."""
    V_inf = V_rest + R * current
    return V_inf + (V - V_inf) * math.exp(-dt / tau)


class ExpIntegrated(RampIF):
    compiled = refsim.NeuronTwins(
        states=(),
        params=("R", "tau", "V_rest", "V_th", "V_reset"),
        reset=ramp_reset_scalar,
        step=exp_step_scalar,
        spike=ramp_spike_scalar,
    )

    def update(self, x=None):
        p, dt = self.p, refsim.environ.dt_ms()
        V = np.where(self.get_spike() > 0, p.V_reset, self.V.data)
        V_inf = p.V_rest + p.R * self.sum_current_inputs(self._external(x), V)[0]
        self.V.data = V_inf + (V - V_inf) * np.exp(-dt / p.tau)
        return self.get_spike()


def _one_population(cls):
    net = refsim.Network()
    net.population(cls(4), current=20.0 * pq.mA)
    refsim.init_all_states(net)
    return net


@pytest.mark.skipif(
    host_cupy.COMPILER is None, reason="no host C++ compiler (g++) to run the GPU kernels on"
)
def test_twins_that_do_not_translate_to_C_fall_back_on_cupy_with_a_warning_naming_them():
    assert (
        refsim.run(_one_population(ExpIntegrated), 1 * pq.ms, progress=False).engine == "numba"
    )  # numba compiles math.exp
    with (
        host_cupy.installed(),
        refsim.use_backend("cupy"),
        pytest.warns(
            refsim.backends.BackendFallbackWarning,
            match=r"ExpIntegrated.compiled: its twins do not translate to C "
            r"\(exp_step_scalar, line \d+: a call of something other than a twin",
        ),
    ):
        res = refsim.run(_one_population(ExpIntegrated), 1 * pq.ms, progress=False)
    assert res.engine.startswith("numpy")


def list_step_scalar(V, current, dt):
    return sum(list(V))  # a float is no sequence: numba refuses it


class Unlisted(RampIF):
    compiled = refsim.NeuronTwins(
        states=(),
        params=("V_th", "V_reset"),
        reset=ramp_reset_scalar,
        step=list_step_scalar,
        spike=ramp_spike_scalar,
    )


def test_twins_numba_does_not_compile_fall_back_with_a_warning_naming_them():
    with (
        refsim.use_backend("numba"),
        pytest.warns(
            refsim.backends.BackendFallbackWarning,
            match=r"Unlisted.compiled: numba does not compile its twins \(No implementation "
            r"of function .*list.* found for signature: list\(float64\) in "
            r".*test_declared_models.py, line \d+\)",
        ),
    ):
        res = refsim.run(_one_population(Unlisted), 1 * pq.ms, progress=False)
    assert res.engine.startswith("numpy")


def lif_drift_scalar(V, current, R, tau, V_rest, dt):
    """A twin named as one of refsim's (refsim.neurons.lif.lif_drift_scalar)."""
    return V + dt * (-(V - V_rest) + R * current) / tau


class SameName(RampIF):
    compiled = refsim.NeuronTwins(
        states=(),
        params=("R", "tau", "V_rest", "V_th", "V_reset"),
        reset=ramp_reset_scalar,
        step=lif_drift_scalar,
        spike=ramp_spike_scalar,
    )


@pytest.mark.skipif(
    host_cupy.COMPILER is None, reason="no host C++ compiler (g++) to run the GPU kernels on"
)
def test_a_twin_named_as_one_of_refsims_is_refused_on_cupy_with_the_name():
    assert refsim.run(_one_population(SameName), 1 * pq.ms, progress=False).engine == "numba"
    with (
        host_cupy.installed(),
        refsim.use_backend("cupy"),
        pytest.warns(
            refsim.backends.BackendFallbackWarning,
            match=r"SameName.compiled: its twins do not translate to C \(two twins are named "
            r"lif_drift_scalar \(refsim.neurons.lif and test_declared_models\); C has "
            r"one namespace: rename one\)",
        ),
    ):
        res = refsim.run(_one_population(SameName), 1 * pq.ms, progress=False)
    assert res.engine.startswith("numpy")
