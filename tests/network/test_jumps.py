"""Jumps of the potential compile: DeltaProj (undelayed, one delay, a delay per synapse)
and PoissonInput (drawn from refsim.philox, the same numbers on every backend) add to a
population's stepped potential in the oracle's order, bit for bit on numpy and numba;
on the cupy kernels (run on the host); onto every model of the catalog that takes them and
onto a model that declares its twins and takes_jumps=True."""

import warnings

import host_cupy
import numpy as np
import pytest
import quantities as pq

import refsim
from refsim.backends import BackendFallbackWarning

pytest.importorskip("numba", reason="the compiled side of the comparison")


def brunel(N_E=400, seed=3):
    """A small Brunel (2000) network: LIFRef, excitatory DeltaProj with one delay,
    inhibitory with a delay per synapse, an undelayed one, two PoissonInputs."""
    C_E, C_I, N = N_E // 10, N_E // 40, N_E + N_E // 4
    refsim.random.seed(seed)
    net = refsim.Network()
    pop = net.population(
        refsim.LIFRef(
            N,
            tau=20 * pq.ms,
            tau_ref=2 * pq.ms,
            V_th=20 * pq.mV,
            V_reset=10 * pq.mV,
            spk_reset="hard",
            V_initializer=refsim.init.Uniform(0.0, 20.0, unit=pq.mV),
        )
    )
    exc = refsim.FixedInDegree(N_E, N, C_E, 0.2 * pq.mV, seed=seed)
    net.project(refsim.DeltaProj(comm=exc, post=pop, delay=1.5 * pq.ms), pop, 0, N_E)
    inh = refsim.FixedInDegree(N - N_E, N, C_I, -1.0 * pq.mV, seed=seed + 1)
    delays = refsim.random.default_rng().uniform(0.5, 2.0, inh.W.nnz) * pq.ms
    net.project(refsim.DeltaProj(comm=inh, post=pop, delay=delays), pop, N_E, N)
    fast = refsim.EventFixedProb(N, N, 0.02, 0.05 * pq.mV, seed=seed + 2)
    net.project(refsim.DeltaProj(comm=fast, post=pop), pop)
    net.drive = refsim.PoissonInput(pop, C_E, 250 * pq.Hz, 0.2 * pq.mV, seed=seed + 3)
    net.noise = refsim.PoissonInput(pop, 100, 50 * pq.Hz, -0.05 * pq.mV)  # refsim.random key
    refsim.init_all_states(net)
    return net, pop


def _run(build, backend, duration=150 * pq.ms):
    with host_cupy.backend(backend), refsim.environ.context(dt=0.1 * pq.ms):
        net, pop = build()
        with warnings.catch_warnings():
            warnings.simplefilter("error", BackendFallbackWarning)  # compiled, or it fails
            res = refsim.run(net, duration, monitors={"spikes": pop, "V": pop.V}, progress=False)
    return res, net, pop


def _same(a, b):
    np.testing.assert_array_equal(a["spikes"].steps, b["spikes"].steps)
    np.testing.assert_array_equal(a["spikes"].indices_fired, b["spikes"].indices_fired)
    np.testing.assert_array_equal(np.asarray(a["V"]), np.asarray(b["V"]))


@pytest.mark.parametrize("backend", ["numba", host_cupy.ON_THE_HOST])
def test_a_brunel_network_compiles_bit_for_bit(backend):
    brunel_bit_for_bit(backend)


def brunel_bit_for_bit(backend):
    """The Brunel network on ``backend`` against numpy: spikes, V, draws counted."""
    (oracle, _, o_pop), (compiled, net, pop) = _run(brunel, "numpy"), _run(brunel, backend)
    assert compiled.engine == backend.split("-")[0]
    assert oracle["spikes"].count > 500  # active: the jumps move spikes
    _same(compiled, oracle)
    np.testing.assert_array_equal(pop.V.data, o_pop.V.data)
    assert net.drive._draws == net.noise._draws == 1500  # each step drew once


