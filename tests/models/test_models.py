"""Every model of the catalog: documented, unit-checked, integrator choice validated."""

import inspect

import numpy as np
import pytest
import quantities as pq

import refsim

NEURONS = [getattr(refsim, n) for n in refsim.neurons.__all__]
SYNAPSES = [getattr(refsim, n) for n in refsim.synapses.__all__]
OUTPUTS = [refsim.CUBA, refsim.COBA, refsim.MgBlock]
MODELS = NEURONS + SYNAPSES + OUTPUTS


def _dimensional_parameters(cls):
    """(name, default) of every constructor parameter whose default carries a dimension."""
    out = []
    for name, p in inspect.signature(cls).parameters.items():
        d = p.default
        if isinstance(d, pq.Quantity) and d.simplified.dimensionality.string != "dimensionless":
            out.append((name, d))
    if cls is refsim.COBA:
        out.append(("E", 0.0 * pq.mV))  # required argument, no default
    return out


# CUBA's scale may be any unit that turns the synapse's variable into a current (a
# voltage for a conductance, a pure number for a current); test_projection checks that.
FREE_DIMENSION = {(refsim.CUBA, "scale")}
CASES = [
    (cls, name, default)
    for cls in MODELS
    for name, default in _dimensional_parameters(cls)
    if (cls, name) not in FREE_DIMENSION
]


def _build(cls, **kwargs):
    if cls in OUTPUTS:
        kwargs.setdefault("E", 0 * pq.mV) if cls is refsim.COBA else None
        return cls(**kwargs)
    return cls(2, **kwargs)


@pytest.mark.parametrize(
    "cls, name, default", CASES, ids=[f"{c.__name__}.{n}" for c, n, _ in CASES]
)
def test_every_dimensional_parameter_refuses_bare_numbers_and_wrong_dimensions(cls, name, default):
    with pytest.raises(refsim.UnitError, match=f"parameter '{name}' expects .*bare number 3"):
        _build(cls, **{name: 3.0})
    wrong = 3.0 * (
        pq.ms if default.simplified.dimensionality != pq.ms.simplified.dimensionality else pq.mV
    )
    with pytest.raises(refsim.UnitError, match=f"parameter '{name}' expects .* got 3.0"):
        _build(cls, **{name: wrong})
    _build(cls, **{name: default})  # the default itself is accepted


def test_the_catalog_is_complete():
    assert {c.__name__ for c in NEURONS} >= {
        "IF",
        "LIF",
        "LIFRef",
        "ALIF",
        "ExpIF",
        "ExpIFRef",
        "AdExIF",
        "AdExIFRef",
        "QuaIF",
        "AdQuaIF",
        "AdQuaIFRef",
        "Gif",
        "GifRef",
        "Izhikevich",
        "IzhikevichRef",
        "HH",
        "MorrisLecar",
        "WangBuzsakiHH",
        "FitzHughNagumo",
        "HindmarshRose",
        "CubaLIF",
        "CobaLIF",
    }
    assert {c.__name__ for c in SYNAPSES} == {
        "Expon",
        "DualExpon",
        "Alpha",
        "AMPA",
        "GABAa",
        "BioNMDA",
        "STP",
        "STD",
    }
    assert len(CASES) > 150


@pytest.mark.parametrize("cls", MODELS, ids=[c.__name__ for c in MODELS])
def test_every_model_documents_its_equations_and_parameters(cls):
    doc = inspect.getdoc(cls) or ""
    module_doc = inspect.getmodule(cls).__doc__ or ""
    assert ".. math::" in doc or ":math:" in doc or ".. math::" in module_doc
    assert "Parameters" in doc


METHOD_MODELS = [c for c in NEURONS if "method" in inspect.signature(c).parameters]


def test_nonlinear_neurons_offer_the_integrators():
    names = {c.__name__ for c in METHOD_MODELS}
    assert {
        "ExpIF",
        "AdExIF",
        "QuaIF",
        "AdQuaIF",
        "Izhikevich",
        "HH",
        "MorrisLecar",
        "WangBuzsakiHH",
        "FitzHughNagumo",
        "HindmarshRose",
    } <= names
    with pytest.raises(
        ValueError, match="method must be one of exp_euler, euler, rk2, rk4; got 'rk3'"
    ):
        refsim.HH(1, method="rk3")


@pytest.mark.parametrize("cls", METHOD_MODELS, ids=[c.__name__ for c in METHOD_MODELS])
@pytest.mark.parametrize("method", ["euler", "rk2", "rk4"])
def test_explicit_methods_agree_with_exp_euler_as_dt_shrinks(cls, method):
    """One step of 1e-5 ms from the same state: both give V + dt * dV/dt to O(dt^2)."""

    def one_step(m):
        refsim.random.seed(3)  # the same initial state (HH's default is drawn)
        n = refsim.init_all_states(cls(1, method=m))
        x = None if cls.input_unit is None else 0.1 * cls.input_unit * 0
        V0 = n.V.data.copy()
        with refsim.environ.context(dt=1e-5 * pq.ms, t=0 * pq.ms, i=0):
            n(x)
        return (n.V.data - V0) / 1e-5

    a, b = one_step("exp_euler"), one_step(method)
    # tolerance: O(dt) difference of two first-order-consistent steps, relative to dV/dt
    np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-9)


def test_hh_orders_of_convergence():
    """Fitted orders on a 20 ms subthreshold HH trace against a fine RK4 reference."""

    def final_V(method, dt):
        with refsim.environ.context(dt=dt * pq.ms):
            n = refsim.init_all_states(
                refsim.HH(1, V_initializer=refsim.init.Constant(-65 * pq.mV), method=method)
            )
            refsim.run(lambda: n(2 * pq.uA), 20 * pq.ms)
            return float(n.V.data[0])

    ref = final_V("rk4", 0.0025)
    for method, order in (("euler", 1), ("exp_euler", 1), ("rk2", 2), ("rk4", 4)):
        e1, e2 = abs(final_V(method, 0.1) - ref), abs(final_V(method, 0.05) - ref)
        assert abs(np.log2(e1 / e2) - order) < 0.25, (method, np.log2(e1 / e2))
