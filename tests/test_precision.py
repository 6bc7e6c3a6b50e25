"""float32 (``refsim.environ.set(precision=32)``): what it builds, and the float32 table."""

import warnings

import numpy as np
import pytest
import quantities as pq

import refsim
from refsim import fmath
from refsim.connectivity import event_csr_propagate
from refsim.validation import run_case, select
from refsim.validation.precision import FLOAT32_TABLE, tolerance_row

FLOAT32 = select("float32/*")


@pytest.mark.parametrize("case", FLOAT32, ids=[c.name for c in FLOAT32])
def test_float32_case(case):
    result = run_case(case)
    assert result.metrics
    for m in result.metrics:
        assert m.error <= m.tolerance, f"{m.quantity}: {m.error} > {m.tolerance}"


def test_every_golden_neuron_and_synapse_case_has_a_float32_case_and_a_table_row():
    golden = {c.name.split("/", 1)[1] for c in select("golden/*")
              if c.name.startswith(("golden/neuron_", "golden/syn_"))}
    float32 = {c.name.split("/", 1)[1] for c in FLOAT32}
    assert len(golden) >= 80
    assert golden <= float32
    models = {name.split("_")[1] for name in golden if name.startswith("neuron_")}
    for model in models:
        one_step, V_mV, why = tolerance_row(model)
        assert 0 < one_step <= 3e-5 and 0 < V_mV <= 5e-2 and why
    assert sum(len(classes) for classes, *_ in FLOAT32_TABLE) == len(
        {c for classes, *_ in FLOAT32_TABLE for c in classes})  # no model in two rows


@pytest.mark.parametrize("bad", [16, 128, "32", True, 32.5])
def test_precision_accepts_32_and_64_only(bad):
    with pytest.raises(ValueError, match=r"precision must be one of \[32, 64\].*got"):
        refsim.environ.set(precision=bad)
    assert refsim.environ.dftype() is np.float64  # unchanged


def test_precision_is_float64_by_default_and_scoped_by_context():
    assert refsim.environ.dftype() is np.float64
    with refsim.environ.context(precision=32):
        assert refsim.environ.dftype() is np.float32
        n = refsim.init_all_states(refsim.LIFRef(3, tau_ref=2 * pq.ms))
    assert refsim.environ.dftype() is np.float64
    assert n.V.data.dtype == np.float32 and n.tau.dtype == np.float32
    # times compared with the clock stay float64 (a float32 spike time at 1000 s is off
    # by 0.06 ms; a float32 tau_ref moves the end of the refractory period by a step)
    assert n.last_spike_time.data.dtype == np.float64 and n.tau_ref.dtype == np.float64
    n.V.value = -55.0 * pq.mV  # assigning keeps the state's precision
    assert n.V.data.dtype == np.float32 and n.V.data[0] == np.float32(-55.0)


def test_float32_steps_stay_float32_and_round_each_step():
    with refsim.environ.context(precision=32):
        n = refsim.init_all_states(refsim.LIF(2, tau=10 * pq.ms, V_th=-50 * pq.mV,
                                              V_reset=-60 * pq.mV, V_rest=-60 * pq.mV))
        with refsim.environ.context(t=0 * pq.ms):
            spikes = n(np.array([3.0, 30.0]) * pq.mA)
    with refsim.environ.context(t=0 * pq.ms):
        n64 = refsim.init_all_states(refsim.LIF(2, tau=10 * pq.ms, V_th=-50 * pq.mV,
                                                V_reset=-60 * pq.mV, V_rest=-60 * pq.mV))
        n64(np.array([3.0, 30.0]) * pq.mA)
    assert n.V.data.dtype == np.float32 and spikes.dtype == np.float32
    # one step from exactly representable values: float32 within a few roundings of float64
    np.testing.assert_allclose(n.V.data, n64.V.data, rtol=4 * 2.0**-24, atol=0)
    assert not np.array_equal(n.V.data.astype(np.float64), n64.V.data)  # really float32


def test_float32_elementary_functions_are_the_float64_ones_rounded_once():
    x = np.linspace(-30.0, 30.0, 10001).astype(np.float32)
    for f in (fmath.exp, fmath.exprel, fmath.tanh, fmath.cosh):
        out = f(x)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, f(x.astype(np.float64)).astype(np.float32))
    assert fmath.exp(np.float64(1.0)).dtype == np.float64


def test_float32_weights_and_synaptic_sums():
    with refsim.environ.context(precision=32):
        comm = refsim.EventFixedProb(50, 40, 10, 0.1 * pq.mS, seed=3)
    assert comm.W.dtype == np.float32
    spikes = (np.arange(50) % 3 == 0).astype(np.float32)
    out = event_csr_propagate(comm.W, spikes)
    assert out.dtype == np.float32
    W64 = comm.W.astype(np.float64)  # the sum runs in float64, rounded once
    np.testing.assert_array_equal(out, (spikes.astype(np.float64) @ W64.toarray())
                                  .astype(np.float32))


def test_a_float32_network_runs_the_numpy_code_on_numba_and_says_why():
    pytest.importorskip("numba", reason="the numba backend needs numba")
    with refsim.environ.context(precision=32):
        pop = refsim.init_all_states(refsim.LIF(10, tau=10 * pq.ms, V_th=-50 * pq.mV,
                                                V_reset=-60 * pq.mV, V_rest=-60 * pq.mV))
        net = refsim.Network()
        net.population(pop)
        net.currents[0] = 20 * pq.mA
        with refsim.use_backend("numba"), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = refsim.run(net, 5 * pq.ms, monitors={"V": pop.V}, progress=False)
    messages = [str(w.message) for w in caught
                if issubclass(w.category, refsim.backends.BackendFallbackWarning)]
    assert len(messages) == 1
    assert "is float32 (precision=32): the compiled loops are float64 only" in messages[0]
    assert res.engine.startswith("numpy")
    assert pop.V.data.dtype == np.float32
    assert res["V"].shape == (50, 10)


def test_the_docs_table_is_the_code_table():
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "docs" / "precision.md").read_text()
    for classes, one_step, V_mV, why in FLOAT32_TABLE:
        def sci(x):
            return f"{x:.0e}".replace("e-0", "e-")
        row = f"| {', '.join(classes)} | {sci(one_step)} | {sci(V_mV)} | {why} |"
        assert row in text, row


def test_the_precision_is_the_one_a_model_was_built_in():
    # built in float32; states made, inputs given and steps taken outside the context
    with refsim.environ.context(precision=32):
        neuron = refsim.LIFRef(3, tau_ref=2 * pq.ms, V_th=-50 * pq.mV, V_reset=-60 * pq.mV,
                               V_rest=-60 * pq.mV, ref_var=True)
        stp = refsim.STP(3)
    assert neuron.dtype == np.float32 and refsim.LIF(1).dtype == np.float64
    refsim.init_all_states(neuron)
    refsim.init_all_states(stp)
    for step in range(30):
        with refsim.environ.context(t=step * 0.1 * pq.ms):
            spikes = neuron(40 * pq.mA)
            stp(spikes)
    assert spikes.dtype == np.float32 and neuron.get_spike().dtype == np.float32
    for state in (neuron.V, neuron.refractory, stp.u, stp.x):
        assert state.data.dtype == np.float32, state
    assert neuron.last_spike_time.data.dtype == np.float64  # as the clock
    assert float(neuron.last_spike_time.data.max()) > 0  # it did fire