def test_the_draws_go_on_from_one_run_to_the_next_across_backends():
    """Half on numba then half on numpy (and the reverse) draws what one numpy run draws."""
    with refsim.environ.context(dt=0.1 * pq.ms):
        net, pop = brunel()
        whole = refsim.run(net, 100 * pq.ms, monitors={"spikes": pop}, progress=False)
        for first, then in (("numba", "numpy"), ("numpy", "numba")):
            net, pop = brunel()
            steps, t_start = [], 0 * pq.ms
            for backend in (first, then):
                with refsim.use_backend(backend), warnings.catch_warnings():
                    warnings.simplefilter("error", BackendFallbackWarning)
                    res = refsim.run(
                        net, 50 * pq.ms, monitors={"spikes": pop}, t_start=t_start, progress=False
                    )
                steps.append(res["spikes"].steps)
                t_start = res.next_t
            assert net.drive._draws == 1000
            np.testing.assert_array_equal(np.concatenate(steps), whole["spikes"].steps)


def _jumped(model, current=2.0 * pq.nA, jump=1.0 * pq.mV):
    def build():
        refsim.random.seed(5)
        net = refsim.Network()
        pop = net.population(model(), current=current)
        net.project(
            refsim.DeltaProj(
                comm=refsim.EventFixedProb(60, 60, 0.2, 0.5 * jump, seed=1),
                post=pop,
                delay=1.0 * pq.ms,
            ),
            pop,
        )
        net.drive = refsim.PoissonInput(pop, 50, 200 * pq.Hz, 0.4 * jump, seed=2)
        # p = 0.095 a step: 2000 trials drawn in 12 chunks of at most 16 expected successes
        net.many = refsim.PoissonInput(pop, 2000, 1000 * pq.Hz, -0.002 * jump, seed=3)
        refsim.init_all_states(net)
        return net, pop

    return build


def _lif(cls, **kw):
    return lambda: cls(60, tau=10 * pq.ms, V_th=-50 * pq.mV, V_rest=-65 * pq.mV, **kw)


JUMPING_MODELS = {
    "LIF": _lif(refsim.LIF, V_reset=-65 * pq.mV),
    "LIFRef": _lif(refsim.LIFRef, V_reset=-65 * pq.mV, tau_ref=2 * pq.ms),
    "ALIF": _lif(refsim.ALIF, V_reset=-65 * pq.mV, beta=2 * pq.mV),
    "ExpIFRef": lambda: refsim.ExpIFRef(60, tau_ref=2 * pq.ms),
    "QuaIF": lambda: refsim.QuaIF(60),
    "IF": lambda: refsim.IF(60, tau=10 * pq.ms, V_th=15 * pq.mV),
    "GifRef": lambda: refsim.GifRef(60, tau_ref=2 * pq.ms),
    "HH": lambda: refsim.HH(60),
    "FitzHughNagumo": (lambda: refsim.FitzHughNagumo(60), 0.5 * pq.dimensionless, 0.05),
    "AdExIF rk2": lambda: refsim.AdExIF(60, method="rk2"),
    # by exponential Euler the second state steps again with the jumped potential
    "AdExIFRef": lambda: refsim.AdExIFRef(60, tau_ref=2 * pq.ms, b=0.1 * pq.mA),
    "AdQuaIF": lambda: refsim.AdQuaIF(60),
    "Izhikevich": (lambda: refsim.Izhikevich(60), 10 * pq.mV / pq.ms, 1.0 * pq.mV),
    "Izhikevich euler": (
        lambda: refsim.Izhikevich(60, method="euler"),
        10 * pq.mV / pq.ms,
        1.0 * pq.mV,
    ),
    # their jumps go to the synapse's g (a current; a conductance), between its decay and
    # the membrane's step
    "CubaLIF": (lambda: refsim.CubaLIF(60, V_th=15 * pq.mV), 10 * pq.mA, 5.0 * pq.mA),
    "CobaLIF": (
        lambda: refsim.CobaLIF(60, V_th=15 * pq.mV, E=60 * pq.mV),
        10 * pq.mA,
        0.1 * pq.S,
    ),
    # a model declaring its twins (refsim.NeuronTwins(..., takes_jumps=True)): the loops
    # add the jumps between its step and the rest
    "TraubHH (declared)": lambda: _traub(60, V_initializer=-65.0 * pq.mV),
}


