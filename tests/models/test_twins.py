"""Each model's scalar twin, one element at a time, against its NumPy method: the twin
the compiled backends call for one neuron (one synapse) gives, bit for bit, what the
model's own ``update`` (``step``) gives that element.

The twins' arguments are bound by name, as for a declared model (``refsim/compiled.py``):
a state ``X`` or its post-reset value ``X_r`` from the model's state, a parameter from
``model.p``, ``current`` the direct input, ``slope`` 0.0 (a direct input does not depend
on V), ``dt``; the few switches a twin takes besides (``adaptive``, ``coba``...) are given
per model below.  The states are drawn near rest and checked not to spike, so the reset is
the identity and the twin's post-reset arguments are the stored states."""

import inspect

import numpy as np
import pytest
import quantities as pq

import refsim
from refsim.fmath import exp_scalar, exprel_scalar
from refsim.integrators import exp_euler_scalar
from refsim.neurons.exponential import AdExIF, ExpIF, expif_step_scalar
from refsim.neurons.gif import Gif, GifRef, gif_step_scalar
from refsim.neurons.hh import (
    HH,
    WangBuzsakiHH,
    hh_step_scalar,
    wang_buzsaki_step_scalar,
)
from refsim.neurons.izhikevich import Izhikevich, izhikevich_step_scalar
from refsim.neurons.lif import (
    ALIF,
    IF,
    LIF,
    CobaLIF,
    CubaLIF,
    alif_step_scalar,
    if_step_scalar,
    lif_drift_scalar,
    lif_synapse_step_scalar,
)
from refsim.neurons.morris_lecar import MorrisLecar, morris_lecar_step_scalar
from refsim.neurons.quadratic import AdQuaIF, QuaIF, quaif_step_scalar
from refsim.neurons.reduced import (
    FitzHughNagumo,
    HindmarshRose,
    fitzhugh_nagumo_step_scalar,
    hindmarsh_rose_step_scalar,
)
from refsim.outputs import coba_scalar, cuba_scalar
from refsim.synapses.alpha import Alpha, alpha_step_scalar
from refsim.synapses.expon import (
    DualExpon,
    Expon,
    dual_expon_step_scalar,
    expon_decay_scalar,
    expon_factor_scalar,
)
from refsim.synapses.kinetic import (
    AMPA,
    BioNMDA,
    GABAa,
    ampa_step_scalar,
    bionmda_step_scalar,
    transmitter_scalar,
)
from refsim.synapses.stp import STD, STP, std_step_scalar, stp_step_scalar

DT = 0.1  # ms, refsim's default step


def lif_step_scalar(V_r, current, slope, R, tau, V_rest, dt):
    """The LIF pass's step (backends/numba/lif.py): the drift twin, then exponential Euler."""
    drift, jacobian = lif_drift_scalar(V_r, current, slope, R, tau, V_rest)
    return exp_euler_scalar(V_r, drift, exprel_scalar(dt * jacobian), dt)


#: per neuron class: its step twin and the switches it takes besides states, parameters
#: and context (the values the compiled passes give them)
NEURON_TWINS = {
    LIF: (lif_step_scalar, {}),
    ALIF: (alif_step_scalar, {}),
    ExpIF: (expif_step_scalar, {"adaptive": False, "w_r": 0.0, "tau_w": 1.0, "a": 0.0}),
    AdExIF: (expif_step_scalar, {"adaptive": True}),
    QuaIF: (quaif_step_scalar, {"adaptive": False, "w_r": 0.0, "tau_w": 1.0, "a": 0.0}),
    AdQuaIF: (quaif_step_scalar, {"adaptive": True}),
    Izhikevich: (izhikevich_step_scalar, {}),
    IF: (if_step_scalar, {}),
    CubaLIF: (lif_synapse_step_scalar, {"coba": False, "E": 0.0}),
    CobaLIF: (lif_synapse_step_scalar, {"coba": True}),
    Gif: (gif_step_scalar, {"decayed_drive": True}),
    GifRef: (gif_step_scalar, {"decayed_drive": False}),
    HH: (hh_step_scalar, {}),
    WangBuzsakiHH: (wang_buzsaki_step_scalar, {}),
    MorrisLecar: (morris_lecar_step_scalar, {}),
    FitzHughNagumo: (fitzhugh_nagumo_step_scalar, {}),
    HindmarshRose: (hindmarsh_rose_step_scalar, {}),
}


