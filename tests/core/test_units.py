import numpy as np
import pytest
import quantities as pq

import refsim
from refsim.units import UnitError, internal_unit, to_internal, to_quantity


@pytest.mark.parametrize(
    "value, unit, expected",
    [
        (8 * pq.mA, pq.nA, 8e6),
        (1 * pq.ohm, pq.ohm, 1e-6),  # MOhm
        (200 * pq.pF, pq.nF, 0.2),
        (10 * pq.nS, pq.uS, 0.01),
        (0.5 * pq.mS, pq.uS, 500.0),
        (3 * pq.Hz, 1 / pq.ms, 0.003),
        (1 * pq.s, pq.ms, 1000.0),
        (0.02 / (pq.ms * pq.mV), 1 / (pq.ms * pq.mV), 0.02),
    ],
)
def test_conversion_into_the_internal_system_is_exactly_rounded(value, unit, expected):
    assert float(to_internal(value, "x", unit)) == expected


def test_internal_system_is_coherent():
    # nA * MOhm = mV, uS * mV = nA, nF * mV / ms = nA: no factor anywhere
    assert internal_unit(pq.ohm).dimensionality.string == "mV/nA"
    assert internal_unit(pq.S).dimensionality.string == "nA/mV"
    assert internal_unit(pq.F).dimensionality.string == "ms*nA/mV"
    assert float(
        to_internal(100 * pq.MOhm, "R", pq.ohm) * to_internal(0.1 * pq.nA, "I", pq.nA)
    ) == pytest.approx(10.0, rel=1e-15)  # 10 mV; rel: one rounding of the product


def test_to_quantity_round_trip():
    q = to_quantity(np.array([1.0, 2.5]), pq.mS)  # internal uS
    assert q.units == pq.mS
    np.testing.assert_array_equal(q.magnitude, [0.001, 0.0025])


def test_bare_number_for_a_dimension_names_parameter_and_dimension():
    with pytest.raises(
        UnitError,
        match=r"parameter 'tau' expects a time \(e\.g\. in ms\), "
        r"got the bare number 5",
    ):
        to_internal(5, "tau", pq.ms)


def test_wrong_dimension_names_what_was_given():
    with pytest.raises(
        UnitError,
        match=r"parameter 'V_th' expects a voltage .* got 5\.0 ms "
        r"\(a time\)",
    ):
        to_internal(5 * pq.ms, "V_th", pq.mV)


def test_unit_error_is_a_value_error():
    assert issubclass(refsim.UnitError, ValueError)


LIF_DIMENSIONAL = {"R": pq.ohm, "tau": pq.ms, "V_th": pq.mV, "V_reset": pq.mV, "V_rest": pq.mV}


NEURON_PARAMS = [(refsim.LIF, p) for p in LIF_DIMENSIONAL] + [
    (refsim.LIFRef, p) for p in [*LIF_DIMENSIONAL, "tau_ref"]
]


@pytest.mark.parametrize("cls, param", NEURON_PARAMS)
def test_neuron_parameters_refuse_bare_numbers_and_wrong_dimensions(cls, param):
    with pytest.raises(UnitError, match=f"parameter '{param}' expects"):
        cls(3, **{param: 2.0})
    wrong = 2.0 * (pq.nA if param != "R" else pq.mV)
    with pytest.raises(UnitError, match=f"parameter '{param}' expects .* got 2.0"):
        cls(3, **{param: wrong})


def test_neuron_initializer_of_wrong_dimension():
    n = refsim.LIF(2, V_initializer=refsim.init.Constant(1 * pq.nA))
    with pytest.raises(UnitError, match="parameter 'V' expects a voltage"):
        refsim.init_all_states(n)


def test_neuron_input_must_be_a_current():
    n = refsim.init_all_states(refsim.LIF(2))
    with pytest.raises(UnitError, match="LIF.update input x' expects a current"):
        n(3 * pq.mV)
    with pytest.raises(UnitError, match="expects a current .* bare number 3"):
        n(3)


def test_synapse_and_output_parameters():
    with pytest.raises(UnitError, match="parameter 'tau' expects a time"):
        refsim.Expon(2, tau=5)
    with pytest.raises(UnitError, match="parameter 'E' expects a voltage"):
        refsim.COBA(E=0)
    with pytest.raises(UnitError, match="parameter 'E' expects a voltage .* got 0.0 mS"):
        refsim.COBA(E=0 * pq.mS)
    syn = refsim.init_all_states(refsim.Expon(1))
    with pytest.raises(UnitError, match="Expon input x' expects a conductance"):
        syn(1 * pq.mV)


def test_environ_dt_needs_a_time():
    with pytest.raises(UnitError, match="parameter 'dt' expects a time"):
        refsim.environ.set(dt=0.1)
