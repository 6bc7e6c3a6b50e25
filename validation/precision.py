"""float32 cases: every golden neuron and synapse trace replayed under ``precision=32``.

The golden traces are float64 (brainpy.state at precision 64).  Run in float32, refsim
cannot match them to float64's tolerances; these cases measure by how much it misses and
hold each model to its row of :data:`FLOAT32_TOLERANCES`, the float32 tolerance table
(also printed in ``docs/precision.md``).  Each neuron case measures:

* the states still float32 after the run (none may have been widened to float64);
* the spike steps that differ from the float64 trace;
* the largest potential error before the first differing spike step (a spike one step
  early or late moves everything after it);
* one step restarted from the recorded state, the largest error relative to
  max(1, |value|) (:func:`golden_cases.one_step_errors`);
* the same model as a one-population Network run by :func:`refsim.run` on the selected
  backend (compiled on numba, where float32 means float64 arithmetic on float32 states):
  its spike steps and free-run potential against float64, to the same table.

float32 unit roundoff is 2**-24 = 6.0e-8; one step of a model costs a few roundings,
times the condition number of its equations (large for the exponential and quadratic
upswings).
"""

from __future__ import annotations

import warnings

import numpy as np
import quantities as pq

import refsim
from refsim.validation import Metric, case, golden_cases, golden_data, max_abs, max_rel, mismatches

#: the float32 tolerance table, one row per model family: (classes, largest relative error
#: of one step from the recorded state, largest free-run potential error in mV, reason)
FLOAT32_TABLE: list[tuple[tuple[str, ...], float, float, str]] = [
    (
        ("LIF", "LIFRef", "CubaLIF", "CobaLIF", "ALIF", "IF", "Gif", "GifRef"),
        1e-6,
        1e-4,
        "linear drift: a few roundings a step; the free run adds them up (measured 4.5e-7, "
        "4.4e-5 mV)",
    ),
    (
        ("AdExIF", "AdExIFRef"),
        1e-6,
        1e-3,
        "the exponential upswing grows the free-run error before a spike (measured 1.2e-7, "
        "3.2e-4 mV)",
    ),
    (
        ("QuaIF", "AdQuaIF", "AdQuaIFRef"),
        1e-6,
        2e-2,
        "the quadratic upswing grows the free-run error before a spike (measured 1.1e-7, "
        "6.2e-3 mV)",
    ),
    (
        ("ExpIF", "ExpIFRef"),
        3e-5,
        5e-2,
        "dt*J up to ~20 near the threshold: the exponential term multiplies one rounding "
        "(measured 8.1e-6, 1.7e-2 mV)",
    ),
    (
        ("Izhikevich", "IzhikevichRef"),
        1e-5,
        5e-2,
        "v^2 term, large dv/dt before a spike (measured 1.7e-6, 1.3e-2 mV)",
    ),
    (
        ("HH", "WangBuzsakiHH"),
        2e-5,
        5e-2,
        "gating rates from exponentials and the steep spike upstroke (measured 4.7e-6, 1.4e-2 mV)",
    ),
    (
        ("MorrisLecar", "FitzHughNagumo", "HindmarshRose"),
        1e-6,
        1e-3,
        "smooth dynamics, a few roundings a step (measured 2.5e-7, 1.1e-4 mV)",
    ),
]
SYNAPSE_TOL = 3e-6
SYNAPSE_WHY = (
    "linear or kinetic recursions in float32: a few roundings a step, relative to "
    "the largest value (measured 6.9e-7)"
)
SPIKE_WHY = (
    "the same spike steps as float64: no golden potential passes within float32's "
    "rounding of its threshold"
)
KEPT_WHY = (
    "states stay in the precision they were built in (times of events are float64, as the clock)"
)


def tolerance_row(model: str) -> tuple[float, float, str]:
    """(one-step relative tolerance, free-run potential tolerance in mV, reason) of a model."""
    for classes, one_step, V_mV, why in FLOAT32_TABLE:
        if model in classes:
            return one_step, V_mV, why
    raise KeyError(f"no float32 tolerance for the model {model!r}")


def widened_states(model) -> list[str]:
    """Names of the states of ``model`` (and its children) not in float32, the event times
    (float64 by design) left out."""
    return [
        f"{node.name}.{key}"
        for node in model.nodes()
        for key, value in vars(node).items()
        if isinstance(value, refsim.State)
        and value.data.dtype != np.float32
        and not value.is_event_time
    ]


