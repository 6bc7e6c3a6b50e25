"""The stability check of refsim.run: a state that is NaN, infinite or out of its model's
bounds stops the run with NumericalInstability, on every backend, at the same step and
naming the same population, state, neuron and value; the steps done are kept."""

import functools
import re
import warnings

import numpy as np
import pytest
import quantities as pq

import refsim
from refsim.stability import UncheckedRunWarning, modules_of

numba = pytest.importorskip("numba", reason="the compiled check runs on numba")


def _hh_network(n: int = 6):
    refsim.random.seed(0)  # HH's initial potentials are drawn
    net = refsim.Network()
    pop = net.population(refsim.HH(n, method="euler"), current=10 * pq.uA)
    refsim.init_all_states(net)
    return net, pop


def _blow_up(backend, duration_ms=200.0, **kwargs):
    """HH integrated by Euler at dt = 0.5 ms: NaN from step 10 on."""
    with refsim.use_backend(backend), refsim.environ.context(dt=0.5 * pq.ms):
        net, pop = _hh_network()
        with pytest.raises(refsim.NumericalInstability) as caught:
            refsim.run(net, duration_ms * pq.ms, monitors={"V": pop.V}, **kwargs)
    return caught.value, pop


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_run_that_turns_nan_stops_with_the_population_state_neuron_and_step(backend):
    stop, pop = _blow_up(backend)
    assert re.search(
        rf"after step 99 \(t = 49.5 ms\), HH '{pop.name}'\.V\[0\] = nan mV "
        r"is not finite \(states are checked every 100 steps",
        str(stop),
    )
    f = stop.finding
    assert (f.module, f.state, f.index, f.step) == (pop, "V", (0,), 99) and np.isnan(f.value)
    # the steps done, that step included, are in the result; the model holds its state
    assert stop.result.n_steps == 100 and stop.result["V"].shape == (100, 6)
    assert float(stop.result.next_t.magnitude) == 50.0
    assert np.isnan(pop.V.data).all()


def test_numpy_and_numba_stop_at_the_same_step_on_the_same_value():
    found = [_blow_up(b)[0].finding for b in ("numpy", "numba")]
    assert [(f.state, f.index, f.step) for f in found] == [("V", (0,), 99)] * 2
    both = _blow_up("numpy")[0].result["V"], _blow_up("numba")[0].result["V"]
    np.testing.assert_array_equal(*both)  # NaN where NaN: the same bits up to the stop


def test_checking_every_step_finds_the_first_nan_and_the_last_step_is_always_checked():
    # every step: the first step at which a state (V or a gate) is not finite, and the
    # run stops right after it, so the model holds the value reported
    stop, pop = _blow_up("numba", check_every=1)
    f = stop.finding
    assert 0 < f.step < 99 and stop.result.n_steps == f.step + 1
    assert np.isnan(getattr(pop, f.state).data[f.index]) == np.isnan(f.value)
    assert not np.isfinite(getattr(pop, f.state).data[f.index])
    # a run shorter than check_every is checked at its last step
    stop, _ = _blow_up("numba", duration_ms=25.0)  # 50 steps
    assert stop.finding.step == 49 and stop.result.n_steps == 50


def test_check_every_none_turns_the_check_off():
    with refsim.use_backend("numba"), refsim.environ.context(dt=0.5 * pq.ms):
        net, pop = _hh_network()
        result = refsim.run(net, 200 * pq.ms, check_every=None)
    assert result.n_steps == 400 and np.isnan(pop.V.data).all()
    with pytest.raises(
        ValueError,
        match=r"check_every must be a number of steps >= 1, or "
        r"None .* got -5",
    ):
        refsim.run(net, 1 * pq.ms, check_every=-5)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_finite_value_beyond_a_models_bounds_stops_the_run(backend):
    """AdExIF declares V >= -1000 mV (as NEST's aeif models): an adaptation far too
    strong drives V there long before it is NaN."""
    with refsim.use_backend(backend):
        net = refsim.Network()
        net.population(refsim.AdExIF(3, a=1e3 * pq.S, tau_w=0.1 * pq.ms))
        refsim.init_all_states(net)
        with pytest.raises(
            refsim.NumericalInstability,
            match=r"AdExIF '.*'\.V\[0\] = (-[0-9.e+]+ mV lies outside the bounds "
            r"its model declares, \[-1000, inf\]|nan mV is not finite)",
        ):
            refsim.run(net, 100 * pq.ms, check_every=1)
    assert refsim.AdExIF.state_bounds == {"V": (-1e3, np.inf)}


def test_the_check_finds_the_models_of_a_step_function():
    a, b = refsim.LIF(2), refsim.LIF(3)

    class Holder:  # a plain object holding a model, as a script's simulation class
        def __init__(self):
            self.neuron = b

        def step(self):
            self.neuron()

    holder = Holder()

    def step():
        a()
        holder.step()

    found = modules_of(step)
    assert any(m is a for m in found) and any(m is b for m in found)
    assert any(m is b for m in modules_of(holder.step))
    assert modules_of(lambda: None) == []


def test_a_run_whose_models_the_check_cannot_see_says_so():
    neuron = refsim.init_all_states(refsim.LIF(2))
    step = functools.partial(refsim.LIF.__call__, neuron)  # holds it where no code names it
    assert modules_of(step) == []
    with (
        refsim.use_backend("numpy"),
        pytest.warns(UncheckedRunWarning, match="no state is checked"),
    ):
        refsim.run(step, 1 * pq.ms)
    with refsim.use_backend("numpy"), warnings.catch_warnings():
        warnings.simplefilter("error")
        refsim.run(step, 1 * pq.ms, check_every=None)  # said so: no warning


def test_the_check_costs_nothing_it_does_not_need(monkeypatch):
    """No check at a step that is not due: counted on the NumPy path."""
    from refsim import stability

    calls = []
    real = stability.check
    monkeypatch.setattr(stability, "check", lambda *a: calls.append(a[1]) or real(*a))
    n = refsim.init_all_states(refsim.LIF(3))
    with refsim.use_backend("numpy"):  # (on numba the step is captured and compiled)
        refsim.run(lambda: n(), 35 * pq.ms, t_start=10 * pq.ms)  # steps 100 .. 449
    assert calls == [199, 299, 399, 449]
