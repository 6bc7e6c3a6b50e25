"""float32 in refsim: the same model at precision 32 and 64, and what it changes.

Run: python examples/float32_precision.py
"""

import numpy as np
import quantities as pq

import refsim


def lif_trace(precision: int) -> tuple[np.ndarray, int, str]:
    """100 ms of one LIFRef neuron at 25 mA: (potential in mV, spike count, dtype of V)."""
    with refsim.environ.context(precision=precision):  # everything built here is float32
        neuron = refsim.init_all_states(
            refsim.LIFRef(
                1,
                tau=20 * pq.ms,
                tau_ref=5 * pq.ms,
                V_rest=-60 * pq.mV,
                V_th=-50 * pq.mV,
                V_reset=-60 * pq.mV,
            )
        )
        res = refsim.run(
            lambda: neuron(25 * pq.mA),
            100 * pq.ms,
            monitors={"V": neuron.V, "spikes": neuron},
            progress=False,
        )
    return res["V"].rescale(pq.mV).magnitude[:, 0], res["spikes"].count, neuron.V.data.dtype


V64, spikes64, dtype64 = lif_trace(64)
V32, spikes32, dtype32 = lif_trace(32)
print(f"precision 64: V is {dtype64}, {spikes64} spikes")
print(f"precision 32: V is {dtype32}, {spikes32} spikes")
print(f"largest |V32 - V64|: {np.max(np.abs(V32 - V64)):.2e} mV")

# brainpy.state's documented one-step LIF number is its float32 result
with refsim.environ.context(precision=32, dt=0.1 * pq.ms, t=0 * pq.ms):
    n = refsim.init_all_states(
        refsim.LIF(
            1,
            R=1 * pq.ohm,
            tau=10 * pq.ms,
            V_th=-50 * pq.mV,
            V_reset=-60 * pq.mV,
            V_rest=-52 * pq.mV,
            V_initializer=refsim.init.Constant(-60 * pq.mV),
        )
    )
    n(8 * pq.mA)
print(f"LIF one step in float32: {float(n.V.data[0]):.8f} mV")
