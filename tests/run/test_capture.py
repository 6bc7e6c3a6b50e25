"""A brainpy-style step function runs compiled: ``refsim.run(step)`` and
``refsim.for_loop(step, times)`` watch its first two steps (the NumPy code), run the network
its calls make as one compiled loop for the rest, and give the NumPy run's numbers bit for
bit; a step that does anything else says why and where, and runs the NumPy code."""

import warnings

import host_cupy
import numpy as np
import pytest
import quantities as pq

import refsim
from refsim.backends import BackendFallbackWarning
from refsim.module import State

pytest.importorskip("numba", reason="the compiled side of the comparison")

COMPILED = ["numba", host_cupy.ON_THE_HOST]


def ei_population(seed=0):
    """The README's network: 500 LIF, two projections merged onto one Expon + CUBA."""
    refsim.random.seed(seed)
    N = refsim.LIF(
        500,
        V_rest=-52 * pq.mV,
        V_th=-50 * pq.mV,
        V_reset=-60 * pq.mV,
        tau=10 * pq.ms,
        V_initializer=refsim.init.Normal(-60.0, 10.0, unit=pq.mV),
    )
    E = refsim.AlignPostProj(
        comm=refsim.EventFixedProb(400, 500, 0.1, 0.158 * pq.mS),
        syn=refsim.Expon.desc(500, tau=2 * pq.ms),
        out=refsim.CUBA.desc(),
        post=N,
    )
    I = refsim.AlignPostProj(  # noqa: E741 - the README's name
        comm=refsim.EventFixedProb(100, 500, 0.1, -0.316 * pq.mS),
        syn=refsim.Expon.desc(500, tau=2 * pq.ms),
        out=refsim.CUBA.desc(),
        post=N,
    )
    refsim.init_all_states(N)
    return N, E, I


class Counted:
    """A step function that counts its calls (2: compiled after the two watched steps)."""

    def __init__(self, step):
        self.step, self.calls = step, 0

    def __call__(self, *args):
        self.calls += 1
        return self.step(*args)


def readme_run(backend, monitors=None, returns=False):
    with host_cupy.backend(backend):
        N, E, I = ei_population()

        def step():
            spikes = N.get_spike() != 0  # last step's spikes
            E(spikes[:400])
            I(spikes[400:])
            N(3 * pq.mA)
            if returns:  # as brainpy's tutorial network does; refsim.run drops it
                return N.get_spike()

        counted = Counted(step)
        mons = monitors(N) if monitors else {"spikes": N, "V": N.V}
        with warnings.catch_warnings():
            warnings.simplefilter("error", BackendFallbackWarning)  # compiled, or it fails
            res = refsim.run(counted, 200 * pq.ms, monitors=mons, progress=False)
    return res, N, counted.calls


@pytest.mark.parametrize("returns", [False, True], ids=["returns nothing", "returns spikes"])
@pytest.mark.parametrize("backend", COMPILED)
def test_the_readme_step_function_runs_compiled_bit_for_bit(backend, returns):
    oracle, o_N, o_calls = readme_run("numpy", returns=returns)
    res, N, calls = readme_run(backend, returns=returns)
    assert (o_calls, calls) == (2000, 2)  # the Python step ran twice, watched
    assert res.engine.startswith(backend.split("-")[0] + " (a captured step function")
    assert oracle["spikes"].count > 1000  # active: the projections matter
    np.testing.assert_array_equal(res["spikes"].steps, oracle["spikes"].steps)
    np.testing.assert_array_equal(res["spikes"].indices_fired, oracle["spikes"].indices_fired)
    np.testing.assert_array_equal(np.asarray(res["V"]), np.asarray(oracle["V"]))
    assert res["V"].shape == (2000, 500)
    np.testing.assert_array_equal(N.V.data, o_N.V.data)


