"""Model anatomy: the Dynamics contract, 100 LIFRef neurons, an Expon kernel, outputs.

Port of the brainpy.state page "Model anatomy".  Prints the shapes and the
spike count (1100), saves the synapse's single-spike response.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import quantities as pq  # noqa: E402

import refsim  # noqa: E402

# A population: state V, unitful parameters, get_spike() as output.
neuron = refsim.LIFRef(
    100,
    V_rest=-65.0 * pq.mV,
    V_th=-50.0 * pq.mV,
    V_reset=-65.0 * pq.mV,
    tau=10.0 * pq.ms,
    tau_ref=2.0 * pq.ms,
    V_initializer=refsim.init.Normal(-65.0, 2.0, unit=pq.mV),
)
refsim.init_all_states(neuron)
print("state variable V:", neuron.V.value.shape, neuron.V.data.dtype)


def step(t):
    with refsim.environ.context(t=t):
        neuron(np.ones(100) * 30.0 * pq.mA)  # drive every neuron
        return neuron.V.value, neuron.get_spike()


with refsim.environ.context(dt=0.1 * pq.ms):
    times = refsim.arange(0.0 * pq.ms, 100.0 * pq.ms, refsim.environ.get_dt())
    vs, spikes = refsim.for_loop(step, times)
print("voltage trace:", vs.shape)
print("spike trace:  ", spikes.shape)
print("total spikes: ", int(np.sum(spikes)))

# A synapse filters spikes: the exponential synapse's single-spike response.
syn = refsim.Expon(1, tau=5.0 * pq.ms, g_initializer=refsim.init.Constant(0.0 * pq.mS))
refsim.init_all_states(syn)


# A synapse stepped on its own, its spike chosen in Python from t: this loop runs the NumPy
# code on every backend (a BackendFallbackWarning says why and where); the loop above, of
# a population driven by a fixed current, runs compiled on numba.
def syn_step(t):
    with refsim.environ.context(t=t):
        spike = 1.0 * pq.mS if float(t) == 0.0 else 0.0 * pq.mS  # one spike at t = 0
        return syn(spike)


with refsim.environ.context(dt=0.1 * pq.ms):
    times = refsim.arange(0.0 * pq.ms, 40.0 * pq.ms, refsim.environ.get_dt())
    g = refsim.for_loop(syn_step, times)
print("g after 5 ms (mS):", round(float(g[50, 0].rescale(pq.mS)), 6))

plt.figure(figsize=(9, 3))
plt.plot(times.magnitude, g.rescale(pq.mS).magnitude.squeeze())
plt.xlabel("time (ms)")
plt.ylabel("g (mS)")
plt.title("exponential synapse: single-spike response")
plt.tight_layout()
plt.savefig("model_anatomy_expon.png", dpi=90)

# Outputs turn conductance into current.
cuba = refsim.CUBA()
exc = refsim.COBA(E=0.0 * pq.mV)
inh = refsim.COBA(E=-80.0 * pq.mV)
print(cuba, exc, inh)
