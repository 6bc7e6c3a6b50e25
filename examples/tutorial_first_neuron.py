"""Tutorial 1, your first neuron: one LIFRef neuron driven by a constant current.

Port of the brainpy.state tutorial "Your first neuron": only imports and units
change.  Prints the trace shape and the spike count (17), saves two figures.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import quantities as pq  # noqa: E402

import refsim  # noqa: E402

with refsim.environ.context(dt=0.1 * pq.ms):
    neuron = refsim.LIFRef(
        1,
        R=1.0 * pq.ohm,
        tau=20.0 * pq.ms,
        V_rest=-60.0 * pq.mV,
        V_th=-50.0 * pq.mV,
        V_reset=-60.0 * pq.mV,
        tau_ref=5.0 * pq.ms,
    )
    refsim.init_all_states(neuron)  # V starts at the default 0 mV, above threshold
print(neuron)

# Drive it with 25 mA for 200 ms: step(t) advances the neuron at time t.
with refsim.environ.context(dt=0.1 * pq.ms):
    times = refsim.arange(0.0 * pq.ms, 200.0 * pq.ms, refsim.environ.get_dt())

    def step(t):
        with refsim.environ.context(t=t):
            neuron(25.0 * pq.mA)
            return neuron.V.value, neuron.get_spike()

    vs, spikes = refsim.for_loop(step, times)

print("membrane trace shape:", vs.shape)
print("total spikes:", float(np.sum(spikes)))

t_ms = times.rescale(pq.ms).magnitude
v_mV = vs.rescale(pq.mV).magnitude[:, 0]
fig, (ax_v, ax_s) = plt.subplots(2, 1, figsize=(6, 4), sharex=True)
ax_v.plot(t_ms, v_mV)
ax_v.axhline(-50.0, ls="--", color="gray", lw=1, label="threshold")
ax_v.set_ylabel("V (mV)")
ax_v.legend(loc="upper right")
ax_s.eventplot(t_ms[np.flatnonzero(spikes[:, 0])], colors="k")
ax_s.set_xlabel("Time (ms)")
ax_s.set_ylabel("Spikes")
fig.tight_layout()
fig.savefig("tutorial_first_neuron_25mA.png", dpi=90)

# A weaker current never reaches threshold: re-initialise and drive gently.
with refsim.environ.context(dt=0.1 * pq.ms):
    refsim.init_all_states(neuron)

    def step_weak(t):
        with refsim.environ.context(t=t):
            neuron(8.0 * pq.mA)
            return neuron.V.value

    vs_weak = refsim.for_loop(step_weak, times)

print("weak drive, max V (mV):", round(float(vs_weak.max()), 3))
plt.figure(figsize=(6, 2.5))
plt.plot(t_ms, vs_weak.rescale(pq.mV).magnitude[:, 0])
plt.axhline(-50.0, ls="--", color="gray", lw=1, label="threshold")
plt.xlabel("Time (ms)")
plt.ylabel("V (mV)")
plt.legend(loc="lower right")
plt.tight_layout()
plt.savefig("tutorial_first_neuron_8mA.png", dpi=90)
