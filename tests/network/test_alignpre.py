"""AlignPreProj has no golden traces (brainpy's own path fails to run): pin it two ways."""

import numpy as np
import quantities as pq

import refsim


def _post(n=6):
    return refsim.LIF(
        n,
        R=100 * pq.MOhm,
        tau=10 * pq.ms,
        V_th=-50 * pq.mV,
        V_reset=-65 * pq.mV,
        V_rest=-65 * pq.mV,
        V_initializer=refsim.init.Constant(-65 * pq.mV),
    )


def _spikes(n_steps=400, n_pre=8, seed=0):
    return np.random.default_rng(seed).random((n_steps, n_pre)) < 0.05


def test_with_a_linear_synapse_align_pre_equals_align_post():
    spikes = _spikes()
    comm_args = (8, 6, 3, 2.0 * pq.nS)
    traces = []
    for kind in ("post", "pre"):
        post = _post()
        comm = refsim.FixedOutDegree(*comm_args, seed=4)
        if kind == "post":
            proj = refsim.AlignPostProj(
                comm=comm,
                post=post,
                out=refsim.COBA.desc(E=0 * pq.mV),
                syn=refsim.Expon.desc(6, tau=5 * pq.ms),
            )
        else:  # the weights carry the unit: the pre-side synapse counts events (a pure number)
            proj = refsim.AlignPreProj(
                comm=comm,
                post=post,
                out=refsim.COBA(E=0 * pq.mV),
                syn=refsim.Expon.desc(8, tau=5 * pq.ms, g_initializer=refsim.init.Constant(0.0)),
            )
        refsim.init_all_states(proj)
        V = []
        for s in spikes:
            proj(s)
            post(0.1 * pq.nA)
            V.append(post.V.data.copy())
        traces.append(np.array(V))
    assert np.ptp(traces[0]) > 5  # the synapses move the potential by millivolts
    # tolerance: the same sums in another order (g_pre @ W vs summed jumps), a few ulp
    np.testing.assert_allclose(traces[1], traces[0], rtol=0, atol=1e-12 * 70)


def test_with_ampa_align_pre_equals_a_direct_per_synapse_reference():
    """Reference: one AMPA state per presynaptic neuron, a dense weight matrix, COBA by hand."""
    spikes = _spikes(n_steps=300, n_pre=5, seed=2)
    rng = np.random.default_rng(7)
    W = rng.random((5, 4)) * (rng.random((5, 4)) < 0.6)  # unitless fractions
    post = _post(4)
    proj = refsim.AlignPreProj(
        comm=refsim.SparseLinear(W),
        post=post,
        syn=refsim.AMPA.desc(5, g_initializer=refsim.init.Constant(0 * pq.nS)),
        out=refsim.COBA(E=0 * pq.mV),
    )
    refsim.init_all_states(proj)
    dt, tau, R, V_rest = 0.1, 10.0, 100.0, -65.0
    alpha, beta, T, T_dur = 0.98, 0.18, 0.5, 0.5
    g = np.zeros(5)
    arrival = np.full(5, -1e7)
    V = np.full(4, V_rest)
    for k, s in enumerate(spikes):
        t = k * dt
        with refsim.environ.context(t=t * pq.ms, i=k):
            proj(s)
            post()
        # the reference, written out: AMPA per presynaptic neuron (g in nS, saturating at 1)
        arrival = np.where(s, t, arrival)
        TT = np.where(t - arrival < T_dur, T, 0.0)
        J = -alpha * TT - beta
        g = g + dt * refsim.integrators.exprel(dt * J) * (alpha * TT * (1.0 - g) - beta * g)
        g_post = g @ W * 1e-3  # nS -> uS
        spike = (V - (-50.0)) / (-50.0 - (-65.0)) >= 0
        V = np.where(spike, V - 15.0, V)
        drift = (-(V - V_rest) + R * g_post * (0.0 - V)) / tau
        Jv = (-1.0 - R * g_post) / tau
        V = V + dt * refsim.integrators.exprel(dt * Jv) * drift
        # tolerance: identical operations; 1e-12 mV leaves room for summation order
        np.testing.assert_allclose(post.V.data, V, rtol=0, atol=1e-12 * 65)
    np.testing.assert_allclose(proj.syn.g.value.rescale(pq.nS).magnitude, g, rtol=1e-12)
    assert V.max() > V_rest + 0.5  # AMPA moved the potential


def test_align_pre_sizes_and_units():
    post = _post(4)
    import pytest

    with pytest.raises(ValueError, match="synapse AMPA has size 3 but comm's input has size 5"):
        refsim.AlignPreProj(
            comm=refsim.SparseLinear(np.ones((5, 4))),
            post=post,
            syn=refsim.AMPA(3),
            out=refsim.COBA(E=0 * pq.mV),
        )
    with pytest.raises(refsim.UnitError, match="COBA needs a conductance"):
        refsim.AlignPreProj(
            comm=refsim.SparseLinear(np.ones((5, 4)) * pq.mV),
            post=post,
            syn=refsim.AMPA(5),
            out=refsim.COBA(E=0 * pq.mV),
        )


def test_stp_scales_the_events_of_a_linear_pre_synapse():
    post = _post(1)
    stp = refsim.STD(1, tau=200 * pq.ms, U=0.5)
    proj = refsim.AlignPreProj(
        comm=refsim.SparseLinear(np.ones((1, 1)) * pq.nS),
        post=post,
        syn=refsim.Expon.desc(1, tau=5 * pq.ms, g_initializer=refsim.init.Constant(0.0)),
        out=refsim.COBA(E=0 * pq.mV),
        stp=stp,
    )
    refsim.init_all_states(proj)
    refsim.init_all_states(stp)
    jumps = []
    for _ in range(3):
        before = proj.syn.g.data.copy() * np.exp(-0.1 / 5)
        proj(np.array([True]))
        post()
        jumps.append(float(proj.syn.g.data[0] - before[0]))
    # releases 1, then about 0.5, then about 0.25 of the resources
    assert jumps[0] == 1.0 and 0.45 < jumps[1] < 0.55 and 0.2 < jumps[2] < 0.3
