import numpy as np
import pytest
import quantities as pq

import refsim


def test_state_value_is_a_quantity_and_data_the_internal_array():
    n = refsim.init_all_states(refsim.LIF(3, V_initializer=refsim.init.Constant(-65 * pq.mV)))
    assert n.V.value.units == pq.mV
    np.testing.assert_array_equal(n.V.data, [-65.0, -65.0, -65.0])
    n.V.value = -0.07 * pq.V
    np.testing.assert_allclose(n.V.data, -70.0, rtol=1e-15)  # rtol: one rescale rounding
    syn = refsim.init_all_states(refsim.Expon(2))
    syn.g.value = 2 * pq.mS
    np.testing.assert_array_equal(syn.g.data, [2000.0, 2000.0])  # internal uS
    assert syn.g.value.units == pq.mS


def test_stepping_before_init_all_states_is_a_clear_error():
    n = refsim.LIF(2)
    with pytest.raises(RuntimeError, match=r"has no state yet: call refsim.init_all_states"):
        n(1 * pq.mA)


def test_init_all_states_walks_projections_and_shared_synapses():
    post = refsim.LIF(4)
    proj = refsim.AlignPostProj(
        comm=refsim.EventFixedProb(3, 4, 2, 1 * pq.mS, seed=0),
        syn=refsim.Expon.desc(4, tau=5 * pq.ms),
        out=refsim.CUBA.desc(),
        post=post,
    )
    refsim.init_all_states(post)  # the synapse hangs below post, as a before-update
    assert proj.syn.g.shape == (4,)
    assert post.V.shape == (4,)


def test_reset_all_states_reruns_initializers_and_keeps_state_objects():
    n = refsim.init_all_states(refsim.LIF(2, V_initializer=refsim.init.Constant(-60 * pq.mV)))
    state = n.V
    n.V.value = 0 * pq.mV
    refsim.reset_all_states(n)
    assert n.V is state
    np.testing.assert_array_equal(n.V.data, [-60.0, -60.0])


def test_batch_size_prefixes_the_state_shape():
    n = refsim.init_all_states(refsim.LIF(3), batch_size=5)
    assert n.V.shape == (5, 3)


def test_desc_identifiers_compare_arguments():
    a = refsim.Expon.desc(10, tau=5 * pq.ms)
    b = refsim.Expon.desc(10, tau=5.0 * pq.ms)
    c = refsim.Expon.desc(10, tau=6 * pq.ms)
    assert a.identifier == b.identifier
    assert a.identifier != c.identifier
    syn = a()
    assert isinstance(syn, refsim.Expon) and syn.num == 10


def test_current_inputs_add_and_delta_inputs_are_consumed_once():
    n = refsim.init_all_states(
        refsim.LIF(
            1, tau=10 * pq.ms, V_initializer=refsim.init.Constant(0 * pq.mV), V_th=100 * pq.mV
        )
    )
    m = refsim.init_all_states(
        refsim.LIF(
            1, tau=10 * pq.ms, V_initializer=refsim.init.Constant(0 * pq.mV), V_th=100 * pq.mV
        )
    )
    n.add_current_input("a", 2 * pq.mA)
    n.add_current_input("b", 3 * pq.mA)
    with refsim.environ.context(t=0 * pq.ms):
        n(1 * pq.mA)
        m(6 * pq.mA)
    np.testing.assert_allclose(n.V.data, m.V.data, rtol=1e-15)  # 1+2+3 = 6 mA; summation order
    assert n.current_inputs == {}  # quantities are consumed by the step that used them
    n.add_delta_input("jump", 5 * pq.mV)
    n.add_delta_input("jump", 1 * pq.mV)  # a second push before the update is added, not lost
    before = n.V.data.copy()
    n()
    expected = before * np.exp(-0.1 / 10) + 6.0
    np.testing.assert_allclose(n.V.data, expected, rtol=1e-14)  # exp-Euler vs exp: a few ulp


def test_callable_current_inputs_stay_registered_and_see_the_potential():
    seen = []

    def current(V):
        seen.append(V.units)
        return 1 * pq.mA

    n = refsim.init_all_states(refsim.LIF(1, V_th=100 * pq.mV))
    n.add_current_input("f", current)
    n()
    n()
    assert seen == [pq.mV, pq.mV]
    with pytest.raises(ValueError, match="key 'f' is already taken"):
        n.add_current_input("f", lambda V: 0 * pq.mA)


def test_population_shape_and_heterogeneous_parameters():
    n = refsim.LIF((2, 3), tau=np.array([5.0, 10.0, 20.0]) * pq.ms)
    assert n.varshape == (2, 3) and n.num == 6
    assert n.tau.shape == (2, 3)
    with pytest.raises(ValueError, match=r"parameter 'tau' has shape \(4,\)"):
        refsim.LIF(3, tau=np.ones(4) * pq.ms)


def test_spk_reset_must_be_soft_or_hard():
    with pytest.raises(ValueError, match="spk_reset must be 'soft' or 'hard', got 'medium'"):
        refsim.LIF(1, spk_reset="medium")