def _neuron_case(name: str):
    model = name.split("_")[1]
    one_step_tol, V_tol, why = tolerance_row(model)

    def run():
        with refsim.environ.context(precision=32):
            neuron = golden_cases.golden_neuron(name, golden_data.meta(name))
            got, ref = golden_cases.replay_neuron(name, neuron)
            one_step = golden_cases.one_step_errors(name)
        free_run = slice(None)
        if name in golden_cases.ILL_CONDITIONED:  # as in float64: up to the first upswing
            free_run = slice(0, int(np.argmax(ref["spike_get"] != 0)))
        metrics = [
            Metric("float states widened to float64", len(widened_states(neuron)), 0, KEPT_WHY),
            Metric(
                "spike steps that differ from float64",
                mismatches(got["spike_get"][free_run], ref["spike_get"][free_run]),
                0,
                SPIKE_WHY,
            ),
        ]
        for key in got:
            if key.startswith("V") and not key.startswith("V_th"):
                metrics.append(
                    Metric(
                        f"{key}: max |error| (mV), free run",
                        max_abs(got[key][free_run], ref[key][free_run]),
                        V_tol,
                        why,
                    )
                )
        for key, error in one_step.items():
            metrics.append(
                Metric(
                    f"{key}: one step from the recorded state, max relative error",
                    error,
                    one_step_tol,
                    why,
                )
            )
        with refsim.environ.context(precision=32), warnings.catch_warnings():
            warnings.simplefilter("ignore", refsim.backends.BackendFallbackWarning)
            in_network, _, engine = golden_cases.replay_neuron_in_network(name)
        engine = engine.split(" ")[0]  # numba: float32 storage, float64 arithmetic
        metrics.append(
            Metric(
                f"as a Network ({engine}): spike steps that differ from float64",
                mismatches(in_network["spike_get"][free_run], ref["spike_get"][free_run]),
                0,
                SPIKE_WHY,
            )
        )
        for key in in_network:
            if key.startswith("V") and not key.startswith("V_th"):
                metrics.append(
                    Metric(
                        f"as a Network ({engine}): {key}: max |error| (mV), free run",
                        max_abs(in_network[key][free_run], ref[key][free_run]),
                        V_tol,
                        why,
                    )
                )
        return metrics, []

    return run


def _synapse_case(name: str):
    def run():
        with refsim.environ.context(precision=32):
            syn = golden_cases.golden_synapse(name)
            got, ref = golden_cases.replay_synapse(name, syn)
        metrics = [Metric("float states widened to float64", len(widened_states(syn)), 0, KEPT_WHY)]
        for key in got:
            if not key.startswith("spike_arrival_time"):
                metrics.append(
                    Metric(
                        f"{key}: max |error| / max |{key}|",
                        max_rel(got[key], ref[key]),
                        SYNAPSE_TOL,
                        SYNAPSE_WHY,
                    )
                )
        return metrics, []

    return run


for _name in golden_data.case_names():
    _parts = _name.split("_")
    if _parts[0] == "neuron" and len(_parts) >= 3 and _parts[1] in golden_cases.NEURONS:
        case(f"float32/{_name}", "float32", "float32 run of " + _name)(_neuron_case(_name))
    elif _parts[0] == "syn" and _parts[1] in golden_cases.SYNAPSES:
        case(f"float32/{_name}", "float32", "float32 run of " + _name)(_synapse_case(_name))


BRAINPY_FLOAT32_V1 = -59.84079742  # mV: brainpy.state's documented one-step LIF, in float32


@case(
    "float32/tut1a_lif_one_step",
    "float32",
    "LIF one step in float32: brainpy's documented float32 number",
)
def tut1a_float32():
    with refsim.environ.context(precision=32):
        n = golden_cases.tut1a_neuron()
        with refsim.environ.context(dt=0.1 * pq.ms, t=0 * pq.ms):
            n(8 * pq.mA)
    V = n.V.value.rescale(pq.mV).magnitude
    return [
        Metric("V dtype is float32", float(n.V.data.dtype != np.float32), 0, KEPT_WHY),
        Metric(
            "V after one step: |V - brainpy's float32 -59.84079742| (mV)",
            float(np.max(np.abs(V - BRAINPY_FLOAT32_V1))),
            5e-9,
            "brainpy's docs print 8 decimals: half a unit of the last printed digit",
        ),
    ], []


RATE_TOL = 0.10
RATE_WHY = (
    "float32 moves single spikes within some 100 ms and the chaotic network then "
    "runs as another realisation: seed-to-seed spread of the count up to 4 % (5 seeds)"
)


@case(
    "float32/coba_network_rate",
    "float32",
    "COBA 4000 neurons for 300 ms in float32 and float64: the same rate",
)
def coba_network_rate():
    from refsim.validation.networks import COBANet

    counts, dtypes = {}, {}
    for precision in (64, 32):
        refsim.random.seed(1)  # the same initial potentials in both runs
        with refsim.environ.context(precision=precision), warnings.catch_warnings():
            warnings.simplefilter("ignore", refsim.backends.BackendFallbackWarning)
            net = refsim.init_all_states(COBANet(4000, seed=1))
            net.kick_start(1)
            res = refsim.run(net, 300 * pq.ms, monitors={"spikes": net.pop}, progress=False)
        counts[precision], dtypes[precision] = res["spikes"].count, net.pop.V.data.dtype
    return [
        Metric("V dtype is float32", float(dtypes[32] != np.float32), 0, KEPT_WHY),
        Metric(
            "spike count: |float32 - float64| / float64",
            abs(counts[32] - counts[64]) / counts[64],
            RATE_TOL,
            RATE_WHY,
        ),
    ], []