def _traub(*args, **kwargs):
    from refsim.validation.networks import TraubHH

    return TraubHH(*args, **kwargs)


def _case(name):
    """(model, direct input, jump unit) of a case of :data:`JUMPING_MODELS`."""
    case = JUMPING_MODELS[name]
    return case if isinstance(case, tuple) else (case, 2.0 * pq.nA, 1.0 * pq.mV)


@pytest.mark.parametrize("backend", ["numba", host_cupy.ON_THE_HOST])
@pytest.mark.parametrize("name", JUMPING_MODELS)
def test_every_model_that_takes_jumps_compiles_them_bit_for_bit(name, backend):
    model, current, jump = _case(name)
    build = _jumped(model, current, jump)
    (oracle, _, _), (compiled, _, _) = (
        _run(build, "numpy", 60 * pq.ms),
        _run(build, backend, 60 * pq.ms),
    )
    assert compiled.engine == backend.split("-")[0]
    _same(compiled, oracle)
    # the jumps matter: without them the trace differs
    with refsim.use_backend("numpy"), refsim.environ.context(dt=0.1 * pq.ms):
        refsim.random.seed(5)
        net = refsim.Network()
        pop = net.population(model(), current=current)
        refsim.init_all_states(net)
        alone = refsim.run(net, 60 * pq.ms, monitors={"V": pop.V}, progress=False)
    assert not np.array_equal(np.asarray(alone["V"]), np.asarray(oracle["V"]))


@pytest.mark.skipif(host_cupy.COMPILER is None, reason="no host C++ compiler (g++)")
def test_float32_jumps_are_the_same_on_numba_and_the_kernels():
    """In a float32 network each jump's sum is rounded as a float32 state is: the same
    bits on both compiled backends (the oracle rounds every operation, docs/precision.md)."""
    with refsim.environ.context(precision=32):
        (numba_run, _, _), (kernels, _, _) = _run(brunel, "numba"), _run(brunel, "cupy-host")
    assert numba_run.engine == "numba" and kernels.engine == "cupy"
    assert numba_run["spikes"].count > 500
    _same(numba_run, kernels)


