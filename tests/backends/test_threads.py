"""The numba loop on several threads gives the bits of one thread (and of numpy).

Each case of ``test_backends.py`` that compares a compiled network with the oracle runs
here again with every network split between two threads, however small it is
(``MIN_NEURONS_PER_THREAD = 1``); a spy checks that two threads did run.
"""

import numpy as np
import pytest
import quantities as pq

import refsim
from refsim.validation.networks import COBANet, CUBANet

numba_backend = pytest.importorskip("refsim.backends.numba", reason="the numba backend needs numba")
import test_backends as cases  # noqa: E402  (the cases and their assertions)
import test_precision as float32_cases  # noqa: E402
from test_ctrl_c import SENDS_SIGINT, stop_and_go_on  # noqa: E402

from refsim.backends.numba import driver, support  # noqa: E402


@pytest.fixture
def two_threads(monkeypatch):
    """Every compiled run on two threads; the thread counts used, for the test to check."""
    import numba

    if numba.get_num_threads() < 2 or driver.usable_cores() < 2:
        pytest.skip(
            f"needs two cores and two Numba threads (cores {driver.usable_cores()}, "
            f"NUMBA_NUM_THREADS {numba.get_num_threads()})"
        )
    monkeypatch.setattr(driver, "MIN_NEURONS_PER_THREAD", 1)
    monkeypatch.setattr(numba, "get_num_threads", lambda: 2)
    used = []
    choose = driver.threads_for

    def spy(pl):
        used.append(choose(pl))
        return used[-1]

    monkeypatch.setattr(driver, "threads_for", spy)
    return used


@pytest.mark.parametrize("model", cases.MODEL_NETWORKS)
def test_every_neuron_model_on_two_threads_equals_numpy(two_threads, model):
    cases.test_every_compiled_neuron_model_equals_numpy_bit_for_bit_in_a_network(model, "numba")
    assert two_threads == [2]


def test_a_model_declared_outside_refsim_on_two_threads_equals_numpy(two_threads):
    import test_declared_models as declared

    declared.test_a_model_defined_outside_refsim_compiles_bit_for_bit(
        declared.KickLIFRef, "numba", "soft"
    )
    assert two_threads == [2]


@pytest.mark.parametrize("model", cases.EXPLICIT_NETWORKS)
def test_explicit_methods_on_two_threads_equal_numpy(two_threads, model):
    cases.test_explicit_methods_compile_bit_for_bit(model, "rk4", "numba")
    assert two_threads == [2]


@pytest.mark.parametrize("case", cases.PRE_PROJECTIONS)
def test_align_pre_projections_on_two_threads_equal_numpy(two_threads, case):
    cases.test_align_pre_projections_compile_bit_for_bit(case, "numba")
    assert two_threads == [2]


@pytest.mark.parametrize("delay", cases.DELAYS)
def test_delayed_projections_on_two_threads_equal_numpy(two_threads, delay):
    cases.test_delayed_projections_compile_bit_for_bit_and_continue_across_runs(delay, "numba")
    assert two_threads == [2, 2]  # two continued runs


@pytest.mark.parametrize("pair", cases.SYNAPSE_PAIRS)
def test_dual_exponential_synapses_on_two_threads_equal_numpy(two_threads, pair):
    cases.test_dual_exponential_synapses_compile_bit_for_bit(pair, "numba", own=False)
    assert two_threads == [2]


@pytest.mark.parametrize("pair", cases.SYNAPSE_PAIRS)
def test_projections_with_their_own_synapse_on_two_threads(two_threads, pair):
    cases.test_dual_exponential_synapses_compile_bit_for_bit(pair, "numba", own=True)
    assert two_threads == [2]


@pytest.mark.parametrize("case", cases.PRE_PROJECTIONS)
def test_float32_align_pre_projections_on_two_threads(two_threads, case):
    float32_cases.test_float32_align_pre_projections_on_numba(case)
    assert two_threads == [2, 2, 2]  # one run, then two halves


def test_blocks_and_per_neuron_tables_on_two_threads_equal_numpy(two_threads):
    cases.test_compiled_equals_numpy_with_per_neuron_parameters_and_weights_over_blocks("numba")
    assert two_threads == [2]


def test_repeated_targets_on_two_threads_add_in_storage_order(two_threads):
    cases.test_a_row_that_repeats_a_target_adds_in_storage_order_when_compiled()
    assert two_threads == [2]


def test_spike_buffers_grow_on_two_threads(two_threads, monkeypatch):
    cases.test_spike_records_that_outgrow_their_buffers_lose_nothing(monkeypatch)
    assert two_threads == [2]