def test_monitors_recording_every_k_steps_go_on_in_step_after_the_watched_ones():
    """every=3: the NumPy code runs 3 steps (a whole record period), the loop the rest."""

    def mons(N):
        return {
            "V": refsim.StateMonitor(N.V, every=3, indices=[0, 7]),
            "mean": refsim.StateMonitor(N.V, every=3, reduce="mean"),
        }

    (oracle, _, _), (res, _, calls) = readme_run("numpy", mons), readme_run("numba", mons)
    assert calls == 3 and "first 3 steps" in res.engine
    assert res["V"].shape == (667, 2) and res["mean"].shape == (667,)
    np.testing.assert_array_equal(np.asarray(res["V"]), np.asarray(oracle["V"]))
    np.testing.assert_array_equal(np.asarray(res["mean"]), np.asarray(oracle["mean"]))


class EINet(refsim.Module):
    """The network of the tutorial 'building an SNN', as brainpy writes it."""

    def __init__(self):
        super().__init__()
        self.N, self.E, self.I = ei_population()

    def update(self, inp):
        spikes = self.N.get_spike() != 0.0
        self.E(spikes[:400])
        self.I(spikes[400:])
        self.N(inp)
        return self.N.get_spike()


def einet_loop(backend):
    with host_cupy.backend(backend):
        net = EINet()
        times = refsim.arange(0.0 * pq.ms, 100.0 * pq.ms)
        step = Counted(lambda t: net.update(3.0 * pq.mA))
        with warnings.catch_warnings():
            warnings.simplefilter("error", BackendFallbackWarning)
            spikes = refsim.for_loop(step, times)
    return spikes, net, step.calls


@pytest.mark.parametrize("backend", COMPILED)
def test_a_for_loop_of_a_module_update_runs_compiled_bit_for_bit(backend):
    (oracle, o_net, _), (spikes, net, calls) = einet_loop("numpy"), einet_loop(backend)
    assert calls == 2
    assert spikes.shape == (1000, 500) and spikes.dtype == oracle.dtype == np.float64
    assert oracle.sum() > 500
    np.testing.assert_array_equal(spikes, oracle)
    np.testing.assert_array_equal(net.N.V.data, o_net.N.V.data)


class EINetByPopulation(EINet):
    """EINet returning its excitatory and inhibitory spikes apart, as slices and tests."""

    def update(self, inp):
        super().update(inp)
        spikes = self.N.get_spike()
        return {"E": spikes[:400], "I": spikes[400:] != 0.0}


@pytest.mark.parametrize("backend", COMPILED)
def test_a_for_loop_returning_slices_of_spikes_runs_compiled_bit_for_bit(backend):
    """A slice of spikes (and a test of one) returned: the loop records the population's
    spikes and slices them as the step did (until 2026-12-08 it fell back)."""
    results = {}
    for engine in ("numpy", backend):
        with host_cupy.backend(engine):
            net = EINetByPopulation()
            step = Counted(lambda t, net=net: net.update(3.0 * pq.mA))
            with warnings.catch_warnings():
                warnings.simplefilter("error", BackendFallbackWarning)
                results[engine] = refsim.for_loop(step, refsim.arange(0.0 * pq.ms, 100.0 * pq.ms))
        assert step.calls == (1000 if engine == "numpy" else 2)
    oracle, out = results["numpy"], results[backend]
    assert out["E"].shape == (1000, 400) and out["E"].dtype == np.float64
    assert out["I"].shape == (1000, 100) and out["I"].dtype == np.bool_
    assert oracle["E"].sum() > 400 and oracle["I"].sum() > 100
    np.testing.assert_array_equal(out["E"], oracle["E"])
    np.testing.assert_array_equal(out["I"], oracle["I"])


def lifref(num, tau_ref):
    """The first tutorial's neuron (it reads the clock), at rest, with its state."""
    neuron = refsim.LIFRef(
        num, tau=20 * pq.ms, V_rest=-60 * pq.mV, V_th=-50 * pq.mV, V_reset=-60 * pq.mV,
        tau_ref=tau_ref, V_initializer=refsim.init.Constant(-60 * pq.mV),
    )  # fmt: skip
    return refsim.init_all_states(neuron)