def poisson_onto_synapses(n=300, seed=5):
    """PoissonInputs aimed at synapses, not potentials: two onto a merged Expon current
    that two projections (one delayed per synapse) also feed, one onto a DualExpon current
    that nothing else feeds, one onto each of two synapses that their projections step
    themselves (an Expon and a DualExpon conductance: there the input comes before the
    projection's events); and one onto the potential."""
    refsim.random.seed(seed)  # (the key of the input given no seed)
    net = refsim.Network()
    pop = net.population(
        refsim.LIFRef(
            n,
            R=40.0 * pq.MOhm,
            tau=10 * pq.ms,
            tau_ref=2 * pq.ms,
            V_rest=-65 * pq.mV,
            V_th=-50 * pq.mV,
            V_reset=-65 * pq.mV,
            spk_reset="hard",
            V_initializer=refsim.init.Uniform(-65.0, -50.0, unit=pq.mV, seed=seed),
        )
    )
    zero = refsim.init.Constant(0.0 * pq.pA)
    current = refsim.Expon.desc(n, tau=0.5 * pq.ms, g_initializer=zero)
    slow = refsim.DualExpon.desc(n, tau_rise=1 * pq.ms, tau_decay=5 * pq.ms, g_initializer=zero)
    exc = refsim.FixedTotalNumber(n, n, 10 * n, 80.0 * pq.pA, seed=seed)
    delays = np.random.default_rng(seed).uniform(0.1, 3.0, exc.nnz) * pq.ms
    inh = refsim.FixedTotalNumber(n, n, 5 * n, -300.0 * pq.pA, seed=seed + 1)
    own = refsim.Expon(n, tau=5 * pq.ms)
    own_slow = refsim.DualExpon(n, tau_rise=1 * pq.ms, tau_decay=8 * pq.ms)
    projections = [
        refsim.AlignPostProj(
            comm=exc, syn=current, out=refsim.CUBA.desc(scale=1.0), post=pop, delay=delays
        ),
        refsim.AlignPostProj(comm=inh, syn=current, out=refsim.CUBA.desc(scale=1.0), post=pop),
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(n, n, 0.02, 0.0 * pq.pA, seed=seed + 2),
            syn=slow,
            out=refsim.CUBA.desc(scale=1.0),
            post=pop,
        ),
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(n, n, 0.02, 0.5 * pq.nS, seed=seed + 3),
            syn=own,
            out=refsim.COBA(E=0 * pq.mV),
            post=pop,
        ),
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(n, n, 0.02, 0.2 * pq.nS, seed=seed + 8),
            syn=own_slow,
            out=refsim.COBA(E=-80 * pq.mV),
            post=pop,
        ),
    ]
    for proj in projections:
        net.project(proj, pop)
    net.drives = [
        refsim.PoissonInput(projections[0].syn, 1200, 8 * pq.Hz, 90.0 * pq.pA, seed=seed + 4),
        refsim.PoissonInput(projections[0].syn, 40, 8 * pq.Hz, -90.0 * pq.pA),  # random key
        refsim.PoissonInput(projections[2].syn, 50, 10 * pq.Hz, 40.0 * pq.pA, seed=seed + 5),
        refsim.PoissonInput(pop, 20, 10 * pq.Hz, 0.2 * pq.mV, seed=seed + 7),
        refsim.PoissonInput(own, 30, 5 * pq.Hz, 0.5 * pq.nS, seed=seed + 6),
        refsim.PoissonInput(own_slow, 30, 5 * pq.Hz, 0.3 * pq.nS, seed=seed + 9),
    ]
    refsim.init_all_states(net)
    return net, pop


@pytest.mark.parametrize("backend", ["numba", host_cupy.ON_THE_HOST])
def test_poisson_inputs_aimed_at_synapses_compile_bit_for_bit(backend):
    """Each adds to its synapse as its update does: a merged one after the projections'
    events (``sum_delta_inputs``), one its projection steps before them (``step(x)``)."""
    (oracle, o_net, _), (compiled, net, _) = (
        _run(poisson_onto_synapses, "numpy"),
        _run(poisson_onto_synapses, backend),
    )
    assert compiled.engine == backend.split("-")[0]
    assert oracle["spikes"].count > 1000  # active: the synaptic drives fire it
    _same(compiled, oracle)
    for proj, o_proj in zip(net.feeds, o_net.feeds, strict=True):
        for name in ("g", "g_rise", "g_decay"):
            if hasattr(proj[0].syn, name):
                a, b = getattr(proj[0].syn, name).data, getattr(o_proj[0].syn, name).data
                assert np.count_nonzero(a) > 0 and np.array_equal(a, b)
    assert [d._draws for d in net.drives] == [1500] * 6


def test_a_poisson_input_aimed_at_an_align_pre_synapse_still_says_it_does_not_compile():
    net = refsim.Network()
    pop = net.population(refsim.LIF(10), current=2 * pq.mA)
    proj = refsim.AlignPreProj(
        syn=refsim.Expon(10, tau=5 * pq.ms),
        comm=refsim.EventFixedProb(10, 10, 0.5, 1.0, seed=1),
        out=refsim.COBA(E=0 * pq.mV),
        post=pop,
    )
    net.project(proj, pop)
    refsim.PoissonInput(proj.syn, 10, 10 * pq.Hz, 1.0 * pq.mS, seed=1)
    refsim.init_all_states(net)
    with (
        refsim.use_backend("numba"),
        pytest.warns(
            BackendFallbackWarning,
            match=r"Expon\d*: its update \('PoissonInput', 'PoissonInput\d+'\)",
        ),
    ):
        res = refsim.run(net, 2 * pq.ms, progress=False)
    assert res.engine.startswith("numpy (numba could not compile")