@pytest.mark.parametrize("make", [COBANet, CUBANet], ids=["COBA", "CUBA"])
@pytest.mark.parametrize("precision", [64, 32])
def test_benchmark_on_one_and_two_threads_is_the_same_run(monkeypatch, precision, make):
    """A benchmark network, 0.2 s: spikes, states and a monitor equal bit for bit (in
    float64, and in float32: float32 states rounded where written)."""
    import numba

    if numba.get_num_threads() < 2 or driver.usable_cores() < 2:
        pytest.skip("needs two cores and two Numba threads")
    results = {}
    for threads in (1, 2):
        monkeypatch.setattr(driver, "MIN_NEURONS_PER_THREAD", 10**9 if threads == 1 else 1)
        refsim.random.seed(1)
        with refsim.environ.context(precision=precision):
            net = make(4000, 1)
            refsim.init_all_states(net)
        if make is COBANet:
            net.kick_start(1)
        assert driver.threads_for(numba_backend.plan(net)) == threads
        with refsim.use_backend("numba"), refsim.environ.context(dt=0.1 * pq.ms):
            res = refsim.run(
                net,
                200 * pq.ms,
                progress=False,
                monitors={
                    "spikes": net.pop,
                    "g": refsim.StateMonitor(net.I.syn.g, indices=[3, 3999]),
                },
            )
        results[threads] = res, cases._state_of(net)
    (a, a_states), (b, b_states) = results[1], results[2]
    assert a["spikes"].count > (10000 if make is COBANet else 3000)
    assert net.pop.V.data.dtype == (np.float32 if precision == 32 else np.float64)
    assert np.array_equal(a["spikes"].steps, b["spikes"].steps)
    assert np.array_equal(a["spikes"].indices_fired, b["spikes"].indices_fired)
    assert np.array_equal(a["g"].magnitude, b["g"].magnitude)
    for x, y in zip(a_states, b_states, strict=True):
        assert np.array_equal(x, y)


@pytest.mark.parametrize("n, parts", [(4000, 2), (17, 2), (5, 3), (100003, 7)])
def test_shares_cover_every_neuron_once_on_cache_line_boundaries(n, parts):
    bounds = [support._share(n, k, parts) for k in range(parts + 1)]
    assert bounds[0] == 0 and bounds[-1] == n
    assert all(a <= b for a, b in zip(bounds, bounds[1:], strict=False))
    assert all(b % 64 == 0 for b in bounds[:-1])  # 64 flags or 8 lines of floats
    assert all(b - a <= -(-n // parts) + 64 for a, b in zip(bounds, bounds[1:], strict=False))


def test_the_arrays_the_threads_write_in_shares_start_on_a_cache_line():
    from refsim.backends import reading

    refsim.random.seed(1)
    net = COBANet(1000, 1)
    refsim.init_all_states(net)
    pl = numba_backend.plan(net)
    arrays = [
        *pl.neurons.V,
        *pl.neurons.last_spike,
        *pl.neurons.spiking,
        *pl.neurons.fired,
        *pl.rows.g,
        *pl.feeds.buffer,
    ]
    assert len(arrays) == 7 and all(a.size for a in arrays)
    assert all(a.ctypes.data % reading.CACHE_LINE == 0 for a in arrays)
    # the states are the loop's: the model reads the aligned arrays
    assert net.pop.V.data is pl.neurons.V[0]
    zeros = reading.aligned_zeros((3, 5), np.int32)
    assert zeros.shape == (3, 5) and zeros.dtype == np.int32 and not zeros.any()
    assert zeros.ctypes.data % 64 == 0 and zeros.flags.c_contiguous


def test_threads_follow_numba_the_cores_and_the_network_size(monkeypatch):
    import numba

    def planned(n):
        net = COBANet(n, 1)
        refsim.init_all_states(net)
        return numba_backend.plan(net)

    monkeypatch.setattr(numba, "get_num_threads", lambda: 8)
    pl = planned(4000)
    expected = min(8, driver.usable_cores(), 4000 // driver.MIN_NEURONS_PER_THREAD)
    assert driver.threads_for(pl) == expected
    monkeypatch.setattr(numba, "get_num_threads", lambda: 1)
    assert driver.threads_for(pl) == 1
    monkeypatch.setattr(numba, "get_num_threads", lambda: 8)
    assert driver.threads_for(planned(400)) == 1  # fewer than 1000 neurons a thread


@SENDS_SIGINT
def test_ctrl_c_stops_a_run_on_two_threads_before_one_step_and_it_goes_on_bit_for_bit(
    two_threads, python_handles_ctrl_c
):
    # the loop runs in worker threads while the main thread waits where a signal reaches
    # it; part 0 decides to stop before a barrier, so every part stops before one step
    with refsim.use_backend("numba"):
        stop_and_go_on(n=1000)
    assert two_threads == [2, 2, 2, 2]  # every run on two threads


def test_jumps_and_poisson_draws_on_two_threads_equal_numpy(two_threads):
    """A Brunel network (DeltaProj with delays, PoissonInput): each thread draws its own
    share of the neurons from the counter-based generator, the same numbers."""
    import test_jumps

    test_jumps.brunel_bit_for_bit("numba")
    assert two_threads == [2]
