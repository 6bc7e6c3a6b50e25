import numpy as np
import pytest
import quantities as pq

import refsim


def _proj(post, n_pre=3, syn=None, out=None, weight=1 * pq.mS, **kw):
    return refsim.AlignPostProj(
        comm=refsim.EventFixedProb(n_pre, kw.pop("n_post", post.num), 2, weight, seed=0),
        syn=syn or refsim.Expon.desc(post.num, tau=5 * pq.ms),
        out=out or refsim.COBA.desc(E=0 * pq.mV),
        post=post,
        **kw,
    )


def test_size_mismatch_names_both_sizes():
    post = refsim.LIF(4)
    with pytest.raises(
        ValueError,
        match=r"comm \(EventFixedProb\) output has size 5 but the "
        r"target population '.*' has size 4",
    ):
        _proj(post, n_post=5)
    with pytest.raises(ValueError, match=r"synapse Expon has size 6 but the target .* size 4"):
        _proj(post, syn=refsim.Expon.desc(6))


def test_spike_vector_of_wrong_size():
    post = refsim.LIF(4)
    proj = _proj(post)
    refsim.init_all_states(post)
    with pytest.raises(
        ValueError,
        match=r"expects 3 presynaptic values, got an array of shape "
        r"\(2,\)",
    ):
        proj(np.array([True, False]))


def test_equal_descriptors_share_one_synapse_and_one_output():
    post = refsim.LIF(4)
    a = _proj(post)
    b = _proj(post, n_pre=7)
    c = _proj(post, out=refsim.COBA.desc(E=-80 * pq.mV))
    assert a.syn is b.syn and a.out is b.out
    assert c.syn is not a.syn
    assert len(post.before_updates) == 2 and len(post.current_inputs) == 2


def test_events_of_shared_projections_add_into_one_conductance():
    post = refsim.LIF(2, V_th=1000 * pq.mV)
    W1 = np.array([[1.0, 0.0]]) * pq.nS
    W2 = np.array([[0.5, 2.0]]) * pq.nS
    syn = refsim.Expon.desc(2, tau=5 * pq.ms, g_initializer=refsim.init.Constant(0 * pq.nS))
    p1 = refsim.AlignPostProj(
        comm=refsim.SparseLinear(W1), syn=syn, out=refsim.CUBA.desc(scale=1 * pq.mV), post=post
    )
    p2 = refsim.AlignPostProj(
        comm=refsim.SparseLinear(W2), syn=syn, out=refsim.CUBA.desc(scale=1 * pq.mV), post=post
    )
    refsim.init_all_states(post)
    p1(np.array([True]))
    p2(np.array([True]))
    post()
    np.testing.assert_allclose(p1.syn.g.value.rescale(pq.nS).magnitude, [1.5, 2.0], rtol=1e-15)


def test_unit_mismatches_are_unit_errors():
    post = refsim.LIF(2)
    with pytest.raises(
        refsim.UnitError,
        match="weights of EventFixedProb are a voltage but the synapse Expon holds a conductance",
    ):
        _proj(post, weight=1 * pq.mV)
    with pytest.raises(refsim.UnitError, match="COBA needs a conductance from its synapse"):
        _proj(
            post,
            weight=1 * pq.nA,
            syn=refsim.Expon.desc(2, g_initializer=refsim.init.Constant(0 * pq.nA)),
        )
    with pytest.raises(refsim.UnitError, match=r"CUBA\(scale=1.0 V\) .* must be a current"):
        _proj(
            post,
            weight=1 * pq.nA,
            syn=refsim.Expon.desc(2, g_initializer=refsim.init.Constant(0 * pq.nA)),
            out=refsim.CUBA.desc(),
        )


def test_a_synapse_nonlinear_in_its_input_is_refused():
    class Saturating(refsim.Expon):
        align_post = False

    with pytest.raises(TypeError, match="Saturating is not linear in its input.*AlignPreProj"):
        _proj(refsim.LIF(2), syn=Saturating.desc(2))


def test_instance_mode_steps_the_synapse_in_the_projection():
    post = refsim.LIF(2)
    syn = refsim.Expon(2, tau=5 * pq.ms)
    proj = refsim.AlignPostProj(
        comm=refsim.SparseLinear(np.eye(2) * pq.mS),
        syn=syn,
        out=refsim.COBA(E=0 * pq.mV),
        post=post,
    )
    refsim.init_all_states(proj)
    proj(np.array([1.0, 0.0]))
    np.testing.assert_array_equal(syn.g.value.rescale(pq.mS).magnitude, [1.0, 0.0])
    assert proj.merged is False


def test_output_called_before_binding():
    with pytest.raises(ValueError, match="called before a conductance was bound"):
        refsim.COBA(E=0 * pq.mV)(-65 * pq.mV)


def test_projection_built_after_init_needs_init_again():
    post = refsim.init_all_states(refsim.LIF(2))
    _proj(post)
    with pytest.raises(RuntimeError, match="synapse .* has no state yet"):
        post()


def test_align_post_refuses_the_receptor_kinetics():
    for cls in (refsim.AMPA, refsim.GABAa, refsim.BioNMDA, refsim.Alpha):
        with pytest.raises(
            TypeError, match=f"{cls.__name__} is not linear in its input.*AlignPreProj"
        ):
            _proj(refsim.LIF(2), syn=cls.desc(2))


def test_dual_expon_merges_post_side():
    post = refsim.LIF(2)
    a = _proj(post, syn=refsim.DualExpon.desc(2))
    b = _proj(post, syn=refsim.DualExpon.desc(2), n_pre=5)
    assert a.syn is b.syn and isinstance(a.syn, refsim.DualExpon)
