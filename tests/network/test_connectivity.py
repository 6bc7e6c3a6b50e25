import re

import numpy as np
import pytest
import quantities as pq
import scipy.sparse as sp

import refsim
from refsim.connectivity import event_csr_propagate


def test_fixed_prob_draws_brainpys_targets_with_replacement():
    comm = refsim.EventFixedProb(40, 100, 0.1, 0.5 * pq.mS, seed=3)
    expected = np.random.RandomState(3).randint(0, 100, (40, 10))
    assert comm.conn_num == 10  # int(100 * 0.1) targets per presynaptic neuron
    np.testing.assert_array_equal(comm.W.indices.reshape(40, 10), expected)
    np.testing.assert_array_equal(np.diff(comm.W.indptr), 10)
    np.testing.assert_array_equal(comm.W.data, 500.0)  # 0.5 mS in internal uS
    assert comm.weight_unit == pq.mS


def test_seed_none_uses_the_connectivity_stream_like_np_random_seed():
    refsim.random.seed(0)
    a = refsim.EventFixedProb(400, 500, 0.1, 1 * pq.mS)
    b = refsim.EventFixedProb(100, 500, 0.1, 1 * pq.mS)
    legacy = np.random.RandomState(0)  # what np.random.seed(0) sets up in brainpy's scripts
    np.testing.assert_array_equal(a.W.indices.reshape(400, 50), legacy.randint(0, 500, (400, 50)))
    np.testing.assert_array_equal(b.W.indices.reshape(100, 50), legacy.randint(0, 500, (100, 50)))


def test_integer_conn_num_is_the_out_degree_and_weights_may_be_an_initializer():
    comm = refsim.EventFixedProb(5, 20, 7, refsim.init.Normal(1.0, 0.1, unit=pq.nS, seed=1))
    assert comm.nnz == 35
    assert comm.W.data.std() > 0
    with pytest.raises(
        ValueError,
        match=re.escape("conn_num (a probability) must be a probability in [0, 1], got 1.5"),
    ):
        refsim.EventFixedProb(5, 20, 1.5, 1 * pq.nS)


def test_event_propagation_equals_the_dense_product():
    rng = np.random.default_rng(0)
    dense = rng.random((30, 12)) * (rng.random((30, 12)) < 0.3)
    W = sp.csr_matrix(dense)
    spikes = rng.random(30) < 0.4
    np.testing.assert_allclose(event_csr_propagate(W, spikes), spikes @ dense, rtol=1e-14)
    values = rng.random(30) * spikes  # float inputs multiply the weights
    np.testing.assert_allclose(event_csr_propagate(W, values), values @ dense, rtol=1e-14)
    np.testing.assert_array_equal(event_csr_propagate(W, np.zeros(30, bool)), np.zeros(12))


def test_duplicate_targets_add():
    comm = refsim.SparseLinear(
        sp.csr_matrix(([1.0, 2.0], [3, 3], [0, 2]), shape=(1, 5)), unit=pq.nS
    )
    out = comm(np.array([True]))
    assert out.units == pq.nS
    np.testing.assert_array_equal(out.magnitude, [0, 0, 0, 3.0, 0])


def test_sparse_linear_from_a_dense_quantity_and_wrong_input_size():
    comm = refsim.SparseLinear(np.array([[0.0, 2.0], [1.0, 0.0], [0.0, 0.0]]) * pq.mV)
    assert (comm.n_pre, comm.n_post, comm.nnz) == (3, 2, 2)
    np.testing.assert_array_equal(comm(np.array([1, 1, 0])).magnitude, [1.0, 2.0])
    with pytest.raises(
        ValueError,
        match=r"expects 3 presynaptic values, got an array of shape "
        r"\(4,\)",
    ):
        comm(np.zeros(4))


def test_linear_is_a_dense_product_with_optional_bias():
    W = np.array([[0.2, 0.0], [0.1, 0.3], [0.0, 0.15]])
    comm = refsim.Linear(3, 2, w_init=W * pq.mS, b_init=0.01 * pq.mS)
    out = comm(np.array([1.0, 0.0, 1.0]))
    np.testing.assert_allclose(out.rescale(pq.mS).magnitude, [0.21, 0.16], rtol=1e-14)


def test_fixed_prob_draws_about_p_n_pre_n_post_distinct_pairs():
    comm = refsim.FixedProb(500, 400, 0.05, 1 * pq.nS, allow_self=False, seed=2)
    n = 500 * 400
    assert abs(comm.nnz - 0.05 * n) <= 2.576 * np.sqrt(n * 0.05 * 0.95)  # 99% interval
    W = comm.W.tocoo()
    assert len(set(zip(W.row, W.col, strict=True))) == comm.nnz  # no repeated pair
    square = refsim.FixedProb(300, 300, 0.2, 1 * pq.nS, allow_self=False, seed=1)
    assert square.W.diagonal().max() == 0


