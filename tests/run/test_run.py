import warnings

import numpy as np
import pytest
import quantities as pq

import refsim


def test_arange_matches_numpy_arange_in_ms():
    t = refsim.arange(0 * pq.ms, 200 * pq.ms)
    assert t.units == pq.ms and t.shape == (2000,)
    np.testing.assert_array_equal(t.magnitude, np.arange(0.0, 200.0, 0.1))


def test_for_loop_stacks_quantities_tuples_and_dicts():
    def step(t):
        return t * 2, {"a": np.array([1.0, 2.0])}, None

    doubled, d, nothing = refsim.for_loop(step, refsim.arange(0 * pq.ms, 1 * pq.ms))
    assert doubled.units == pq.ms and doubled.shape == (10,)
    assert d["a"].shape == (10, 2) and nothing is None
    with pytest.raises(ValueError, match="differ in length: 3 and 2"):
        refsim.for_loop(lambda a, b: a, np.arange(3), np.arange(2))


def test_run_records_states_spikes_every_k_and_subsets():
    n = refsim.init_all_states(
        refsim.LIFRef(
            3,
            tau=10 * pq.ms,
            V_th=-50 * pq.mV,
            V_reset=-65 * pq.mV,
            V_rest=-65 * pq.mV,
            V_initializer=refsim.init.Constant(-65 * pq.mV),
        )
    )
    res = refsim.run(
        lambda: n(np.array([10.0, 20.0, 30.0]) * pq.mA),
        50 * pq.ms,
        monitors={
            "V": n.V,
            "V0_every5": refsim.StateMonitor(n.V, indices=[0], every=5),
            "spikes": n,
        },
    )
    assert res["V"].shape == (500, 3) and res["V"].units == pq.mV
    assert res["V0_every5"].shape == (100, 1)
    np.testing.assert_array_equal(res["V0_every5"].magnitude[:, 0], res["V"].magnitude[::5, 0])
    spikes = res["spikes"]
    assert spikes.count == len(spikes.steps) > 0
    counts = np.bincount(spikes.indices_fired, minlength=3)
    assert counts[0] < counts[1] < counts[2]  # more current, more spikes
    np.testing.assert_allclose(spikes.times().magnitude, spikes.steps * 0.1)
    assert len(res.t) == 500 and float(res.next_t) == pytest.approx(50.0, abs=1e-9)


def test_consecutive_runs_equal_one_long_run():
    def make():
        refsim.random.seed(5)
        return refsim.init_all_states(
            refsim.LIFRef(
                20,
                tau=10 * pq.ms,
                V_th=-50 * pq.mV,
                V_reset=-65 * pq.mV,
                V_rest=-65 * pq.mV,
                tau_ref=2 * pq.ms,
                V_initializer=refsim.init.Uniform(-65, -50, unit=pq.mV),
            )
        )

    a = make()
    one = refsim.run(lambda: a(20 * pq.mA), 30 * pq.ms, monitors={"V": a.V})
    b = make()
    first = refsim.run(lambda: b(20 * pq.mA), 10 * pq.ms, monitors={"V": b.V})
    second = refsim.run(
        lambda: b(20 * pq.mA), 20 * pq.ms, monitors={"V": b.V}, t_start=first.next_t
    )
    joined = np.concatenate([first["V"].magnitude, second["V"].magnitude])
    np.testing.assert_array_equal(joined, one["V"].magnitude)
    assert second.monitors["V"].steps[0] == 100


def test_run_rejects_unknown_monitor_targets():
    with pytest.raises(TypeError, match="monitor 'x': expected a State, a Neuron"):
        refsim.run(lambda: None, 1 * pq.ms, monitors={"x": 3})


def test_progress_bar_can_be_forced(capsys):
    n = refsim.init_all_states(refsim.LIF(2))
    res = refsim.run(lambda: n(1 * pq.mA), 30 * pq.ms, monitors={"V": n.V}, progress=True)
    assert res["V"].shape == (300, 2)
    assert "300/300" in capsys.readouterr().err