def tutorial_loop(backend, start=0.0, strict=True):
    """The first tutorial: a LIFRef (it reads the clock) stepped at the loop's times, its
    V and spikes returned."""
    with host_cupy.backend(backend), refsim.environ.context(dt=0.1 * pq.ms):
        neuron = lifref(2, tau_ref=5 * pq.ms)
        times = refsim.arange(start * pq.ms, start * pq.ms + 200 * pq.ms)
        drive = refsim.StepInput([10 * pq.mA, 25 * pq.mA, 15 * pq.mA], [0, 60, 150] * pq.ms)

        def step(t):
            with refsim.environ.context(t=t):
                neuron(drive())
                return {"V": neuron.V.value, "spikes": neuron.get_spike(), "none": None}

        counted = Counted(step)
        with warnings.catch_warnings():
            if strict:
                warnings.simplefilter("error", BackendFallbackWarning)
            out = refsim.for_loop(counted, times)
    return out, counted.calls


@pytest.mark.parametrize("backend", COMPILED)
def test_a_tutorial_step_that_sets_the_time_and_calls_a_waveform_runs_compiled(backend):
    oracle, _ = tutorial_loop("numpy")
    out, calls = tutorial_loop(backend)
    assert calls == 2 and out["none"] is None
    assert out["V"].shape == (2000, 2) and str(out["V"].dimensionality) == "mV"
    assert 5 < oracle["spikes"].sum() < 200  # spikes, and refractory periods between them
    np.testing.assert_array_equal(out["V"].magnitude, oracle["V"].magnitude)
    np.testing.assert_array_equal(out["spikes"], oracle["spikes"])


def inputs_loop(backend):
    """brainpy's ``for_loop(step, times, inputs)``: a current per step and neuron."""
    with host_cupy.backend(backend), refsim.environ.context(dt=0.1 * pq.ms):
        n = lifref(3, tau_ref=2 * pq.ms)
        times = refsim.arange(0 * pq.ms, 100 * pq.ms)
        ramp = np.linspace(0.0, 30.0, len(times))[:, None] * np.array([0.5, 1.0, 1.5]) * pq.mA

        def step(t, current):
            with refsim.environ.context(t=t):
                n(current)
                return n.V.value, n.get_spike()

        counted = Counted(step)
        with warnings.catch_warnings():
            warnings.simplefilter("error", BackendFallbackWarning)
            return refsim.for_loop(counted, times, ramp), counted.calls


@pytest.mark.parametrize("backend", COMPILED)
def test_a_loop_with_an_input_per_step_runs_compiled(backend):
    """The loop's second sequence, given as it is to the population, becomes a
    SampledInput of the compiled network: the same numbers."""
    (o_V, o_spikes), _ = inputs_loop("numpy")
    (V, spikes), calls = inputs_loop(backend)
    assert calls == 2 and V.shape == (1000, 3)
    assert list(o_spikes.sum(axis=0)) == list(spikes.sum(axis=0)) and o_spikes[:, 2].sum() > 3
    np.testing.assert_array_equal(V.magnitude, o_V.magnitude)


def test_a_sampled_input_outside_its_samples_says_which_step():
    drive = refsim.SampledInput([1.0, 2.0] * pq.mA, t_start=1 * pq.ms)
    with refsim.environ.context(dt=0.5 * pq.ms, t=1.5 * pq.ms):
        assert drive() == 2.0 * pq.mA
    with (
        refsim.environ.context(dt=0.5 * pq.ms, t=2.0 * pq.ms),
        pytest.raises(
            ValueError, match=r"SampledInput holds 2 steps from 1.0 ms; step 4 of dt = 0.5 ms"
        ),
    ):
        drive()


def test_a_loop_over_times_off_the_grid_runs_the_numpy_code_and_says_so():
    """``arange(10 ms, ...)`` gives ``10 + k * 0.1``, not the compiled loop's ``(100 + k) *
    0.1`` (they differ in the last bits): the NumPy code runs, saying why."""
    with pytest.warns(BackendFallbackWarning, match=r"the loop's times are not the grid"):
        off_grid, calls = tutorial_loop("numba", start=10.0, strict=False)
    assert calls == 2000 and off_grid["V"].shape == (2000, 2)