def test_fixed_in_and_out_degrees_are_exact_and_distinct():
    out = refsim.FixedOutDegree(50, 30, 12, 1 * pq.nS, seed=0)
    np.testing.assert_array_equal(np.diff(out.W.indptr), 12)
    for i in range(50):
        row = out.W.indices[out.W.indptr[i] : out.W.indptr[i + 1]]
        assert len(set(row)) == 12
    inn = refsim.FixedInDegree(30, 50, 12, refsim.init.Uniform(1, 2, unit=pq.nS, seed=3), seed=0)
    np.testing.assert_array_equal(np.bincount(inn.W.indices, minlength=50), 12)
    assert inn.W.tocsc().indices.size == 600
    with pytest.raises(ValueError, match="cannot draw 40 distinct targets out of 30"):
        refsim.FixedOutDegree(5, 30, 40, 1 * pq.nS)


def test_fixed_total_number_draws_n_synapses_uniformly_with_repeats():
    comm = refsim.FixedTotalNumber(40, 25, 5000, 87.8 * pq.pA, seed=4)
    assert comm.nnz == comm.n == 5000 and comm.W.shape == (40, 25)
    out_degrees = np.diff(comm.W.indptr)
    in_degrees = np.bincount(comm.W.indices, minlength=25)
    assert out_degrees.sum() == in_degrees.sum() == 5000
    # multinomial counts: mean 125 (200) per source (target), sd ~11 (14); 6 sd bounds
    assert np.all(np.abs(out_degrees - 125) < 6 * np.sqrt(125)), out_degrees
    assert np.all(np.abs(in_degrees - 200) < 6 * np.sqrt(200)), in_degrees
    pairs = list(zip(comm.W.tocoo().row, comm.W.tocoo().col, strict=True))
    assert len(set(pairs)) < 5000  # 1000 pairs, 5000 draws: repeated pairs are kept
    np.testing.assert_allclose(comm.W.data, 0.0878)  # pA in the internal unit, nA
    same = refsim.FixedTotalNumber(40, 25, 5000, 87.8 * pq.pA, seed=4)
    np.testing.assert_array_equal(same.W.indices, comm.W.indices)
    weights = np.arange(5000.0) * pq.pA  # one per synapse
    stored = refsim.FixedTotalNumber(40, 25, 5000, weights, seed=1).W.data
    assert np.array_equal(np.sort(stored), np.arange(5000.0) / 1000)  # each given weight once
    assert refsim.FixedTotalNumber(3, 25, 0, 1 * pq.pA).nnz == 0
    with pytest.raises(ValueError, match="n_pre must be an integer >= 1, got 0"):
        refsim.FixedTotalNumber(0, 25, 3, 1 * pq.pA)
    with pytest.raises(ValueError, match="n must be"):
        refsim.FixedTotalNumber(4, 4, -1, 1 * pq.pA)


def test_all_to_all_one_to_one_and_explicit_indices():
    a = refsim.AllToAll(3, 3, 2 * pq.nS, include_self=False)
    np.testing.assert_array_equal(a.W.toarray(), 0.002 * (1 - np.eye(3)))
    o = refsim.OneToOne(4, np.arange(4.0) * pq.nS)
    np.testing.assert_array_equal(o.W.toarray(), np.diag(np.arange(4.0) / 1000))
    e = refsim.SparseLinear.from_indices(
        3, 2, [2, 0, 0], [0, 1, 1], np.array([1.0, 2.0, 3.0]) * pq.mV
    )
    np.testing.assert_array_equal(e.W.toarray(), [[0, 5.0], [0, 0], [1.0, 0]])
    with pytest.raises(ValueError, match="indices out of range for 3 x 2 neurons"):
        refsim.SparseLinear.from_indices(3, 2, [3], [0], 1 * pq.mV)


def test_lognormal_weights():
    comm = refsim.FixedOutDegree(
        200, 100, 50, refsim.init.LogNormal(0.0, 0.5, unit=pq.nS, seed=1), seed=2
    )
    logs = np.log(comm.weight.data)  # weights in nS
    assert comm.weight_unit == pq.nS
    assert abs(logs.mean()) < 2.576 * 0.5 / np.sqrt(logs.size)
    assert abs(logs.std() - 0.5) < 0.02