def test_monitor_memory_is_announced_before_a_run_with_progress(capsys):
    n = refsim.init_all_states(refsim.LIF(1000))
    refsim.run(
        lambda: n(),
        10 * pq.ms,
        monitors={"V": n.V, "m": refsim.StateMonitor(n.V, reduce="mean")},
        progress=True,
    )
    err = capsys.readouterr().err
    # 100 records x 1000 neurons x 8 bytes = 0.8 MB, plus 100 means
    assert "refsim.run: 100 steps; monitors will take 0.8 MiB (V 0.8 MiB, m 0.0 MiB)" in err


def test_reducers_record_population_mean_and_sum():
    n = refsim.init_all_states(
        refsim.LIF(4, V_initializer=refsim.init.Constant(np.array([0.0, 1.0, 2.0, 3.0]) * pq.mV))
    )
    res = refsim.run(
        lambda: None,
        0.3 * pq.ms,
        monitors={
            "mean": refsim.StateMonitor(n.V, reduce="mean"),
            "sum": refsim.StateMonitor(n.V, indices=[1, 3], reduce="sum"),
        },
    )
    np.testing.assert_array_equal(res["mean"].magnitude, [1.5, 1.5, 1.5])
    np.testing.assert_array_equal(res["sum"].magnitude, [4.0, 4.0, 4.0])
    with pytest.raises(ValueError, match="reduce must be 'mean', 'sum' or None"):
        refsim.StateMonitor(n.V, reduce="max")


def _clock_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, refsim.ClockWarning)]


def test_a_second_run_from_0_ms_of_a_refractory_model_warns_at_the_users_line():
    neuron = refsim.init_all_states(
        refsim.LIFRef(
            3,
            tau_ref=5 * pq.ms,
            V_th=-50 * pq.mV,
            V_reset=-60 * pq.mV,
            V_rest=-60 * pq.mV,
            tau=10 * pq.ms,
        )
    )
    first = refsim.run(lambda: neuron(30 * pq.mA), 20 * pq.ms)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        refsim.run(lambda: neuron(30 * pq.mA), 20 * pq.ms, t_start=first.next_t)  # continues
        assert _clock_warnings(record) == []
        refsim.run(lambda: neuron(30 * pq.mA), 20 * pq.ms)  # from 0 ms again
    messages = _clock_warnings(record)
    assert len(messages) == 1  # once, at the step where the clock went back
    assert messages[0].startswith(
        f"LIFRef '{neuron.name}' is stepped at t = 0 ms after it was stepped at t = 39.9 ms"
    )
    assert "pass t_start=result.next_t" in messages[0]
    assert [w.filename for w in record if issubclass(w.category, refsim.ClockWarning)] == [__file__]
    with warnings.catch_warnings():
        warnings.simplefilter("error", refsim.ClockWarning)
        refsim.reset_all_states(neuron)  # starting afresh is no warning
        refsim.run(lambda: neuron(30 * pq.mA), 20 * pq.ms)


def test_a_kinetic_synapse_stepped_back_in_time_warns():
    syn = refsim.init_all_states(refsim.AMPA(2))
    with refsim.environ.context(t=5.0 * pq.ms):
        syn(np.array([1.0, 0.0]))
    with pytest.warns(
        refsim.ClockWarning,
        match=r"AMPA '\w+' is stepped at t = 1 ms after "
        r"it was stepped at t = 5 ms",
    ):
        with refsim.environ.context(t=1.0 * pq.ms):
            syn(np.array([0.0, 0.0]))


def test_a_compiled_network_run_from_0_ms_again_warns_too():
    from refsim.validation.networks import COBANet

    with refsim.use_backend("numba"):
        net = COBANet(400, 1, 80.0)
        refsim.init_all_states(net)
        first = refsim.run(net, 5 * pq.ms)
        assert first.engine == "numba"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            refsim.run(net, 5 * pq.ms, t_start=first.next_t)
        with pytest.warns(
            refsim.ClockWarning,
            match=r"stepped at t = 0 ms after it was "
            r"stepped at t = 9.9 ms",
        ):
            refsim.run(net, 5 * pq.ms)
