"""Checkpoints: a run saved, loaded into the model built again and continued equals one
run, bit for bit, for every model, synapse, delay and random input; bad files are refused
with a message."""

import json
import re

import numpy as np
import pytest
import quantities as pq

import refsim
from refsim.validation.networks import COBANet

numba = pytest.importorskip("numba", reason="the test networks come from test_backends")

import test_backends as cases  # noqa: E402  (the networks of the cross-backend tests)

BACKENDS = ["numpy", "numba"]


def _every_state(model):
    """Copies of every state of every module of ``model``, by path."""
    from refsim.checkpoint import _join, _paths

    return {
        _join(where, name): value.data.copy()
        for where, node in _paths(model)
        for name, value in vars(node).items()
        if isinstance(value, refsim.State)
    }


def split_equals_straight(make, backend, tmp_path, first_ms=60.1, then_ms=40.0) -> int:
    """Run ``make()``'s network for ``first_ms`` (601 steps: no multiple of a ring's
    length, so a ring position not restored would show), save it, load the file into a network
    built again, run that for ``then_ms``; and run a third build for both spans in one
    go.  The spikes and every state must be the same bits; returns the spike count."""
    with refsim.use_backend(backend), refsim.environ.context(dt=0.1 * pq.ms):
        net, pop = make()
        first = refsim.run(net, first_ms * pq.ms, monitors={"spikes": pop}, progress=False)
        saved = refsim.save_state(net, tmp_path / "run", t=first.next_t)
        assert saved == tmp_path / "run.npz"

        net, pop = make()  # (its builder reseeds refsim.random: the file restores it)
        t = refsim.load_state(net, saved)
        assert float(t.magnitude) == pytest.approx(first_ms, rel=1e-12)
        then = refsim.run(net, then_ms * pq.ms, monitors={"spikes": pop}, t_start=t, progress=False)

        straight, straight_pop = make()
        whole = refsim.run(
            straight,
            (first_ms + then_ms) * pq.ms,
            monitors={"spikes": straight_pop},
            progress=False,
        )
    assert whole.engine == then.engine == first.engine == backend  # compiled where asked
    for part in ("steps", "indices_fired"):
        np.testing.assert_array_equal(
            getattr(whole["spikes"], part),
            np.concatenate([getattr(first["spikes"], part), getattr(then["spikes"], part)]),
        )
    a, b = _every_state(straight), _every_state(net)
    assert a.keys() == b.keys() and len(a) >= 3
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    return whole["spikes"].count


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model", cases.MODEL_NETWORKS)
def test_every_neuron_model_goes_on_from_a_checkpoint_bit_for_bit(model, backend, tmp_path):
    def make():
        return cases._model_network(*cases.MODEL_NETWORKS[model])

    assert split_equals_straight(make, backend, tmp_path) > 100


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", cases.PRE_PROJECTIONS)
def test_align_pre_synapses_and_plasticity_go_on_from_a_checkpoint(case, backend, tmp_path):
    def make():
        net, pop, _, _ = cases._pre_network(*cases.PRE_PROJECTIONS[case])
        return net, pop

    assert split_equals_straight(make, backend, tmp_path) > 100


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("delay", cases.DELAYS)
def test_spikes_in_flight_go_on_from_a_checkpoint(delay, backend, tmp_path):
    def make():
        net, pop, _ = cases._delayed_network(cases.DELAYS[delay])
        return net, pop

    # spikes sent in the last steps are still in a ring when the file is written
    assert split_equals_straight(make, backend, tmp_path) > 100


@cases.ON_HOST
@pytest.mark.parametrize("delay", ["per synapse, 0.1-3 ms", "0.25 ms (mixes steps 2 and 3)"])
def test_a_cupy_run_goes_on_from_a_checkpoint(delay, tmp_path):
    """The GPU kernels on the CPU (tests/support/host_cupy.py): a compiled run's states and rings
    come back to the model, which the file then holds."""
    import host_cupy

    def make():
        net, pop, _ = cases._delayed_network(cases.DELAYS[delay])
        return net, pop

    with host_cupy.installed():
        assert split_equals_straight(make, "cupy", tmp_path) > 100


@pytest.mark.parametrize("pair", cases.SYNAPSE_PAIRS)
def test_dual_exponential_synapses_go_on_from_a_checkpoint(pair, tmp_path):
    def make():
        net, pop, _, _ = cases._synapse_network(*cases.SYNAPSE_PAIRS[pair])
        return net, pop

    assert split_equals_straight(make, "numba", tmp_path) > 100