def pre_post_loop(backend):
    """The mental model's second network: a projection fed before its presynaptic
    population's update, whose output (its spikes) the step returns after a later call."""
    with host_cupy.backend(backend):
        refsim.random.seed(2)
        pre = refsim.LIF(20, tau=10 * pq.ms, V_th=-50 * pq.mV, V_reset=-65 * pq.mV,
                         V_rest=-65 * pq.mV,
                         V_initializer=refsim.init.Uniform(-65.0, -50.0, unit=pq.mV))  # fmt: skip
        post = refsim.LIF(5, tau=10 * pq.ms, V_th=-50 * pq.mV, V_reset=-65 * pq.mV,
                          V_rest=-65 * pq.mV)  # fmt: skip
        proj = refsim.AlignPostProj(
            comm=refsim.EventFixedProb(20, 5, 0.5, 2 * pq.nS, seed=1),
            syn=refsim.Expon.desc(5, tau=5 * pq.ms),
            out=refsim.COBA.desc(E=0 * pq.mV),
            post=post,
        )
        refsim.init_all_states(pre), refsim.init_all_states(post)

        def step(t):
            with refsim.environ.context(t=t):
                proj(pre.get_spike() != 0)
                fired = pre(20 * pq.mA)
                post(0 * pq.mA)
                return fired, post.V.value

        with warnings.catch_warnings():
            warnings.simplefilter("error", BackendFallbackWarning)
            return refsim.for_loop(step, refsim.arange(0 * pq.ms, 50 * pq.ms))


def test_spikes_returned_by_an_update_before_a_later_call_are_recorded():
    (o_fired, o_V), (fired, V) = pre_post_loop("numpy"), pre_post_loop("numba")
    assert fired.shape == (500, 20) and o_fired.sum() > 20
    np.testing.assert_array_equal(fired, o_fired)
    np.testing.assert_array_equal(V.magnitude, o_V.magnitude)


def test_a_network_subclass_with_its_own_update_runs_compiled():
    """``refsim.run(net)`` of a Network whose update is written by hand: captured."""

    class Hand(refsim.Network):
        def __init__(self):
            super().__init__()
            self.N, self.E, self.I = ei_population()

        def update(self):
            spikes = self.N.get_spike() != 0
            self.E(spikes[:400])
            self.I(spikes[400:])
            self.N(3 * pq.mA)

    runs = {}
    for backend in ("numpy", "numba"):
        with refsim.use_backend(backend), warnings.catch_warnings():
            warnings.simplefilter("error", BackendFallbackWarning)
            net = refsim.init_all_states(Hand())
            runs[backend] = refsim.run(net, 50 * pq.ms, monitors={"s": net.N}, progress=False)
    assert runs["numba"].engine.startswith("numba (a captured step function")
    np.testing.assert_array_equal(runs["numba"]["s"].steps, runs["numpy"]["s"].steps)
    np.testing.assert_array_equal(
        runs["numba"]["s"].indices_fired, runs["numpy"]["s"].indices_fired
    )


# -- what does not compile says why, names the line, and runs the NumPy code ------------------
def _refused(make_step, loop=False):
    """(the warning's text, the compiled backend's results, NumPy's) of a step function;
    ``make_step(N, E, I)`` returns the step."""
    results = {}
    for backend in ("numpy", "numba"):
        with refsim.use_backend(backend), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", BackendFallbackWarning)
            N, E, I = ei_population()
            step = make_step(N, E, I)
            if loop:
                out = refsim.for_loop(step, refsim.arange(0 * pq.ms, 20 * pq.ms))
                results[backend] = (np.asarray(out), N.V.data.copy())
            else:
                res = refsim.run(step, 20 * pq.ms, monitors={"V": N.V}, progress=False)
                results[backend] = (np.asarray(res["V"]), N.V.data.copy())
        fallbacks = [str(w.message) for w in caught if w.category is BackendFallbackWarning]
    assert len(fallbacks) == 1, fallbacks
    for a, b in zip(results["numba"], results["numpy"], strict=True):
        np.testing.assert_array_equal(a, b)  # the NumPy code, after the two watched steps
    return fallbacks[0]


def _line_of(text: str) -> str:
    """``test_capture.py:LINE`` of the first line of this file holding ``text``."""
    with open(__file__) as f:
        number = next(k for k, line in enumerate(f, 1) if text in line and "_line_of" not in line)
    return f"test_capture.py:{number}"


