"""Properties that hold for every input, checked on inputs hypothesis draws.

Run deterministically (``derandomize=True``: the same examples on every run and every
machine) with a bounded number of examples each, so CI time stays fixed:

* finite parameters and inputs give finite states, or a named error (a ValueError that
  names the parameter or relation, or NumericalInstability): never a raw exception;
* numpy equals numba bit for bit on random networks;
* a leaky integrate-and-fire neuron whose steady state lies below threshold never fires;
* a checkpoint round trip equals one run;
* connectivity counts match their rule.
"""

import inspect
import re

import numpy as np
import pytest
import quantities as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import refsim

numba = pytest.importorskip("numba", reason="the compiled side of the properties")

#: the same examples everywhere, few enough for CI (each property below states its count)
_DETERMINISTIC = settings(
    derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def budget(examples: int) -> settings:
    """Deterministic settings with ``examples`` examples."""
    return settings(_DETERMINISTIC, max_examples=examples)


NEURONS = [getattr(refsim, n) for n in refsim.neurons.__all__]
#: what a refused construction may say: the parameter, or the relation, by name
NAMED = re.compile(r"parameter '\w+'|parameters must satisfy")


def _quantity_parameters(cls) -> dict:
    """The constructor parameters of ``cls`` whose defaults carry a unit (or are floats)."""
    found = {}
    for klass in reversed(cls.__mro__):
        if "__init__" not in vars(klass):
            continue
        for name, p in inspect.signature(klass).parameters.items():
            if isinstance(p.default, pq.Quantity) or type(p.default) is float:
                found[name] = p.default
    return found


@st.composite
def perturbed_model(draw):
    """A neuron class and some of its parameters scaled by factors in [-10, 10]."""
    cls = draw(st.sampled_from(NEURONS))
    params = _quantity_parameters(cls)
    names = draw(st.lists(st.sampled_from(sorted(params)), max_size=4, unique=True))
    factors = draw(
        st.lists(st.floats(-10, 10, allow_nan=False), min_size=len(names), max_size=len(names))
    )
    return cls, {n: f * params[n] for n, f in zip(names, factors, strict=True)}


@budget(300)
@given(perturbed_model(), st.floats(-100, 100, allow_nan=False))
def test_finite_parameters_and_inputs_give_finite_states_or_a_named_error(model, drive):
    cls, params = model
    try:
        neuron = refsim.init_all_states(cls(3, **params))
    except ValueError as exc:
        assert NAMED.search(str(exc)), f"{cls.__name__}({params}): {exc}"
        return
    current = drive * (neuron.input_unit if neuron.input_unit is not None else 1.0)
    try:
        with refsim.use_backend("numpy"):
            refsim.run(lambda: neuron(current), 5 * pq.ms, check_every=1)
    except refsim.NumericalInstability as exc:
        assert exc.finding.module is neuron and exc.result.n_steps == exc.finding.step + 1
        return
    for name, state in vars(neuron).items():
        if isinstance(state, refsim.State):
            assert np.all(np.isfinite(state.data)), f"{cls.__name__}.{name}: {params}"


@st.composite
def small_network(draw):
    """An E/I network of LIFRef neurons with drawn sizes, parameters, connectivity seeds
    and weights."""
    n = draw(st.integers(20, 120))
    tau = draw(st.floats(5, 30))
    V_th = draw(st.floats(-55, -45))
    gap = draw(st.floats(2, 15))
    p = draw(st.floats(0.02, 0.3))
    w_e, w_i = draw(st.floats(0.1, 5)), draw(st.floats(0.1, 20))
    drive = draw(st.floats(0, 40))
    seed = draw(st.integers(0, 2**16))
    return n, tau, V_th, gap, p, w_e, w_i, drive, seed


def _build(n, tau, V_th, gap, p, w_e, w_i, drive, seed):
    refsim.random.seed(seed)
    net = refsim.Network()
    pop = net.population(
        refsim.LIFRef(
            n,
            R=1.0 * pq.MOhm,
            tau=tau * pq.ms,
            V_th=V_th * pq.mV,
            V_reset=(V_th - gap) * pq.mV,
            V_rest=(V_th - gap) * pq.mV,
            tau_ref=2 * pq.ms,
            V_initializer=refsim.init.Uniform(V_th - gap, V_th, unit=pq.mV),
        ),
        current=drive * pq.nA,
    )
    n_e = max(1, int(0.8 * n))
    for lo, hi, w, E in ((0, n_e, w_e, 0.0), (n_e, n, w_i, -80.0)):
        if hi > lo:
            net.project(
                refsim.AlignPostProj(
                    comm=refsim.EventFixedProb(hi - lo, n, p, w * pq.nS, seed=seed + lo),
                    syn=refsim.Expon.desc(n, tau=5 * pq.ms),
                    out=refsim.COBA.desc(E=E * pq.mV),
                    post=pop,
                ),
                pop,
                lo,
                hi,
            )
    refsim.init_all_states(net)
    return net, pop


@budget(25)
@given(small_network())
def test_numpy_equals_numba_bit_for_bit_on_random_networks(drawn):
    runs = {}
    for backend in ("numpy", "numba"):
        net, pop = _build(*drawn)
        with refsim.use_backend(backend):
            res = refsim.run(net, 20 * pq.ms, monitors={"s": pop, "V": pop.V}, progress=False)
        runs[backend] = res["s"].steps, res["s"].indices_fired, res["V"].magnitude
    for a, b in zip(runs["numpy"], runs["numba"], strict=True):
        np.testing.assert_array_equal(a, b)


@budget(200)
@given(
    st.sampled_from(["LIF", "LIFRef"]),
    st.floats(1, 50),
    st.floats(-70, -40),
    st.floats(0.1, 20),
    st.floats(0, 0.999),
    st.floats(0, 0.999),
)
def test_a_lif_whose_steady_state_lies_below_threshold_never_fires(
    name, tau, V_rest, gap, start, level
):
    """With V_rest <= V(0) < V_th and a constant input whose steady state V_rest + R I is
    below V_th, the potential rises monotonically towards a value under threshold."""
    V_th = V_rest + gap
    current = level * gap  # R = 1 MOhm: R I = level * gap < gap
    neuron = refsim.init_all_states(
        getattr(refsim, name)(
            4,
            R=1 * pq.MOhm,
            tau=tau * pq.ms,
            V_rest=V_rest * pq.mV,
            V_th=V_th * pq.mV,
            V_reset=(V_rest - 5) * pq.mV,
            V_initializer=refsim.init.Constant((V_rest + start * gap) * pq.mV),
        )
    )
    res = refsim.run(lambda: neuron(current * pq.nA), 50 * pq.ms, monitors={"s": neuron})
    assert res["s"].count == 0


@budget(15)
@given(
    first=st.integers(1, 400),
    second=st.integers(1, 400),
    seed=st.integers(0, 2**16),
    backend=st.sampled_from(["numpy", "numba"]),
)
def test_a_checkpoint_round_trip_equals_one_run(tmp_path_factory, first, second, seed, backend):
    from refsim.validation.networks import COBANet

    def build():
        refsim.random.seed(seed)
        net = COBANet(200, seed % 100 + 1, 40.0)
        refsim.init_all_states(net)
        net.kick_start(seed)
        return net

    path = tmp_path_factory.mktemp("checkpoint") / "net"
    with refsim.use_backend(backend):
        net = build()
        a = refsim.run(net, first * 0.1 * pq.ms, monitors={"s": net.pop}, progress=False)
        refsim.save_state(net, path, t=a.next_t)
        net = build()
        t = refsim.load_state(net, path.with_suffix(".npz"))
        b = refsim.run(
            net, second * 0.1 * pq.ms, t_start=t, monitors={"s": net.pop}, progress=False
        )
        split = net.pop.V.data.copy(), np.concatenate([a["s"].steps, b["s"].steps])
        net = build()
        whole = refsim.run(
            net, (first + second) * 0.1 * pq.ms, monitors={"s": net.pop}, progress=False
        )
    np.testing.assert_array_equal(split[0], net.pop.V.data)
    np.testing.assert_array_equal(split[1], whole["s"].steps)


@budget(100)
@given(
    st.integers(1, 60),
    st.integers(1, 60),
    st.floats(0, 1),
    st.integers(0, 2**16),
    st.sampled_from(["float", "np.float32", "np.float64", "0-d array"]),
)
def test_connectivity_counts_match_their_rule(n_pre, n_post, p, seed, kind):
    given = {
        "float": float,
        "np.float32": np.float32,
        "np.float64": np.float64,
        "0-d array": np.array,
    }[kind](p)
    comm = refsim.EventFixedProb(n_pre, n_post, given, 1 * pq.nS, seed=seed)
    assert comm.nnz == n_pre * int(n_post * float(given))  # brainpy's out-degree, any float
    k = seed % (n_post + 1)
    out = refsim.FixedOutDegree(n_pre, n_post, k, 1 * pq.nS, seed=seed)
    assert all(len(set(row.indices)) == k for row in out.W)  # k distinct targets a row
    k = seed % (n_pre + 1)
    inn = refsim.FixedInDegree(n_pre, n_post, k, 1 * pq.nS, seed=seed)
    assert np.all(np.diff(inn.W.tocsc().indptr) == k)
    assert refsim.AllToAll(n_pre, n_post, 1 * pq.nS).nnz == n_pre * n_post
    if n_pre == n_post:
        assert refsim.AllToAll(n_pre, n_post, 1 * pq.nS, include_self=False).nnz == n_pre * (
            n_pre - 1
        )
    fixed = refsim.FixedProb(n_pre, n_post, p, 1 * pq.nS, seed=seed)
    mean, sd = n_pre * n_post * p, np.sqrt(n_pre * n_post * p * (1 - p))
    assert abs(fixed.nnz - mean) <= 6 * sd + 1  # binomial: 6 sd, one in 1e9 by chance
    rows, cols = fixed.W.nonzero()
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == fixed.nnz  # no pair twice