def _poisson_network(seed):
    """LIF neurons driven by Poisson sources through a projection and by a PoissonInput:
    with ``seed`` None both draw from refsim.random's stream, else from their own."""
    refsim.random.seed(3)
    net = refsim.Network()
    pop = net.population(
        refsim.LIF(50, tau=10 * pq.ms, V_th=-50 * pq.mV, V_reset=-60 * pq.mV, V_rest=-60 * pq.mV)
    )
    src = net.population(refsim.PoissonSpike(40, 200 * pq.Hz, seed=seed))
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(40, 50, 0.3, 2.0 * pq.mS, seed=1),
            syn=refsim.Expon.desc(50, tau=5 * pq.ms),
            out=refsim.CUBA.desc(),
            post=pop,
        ),
        pre=src,
    )
    net.poisson = refsim.PoissonInput(
        pop, 20, 100 * pq.Hz, 1.5 * pq.mV, seed=None if seed is None else seed + 1
    )
    refsim.init_all_states(net)
    return net, pop


@pytest.mark.parametrize("seed", [None, 11], ids=["refsim.random's stream", "own seeds"])
def test_random_inputs_go_on_with_the_same_draws(seed, tmp_path):
    assert split_equals_straight(lambda: _poisson_network(seed), "numpy", tmp_path) > 50


def test_an_unseeded_noise_waveform_goes_on_with_refsim_randoms_stream(tmp_path):
    """A waveform is no module of a model, but an unseeded one draws from refsim.random's
    state stream, which the file holds."""

    def make():
        refsim.random.seed(5)
        neuron = refsim.init_all_states(
            refsim.LIF(
                10, tau=10 * pq.ms, V_th=-50 * pq.mV, V_reset=-60 * pq.mV, V_rest=-60 * pq.mV
            )
        )
        noise = refsim.WienerProcessInput(40 * pq.mA, 1 * pq.s, size=10)
        return neuron, lambda: neuron(12 * pq.mA + noise())

    neuron, step = make()
    first = refsim.run(step, 30 * pq.ms, monitors={"V": neuron.V})
    path = refsim.save_state(neuron, tmp_path / "noisy", t=first.next_t)
    again, step = make()
    then = refsim.run(
        step, 20 * pq.ms, monitors={"V": again.V}, t_start=refsim.load_state(again, path)
    )
    straight, step = make()
    whole = refsim.run(step, 50 * pq.ms, monitors={"V": straight.V})
    np.testing.assert_array_equal(
        whole["V"].magnitude, np.concatenate([first["V"].magnitude, then["V"].magnitude])
    )
    assert np.ptp(then["V"].magnitude[:, 0]) > 1.0  # the noise moves the potential


def test_a_poisson_encoder_goes_on_with_the_last_rates_it_was_given(tmp_path):
    def make():
        encoder = refsim.init_all_states(refsim.PoissonEncoder(30, seed=4))

        def step():  # rates given for the first 30 ms only, then the last ones hold
            encoder.update(80 * pq.Hz if refsim.environ.get("i") < 300 else None)

        return encoder, step

    encoder, step = make()
    first = refsim.run(step, 30 * pq.ms, monitors={"spikes": encoder})
    path = refsim.save_state(encoder, tmp_path / "encoder", t=first.next_t)
    again, step = make()
    then = refsim.run(
        step, 20 * pq.ms, monitors={"spikes": again}, t_start=refsim.load_state(again, path)
    )
    straight, step = make()
    whole = refsim.run(step, 50 * pq.ms, monitors={"spikes": straight})
    assert then["spikes"].count > 10
    for part in ("steps", "indices_fired"):
        np.testing.assert_array_equal(
            getattr(whole["spikes"], part),
            np.concatenate([getattr(first["spikes"], part), getattr(then["spikes"], part)]),
        )


