import numpy as np
import pytest
import quantities as pq

import refsim
from refsim.delays import delay_steps


def _net(delay, n_pre=3):
    post = refsim.LIF(2, V_th=1000 * pq.mV)
    W = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])[:n_pre] * pq.nS
    proj = refsim.AlignPostProj(
        comm=refsim.SparseLinear(W),
        post=post,
        delay=delay,
        syn=refsim.Expon.desc(2, tau=5 * pq.ms, g_initializer=refsim.init.Constant(0 * pq.nS)),
        out=refsim.CUBA.desc(scale=1 * pq.mV),
    )
    refsim.init_all_states(proj)  # the projection holds its delay and, below it, post
    return post, proj


def _g_trace(delay, spike_steps, n_steps, split=None):
    post, proj = _net(delay)

    def step():
        i = refsim.environ.get("i")
        proj(np.array([i in spike_steps, False, False]))
        post()

    mon = {"g": proj.syn.g}
    if split is None:
        return refsim.run(step, n_steps * 0.1 * pq.ms, monitors=mon)["g"].magnitude
    first = refsim.run(step, split * 0.1 * pq.ms, monitors=mon)
    second = refsim.run(step, (n_steps - split) * 0.1 * pq.ms, monitors=mon, t_start=first.next_t)
    return np.concatenate([first["g"].magnitude, second["g"].magnitude])


@pytest.mark.parametrize("delay_ms, steps", [(0.1, 1), (1.0, 10), (2.5, 25)])
def test_a_delayed_projection_delivers_exactly_delay_over_dt_steps_later(delay_ms, steps):
    direct = _g_trace(None, {5}, 60)
    delayed = _g_trace(delay_ms * pq.ms, {5}, 60)
    np.testing.assert_array_equal(delayed[steps:], direct[:-steps])
    assert np.all(delayed[: 5 + steps] == 0) and delayed[5 + steps, 0] == 1.0


def test_spikes_in_flight_survive_consecutive_runs():
    one = _g_trace(2.0 * pq.ms, {8, 9}, 60)
    split = _g_trace(2.0 * pq.ms, {8, 9}, 60, split=12)  # both spikes in flight at the split
    np.testing.assert_array_equal(split, one)


def test_reset_clears_spikes_in_flight():
    post, proj = _net(1.0 * pq.ms)
    proj(np.array([True, True, True]))
    refsim.reset_all_states(post)
    refsim.reset_all_states(proj)
    for _ in range(15):
        proj(np.zeros(3, bool))
        post()
    assert proj.syn.g.data.max() == 0.0


def test_a_delay_needs_its_state_and_at_least_one_step():
    post = refsim.init_all_states(refsim.LIF(2))
    proj = refsim.AlignPostProj(
        comm=refsim.SparseLinear(np.eye(2) * pq.mS),
        post=post,
        syn=refsim.Expon.desc(2),
        out=refsim.CUBA.desc(),
        delay=1 * pq.ms,
    )
    with pytest.raises(RuntimeError, match="delay has no state yet"):
        proj(np.array([True, False]))
    with pytest.raises(ValueError, match=r"shorter than one step \(dt = 0.1 ms\)"):
        _net(0.05 * pq.ms)
    with pytest.raises(ValueError, match="shorter than one step"):
        delay_steps(np.array([0.2, 0.04]) * pq.ms, 0.1)


def test_per_synapse_delays_round_to_the_nearest_step_halves_up():
    d = np.array([0.1, 0.3, 0.25, 0.34, 0.36, 1.15]) * pq.ms
    np.testing.assert_array_equal(delay_steps(d, 0.1), [1, 3, 3, 3, 4, 12])


def _g_after_one_spike(proj, post, steps: int) -> np.ndarray:
    """``proj``'s synaptic g (nS) after each of ``steps`` steps, its one presynaptic neuron
    spiking in the first only."""
    g = []
    for i in range(steps):
        proj(np.array([i == 0]))
        post()
        g.append(proj.syn.g.value.rescale(pq.nS).magnitude.copy())
    return np.array(g)


def test_heterogeneous_delays_deliver_each_synapse_on_its_own_step():
    post = refsim.LIF(2, V_th=1000 * pq.mV)
    comm = refsim.SparseLinear.from_indices(1, 2, [0, 0], [0, 1], np.array([1.0, 2.0]) * pq.nS)
    proj = refsim.AlignPostProj(
        comm=comm,
        post=post,
        delay=np.array([0.3, 1.0]) * pq.ms,
        syn=refsim.Expon.desc(2, tau=5 * pq.ms, g_initializer=refsim.init.Constant(0 * pq.nS)),
        out=refsim.CUBA.desc(scale=1 * pq.mV),
    )
    refsim.init_all_states(proj)
    g = _g_after_one_spike(proj, post, 15)
    assert np.flatnonzero(g[:, 0])[0] == 3 and g[3, 0] == 1.0
    assert np.flatnonzero(g[:, 1])[0] == 10 and g[10, 1] == 2.0


def test_an_array_of_one_delay_is_a_delay_per_synapse_of_a_single_synapse():
    """An array is per synapse whatever its length (a small scaled network may draw one
    synapse between two populations); only a scalar quantity delays the projection."""
    comm = refsim.SparseLinear.from_indices(1, 2, [0], [1], np.array([2.0]) * pq.nS)
    syn = refsim.Expon.desc(2, tau=5 * pq.ms, g_initializer=refsim.init.Constant(0 * pq.nS))
    out = refsim.CUBA.desc(scale=1 * pq.mV)
    post = refsim.LIF(2, V_th=1000 * pq.mV)
    proj = refsim.AlignPostProj(
        comm=comm, post=post, delay=np.array([0.5]) * pq.ms, syn=syn, out=out
    )
    assert type(proj.delay).__name__ == "SynapticDelay"
    refsim.init_all_states(proj)
    g = _g_after_one_spike(proj, post, 8)
    assert np.flatnonzero(g[:, 1])[0] == 5 and g[5, 1] == 2.0
    many = refsim.SparseLinear.from_indices(1, 2, [0, 0], [0, 1], np.array([1.0, 2.0]) * pq.nS)
    with pytest.raises(ValueError, match="1 delays given for 2 synapses"):
        refsim.AlignPostProj(comm=many, post=post, delay=np.array([0.5]) * pq.ms, syn=syn, out=out)


def test_delay_over_dt_is_not_rounded_as_in_brainpy():
    """2.3 / 0.1 = 22.999999999999996 steps: brainpy (and refsim) leak 4e-15 of the event
    one step early; per-synapse delays round instead (see the test above)."""
    delayed = _g_trace(2.3 * pq.ms, {5}, 40)
    assert 0 < delayed[27, 0] < 1e-14 and abs(delayed[28, 0] - 1.0) < 1e-14


def test_fractional_delay_follows_brainpy_interpolation():
    direct = _g_trace(None, {5}, 40)
    delayed = _g_trace(0.25 * pq.ms, {5}, 40)  # half the event after 2 steps, half after 3
    assert delayed[7, 0] == 0.5 and direct[5, 0] == 1.0