def _states(model) -> dict:
    """The model's states but its clock (``last_spike_time``), by name."""
    return {
        name: value
        for name, value in vars(model).items()
        if isinstance(value, refsim.module.State) and name != "last_spike_time"
    }


def _bind(twin, values: dict, j: int) -> list:
    """The arguments of ``twin`` by name from ``values`` (arrays indexed at ``j``)."""
    arguments = []
    for name in inspect.signature(twin).parameters:
        key = name[:-2] if name.endswith("_r") and name not in values else name
        if key not in values:
            raise KeyError(f"{twin.__name__}: nothing to bind {name!r} to")
        value = values[key]
        arguments.append(value[j] if np.ndim(value) else value)
    return arguments


def _state_order(twin, states: dict, switches: dict) -> list:
    """The states a step twin returns, in the order of its state arguments (a state the
    model lacks, given as a switch: ExpIF's ``w_r`` of the AdEx twin, among them)."""
    names = []
    for name in inspect.signature(twin).parameters:
        key = name[:-2] if name.endswith("_r") else name
        if (key in states or name in switches and name.endswith("_r")) and key not in names:
            names.append(key)
    return names


@pytest.mark.parametrize("cls", NEURON_TWINS, ids=lambda c: c.__name__)
def test_each_neuron_step_twin_equals_the_numpy_update(cls):
    twin, switches = NEURON_TWINS[cls]
    model = refsim.init_all_states(cls(6))
    rng = np.random.default_rng(11)
    states = _states(model)
    for state in states.values():  # near the initial state, below any threshold
        state.data = state.data + rng.uniform(-0.02, 0.02, state.data.shape) * (
            1.0 + np.abs(state.data)
        )
    assert not np.any(model.get_spike()), "the test's states must not spike"
    unit = model.input_unit if model.input_unit is not None else pq.dimensionless
    x = rng.uniform(0.0, 2.0, 6) * unit
    before = {name: state.data.copy() for name, state in states.items()}
    values = {
        **{name: getattr(model.p, name) for name in model.p.names()},
        **before,
        "current": model._external(x),
        "slope": 0.0,
        "dt": DT,
        **switches,
    }
    with refsim.environ.context(dt=DT * pq.ms, t=0 * pq.ms):
        model.update(x)
    order = _state_order(twin, states, switches)
    for j in range(6):
        new = twin(*_bind(twin, values, j))
        new = new if isinstance(new, tuple) else (new,)
        assert len(new) == len(order), (new, order)
        for name, value in zip(order, new, strict=True):
            if name in states:  # (not ExpIF's unused w)
                assert value == states[name].data[j], (cls.__name__, name, j)
    assert any(not np.array_equal(states[name].data, before[name]) for name in order)


# -- synapses and plasticity: the compositions the compiled passes make of their twins ------


def expon_twin(g, x, tau, dt):
    return expon_decay_scalar(g, tau, expon_factor_scalar(tau, dt)) + x, None


def dual_expon_twin(g_rise, g_decay, x, tau_rise, tau_decay, factor, equal_normalised, dt):
    rise, decay, out = dual_expon_step_scalar(
        g_rise,
        g_decay,
        0.0 + x,
        tau_rise,
        tau_decay,
        expon_factor_scalar(tau_rise, dt),
        expon_factor_scalar(tau_decay, dt),
        factor,
        equal_normalised,
        exp_scalar(-dt / tau_decay),
        dt,
    )
    return (rise, decay), out


def alpha_twin(g, h, x, tau, dt):
    return alpha_step_scalar(g, h, x, tau, dt), None


def ampa_twin(g, spike_arrival_time, x, alpha, beta, T, T_dur, g_max, t, dt):
    arrival, TT = transmitter_scalar(spike_arrival_time, x, T, T_dur, t)
    return (ampa_step_scalar(g, TT, alpha, beta, g_max, dt), arrival), None