def test_an_input_queued_for_the_next_update_is_kept(tmp_path):
    def make():
        neuron = refsim.init_all_states(
            refsim.LIF(3, tau=10 * pq.ms, V_th=-50 * pq.mV, V_reset=-60 * pq.mV, V_rest=-60 * pq.mV)
        )
        return neuron

    neuron = make()
    neuron.add_current_input("pulse", np.array([1.0, 2.0, 3.0]) * pq.nA)  # after the run
    neuron.add_delta_input("kick", np.array([0.5, 0.0, -0.5]) * pq.mV)
    refsim.save_state(neuron, tmp_path / "queued.npz", t=0 * pq.ms)
    again = make()
    refsim.load_state(again, tmp_path / "queued.npz")
    assert list(again.current_inputs) == ["pulse"] and list(again.delta_inputs) == ["kick"]
    neuron(), again()
    np.testing.assert_array_equal(again.V.data, neuron.V.data)
    assert again.V.data[0] != again.V.data[1]  # the queued inputs did act


def test_loading_sets_the_clock_the_states_hold(tmp_path):
    """Loading a file into the model that ran on past it, and going on from the file's
    time, is no step back in time (the suite turns a ClockWarning into an error); starting
    a loaded model at 0 ms is, and warns."""
    refsim.random.seed(1)
    net = COBANet(200, 1)
    refsim.init_all_states(net)
    first = refsim.run(net, 5 * pq.ms)
    path = refsim.save_state(net, tmp_path / "at5", t=first.next_t)
    refsim.run(net, 5 * pq.ms, t_start=first.next_t)  # on to 10 ms
    t = refsim.load_state(net, path)
    assert len(refsim.run(net, 5 * pq.ms, t_start=t).t) == 50  # from 5 ms: no warning
    refsim.load_state(net, path)
    with pytest.warns(
        refsim.ClockWarning, match="stepped at t = 0 ms after it was stepped at t = 4.9 ms"
    ):
        refsim.run(net, 1 * pq.ms)


def test_the_file_says_what_it_holds(tmp_path):
    net, _, _ = cases._delayed_network(cases.DELAYS["1 ms"])
    path = refsim.save_state(net, tmp_path / "net.npz", t=12.5 * pq.ms)
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]  # written whole, then moved
    with np.load(path, allow_pickle=False) as archive:
        manifest = json.loads(str(archive["manifest"]))
        names = set(archive.files)
    assert manifest["format"] == 1 and manifest["refsim"] == refsim.__version__
    assert manifest["dt_ms"] == 0.1 and manifest["t_ms"] == 12.5
    assert manifest["states"]["populations[0].V"] == [[300], "float64"]
    ring = next(name for name in manifest["states"] if name.endswith("delay.buffer"))
    assert f"state:{ring}" in names
    assert manifest["attributes"][ring.replace("buffer", "write_index")] == 0


def test_another_model_another_dt_or_no_checkpoint_is_refused(tmp_path):
    def coba(n):
        net = COBANet(n, 1)
        refsim.init_all_states(net)
        return net

    path = refsim.save_state(coba(100), tmp_path / "coba", t=0 * pq.ms)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "populations[0].V was saved with shape (100,) and dtype float64; this model's "
            "has shape (200,) and dtype float64"
        ),
    ):
        refsim.load_state(coba(200), path)
    lif = refsim.init_all_states(refsim.LIF(100))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "holds the states of another model; this model's not in the file: V; the file's "
            "not in this model: populations[0].V, populations[0].last_spike_time, "
            "feeds[0][0].syn.g and 1 more"
        ),
    ):
        refsim.load_state(lif, path)
    with (
        refsim.environ.context(dt=0.05 * pq.ms),
        pytest.raises(ValueError, match=r"was saved at dt = 0.1 ms; dt is now 0.05 ms"),
    ):
        refsim.load_state(coba(100), path)
    (tmp_path / "not.npz").write_text("hello")
    with pytest.raises(ValueError, match="not.npz is not a readable refsim checkpoint"):
        refsim.load_state(coba(100), tmp_path / "not.npz")
    with pytest.raises(ValueError, match="has no state to save: call refsim.init_all_states"):
        refsim.save_state(COBANet(100, 1), tmp_path / "empty", t=0 * pq.ms)


def test_a_refused_file_changes_nothing(tmp_path):
    net = COBANet(100, 1)
    refsim.init_all_states(net)
    path = refsim.save_state(net, tmp_path / "coba", t=0 * pq.ms)
    other = refsim.Network()
    other.pop = refsim.LIFRef(100, V_initializer=refsim.init.Constant(-55.0 * pq.mV))
    refsim.init_all_states(other)
    with pytest.raises(ValueError):
        refsim.load_state(other, path)
    assert np.all(other.pop.V.data == -55.0)