def _time_dependent(N, E, I):
    def step(t):
        with refsim.environ.context(t=t):
            N(25 * pq.mA if t < 5 * pq.ms else 0 * pq.mA)  # a time-dependent drive
            return N.V.value

    return step


def _spikes_as_current(N, E, I):
    def step():
        spikes = N.get_spike()
        N(float(spikes.sum()) * pq.mA)  # spikes as current

    return step


def _late_projection(N, E, I):
    def step():
        spikes = N.get_spike() != 0
        N(3 * pq.mA)
        E(spikes[:400])  # after its target's update

    return step


def _fresh_spikes(N, E, I):
    def step():
        N(3 * pq.mA)
        E(N.get_spike()[:400] != 0)  # this step's spikes

    return step


def _clock_read(N, E, I):
    def step():
        N(3 * pq.mA * float(refsim.environ.get("i") < 40))  # the clock read

    return step


def _synapse_alone(N, E, I):
    syn = refsim.init_all_states(refsim.Expon(1, tau=5 * pq.ms))

    def step():
        N(3 * pq.mA)
        syn(0.0 * pq.mS)  # a synapse alone

    return step


def _kept(N, E, I):
    kept = []

    def step():
        N(3 * pq.mA)
        kept.append(N.V.value)  # a state kept for Python

    return step


def _changing(N, E, I):
    drives = iter(range(1000))

    def step():
        N(next(drives) * pq.mA)  # another current each step

    return step


def _parameter_set(N, E, I):
    def step():
        N(3 * pq.mA)
        N.p.tau = 5.0  # a parameter changed

    return step


def _attribute_set(N, E, I):
    def step():
        N(3 * pq.mA)
        N.spk_reset = "hard"  # an attribute changed

    return step


def _data_read(N, E, I):
    def step():
        N(3 * pq.mA + 0 * N.V.data[0] * pq.mA)  # .data read

    return step


@pytest.mark.parametrize(
    "make_step, loop, reason, line",
    [
        (_time_dependent, True, "computes with the loop's argument 0", "a time-dependent drive"),
        (_spikes_as_current, False, "computes with the spikes of", "spikes as current"),
        (_late_projection, False, "after it updates its target", None),
        (_fresh_spikes, False, "emits in the same step (read after its update)", None),
        (_clock_read, False, "reads the clock (refsim.environ.get('i'))", "the clock read"),
        (_synapse_alone, False, "calls Expon", "a synapse alone"),
        (_kept, False, "it keeps the state V for Python", "a state kept for Python"),
        (_changing, False, "does not do the same in its first two steps", None),
        (_data_read, False, "it reads V.data", ".data read"),
        (_parameter_set, False, "it sets a parameter, p.tau", "a parameter changed"),
        (_attribute_set, False, "it sets spk_reset of LIF", "an attribute changed"),
    ],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) else None,
)
def test_a_step_that_does_not_compile_says_why_and_where(make_step, loop, reason, line):
    text = _refused(make_step, loop)
    assert text.startswith(
        f"refsim.{'for_loop' if loop else 'run'} of a step function on the numba backend: "
    )
    assert reason in text and text.endswith("; running the NumPy code step by step")
    if line is not None:
        assert _line_of(line) in text


def test_the_hooks_are_gone_after_a_step_that_raises():
    """An exception in a watched step propagates as it would, and refsim is left as it was."""
    data, value, lif_update = State.__dict__["data"], State.__dict__["value"], refsim.LIF.update
    N, _, _ = ei_population()

    def step():
        N(3 * pq.mA)
        raise ZeroDivisionError("the user's own error")

    with refsim.use_backend("numba"), pytest.raises(ZeroDivisionError, match="own error"):
        refsim.run(step, 1 * pq.ms, check_every=None)
    assert State.__dict__["data"] is data and State.__dict__["value"] is value
    assert refsim.LIF.update is lif_update and refsim.environ.context.__name__ == "context"
    assert type(N.V.value) is pq.Quantity and type(N.get_spike()) is np.ndarray