def bionmda_twin(g, x_state, spike_arrival_time, x, alpha1, beta1, alpha2, beta2, T, T_dur,
                 g_max, t, dt):  # fmt: skip
    arrival, TT = transmitter_scalar(spike_arrival_time, x, T, T_dur, t)
    g, x_new = bionmda_step_scalar(g, x_state, TT, alpha1, beta1, alpha2, beta2, g_max, dt)
    return (g, x_new, arrival), None


def stp_twin(u, x_state, x, U, tau_f, tau_d, dt):
    u, x_new, out = stp_step_scalar(u, x_state, x, U, tau_f, tau_d, dt)
    return (u, x_new), out


def std_twin(x_state, x, tau, U, dt):
    x_new, out = std_step_scalar(x_state, x, tau, U, dt)
    return x_new, out


#: per synapse: (a model, its states in the order its twin returns them, the twin); the
#: twin returns (new states, the output or None: the first state)
SYNAPSE_TWINS = {
    "Expon": (lambda: Expon(6, tau=4 * pq.ms), ("g",), expon_twin),
    "DualExpon": (lambda: DualExpon(6, amplitude=1.3), ("g_rise", "g_decay"), dual_expon_twin),
    "DualExpon equal taus": (
        lambda: DualExpon(6, tau_rise=3 * pq.ms, tau_decay=3 * pq.ms),
        ("g_rise", "g_decay"),
        dual_expon_twin,
    ),
    "Alpha": (lambda: Alpha(6), ("g", "h"), alpha_twin),
    "AMPA": (lambda: AMPA(6), ("g", "spike_arrival_time"), ampa_twin),
    "GABAa": (lambda: GABAa(6), ("g", "spike_arrival_time"), ampa_twin),
    "BioNMDA": (lambda: BioNMDA(6), ("g", "x", "spike_arrival_time"), bionmda_twin),
    "STP": (lambda: STP(6), ("u", "x"), stp_twin),
    "STD": (lambda: STD(6), ("x",), std_twin),
}


@pytest.mark.parametrize("name", SYNAPSE_TWINS)
def test_each_synapse_twin_equals_the_numpy_step(name):
    make, order, twin = SYNAPSE_TWINS[name]
    syn = refsim.init_all_states(make())
    rng = np.random.default_rng(5)
    for state in order:  # a history: states away from their initial values
        data = getattr(syn, state).data
        if state != "spike_arrival_time":
            getattr(syn, state).data = data + rng.uniform(0.0, 0.5, data.shape)
    before = {state: getattr(syn, state).data.copy() for state in order}
    x = (rng.uniform(size=6) < 0.5).astype(float)  # spikes (or events of weight 1)
    values = {
        **{k: getattr(syn.p, k) for k in syn.p.names()},
        **{"x_state" if k == "x" else k: v for k, v in before.items()},
        "x": x,
        "factor": getattr(syn, "factor", None),
        "g_max": getattr(syn, "g_max", None),
        "equal_normalised": getattr(syn, "equal_taus", False) and getattr(syn, "normalize", 0),
        "t": 0.7,
        "dt": DT,
    }
    with refsim.environ.context(dt=DT * pq.ms, t=0.7 * pq.ms):
        out = syn.step(x)
    for j in range(6):
        new, output = twin(*_bind(twin, values, j))
        new = new if isinstance(new, tuple) else (new,)
        for state, value in zip(order, new, strict=True):
            assert value == getattr(syn, state).data[j], (name, state, j)
        assert (new[0] if output is None else output) == out[j], (name, j)
    assert not np.array_equal(getattr(syn, order[0]).data, before[order[0]])


@pytest.mark.parametrize("output", ["COBA", "CUBA"])
def test_each_output_twin_equals_the_numpy_output(output):
    rng = np.random.default_rng(2)
    g, V = rng.uniform(0.0, 2.0, 6), rng.uniform(-80.0, -40.0, 6)
    if output == "COBA":
        out, twin, value = refsim.COBA(E=-5 * pq.mV), coba_scalar, -5.0
    else:
        out, twin, value = refsim.CUBA(scale=2.5), cuba_scalar, 2.5
    out.bind_data(g)
    current, slope = out.current_and_slope(V)
    for j in range(6):
        assert twin(g[j], value, V[j]) == (current[j], np.broadcast_to(slope, (6,))[j])
