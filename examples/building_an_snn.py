"""Building a spiking neural network: one LIF step, a projection, the 500-neuron E/I network.

Port of the brainpy.state page "Building a Spiking Neural Network".  Prints
the one-step potential (-59.84079734 mV in float64), the network's spike
count with refsim's own initial draws, and the count when the network is
replayed from brainpy's recorded seed-0 initial state (4321, spike for spike);
saves the raster.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import quantities as pq  # noqa: E402

import refsim  # noqa: E402

refsim.random.seed(0)
refsim.environ.set(dt=0.1 * pq.ms)

# Step 1: a population, one step of 8 mA.
neurons = refsim.LIF(
    4,
    V_rest=-52.0 * pq.mV,
    V_th=-50.0 * pq.mV,
    V_reset=-60.0 * pq.mV,
    tau=10.0 * pq.ms,
    V_initializer=refsim.init.Constant(-60.0 * pq.mV),
    spk_reset="soft",
)
refsim.init_all_states(neurons)
with refsim.environ.context(t=0.0 * pq.ms):
    spikes = neurons(8.0 * pq.mA)
print("membrane potential:", neurons.V.value)
print("spikes this step :", spikes)

# Step 2: a projection from four parts.
projection = refsim.AlignPostProj(
    comm=refsim.EventFixedProb(4, 4, conn_num=0.5, conn_weight=1.0 * pq.mS),
    syn=refsim.Expon.desc(4, tau=2.0 * pq.ms),
    out=refsim.CUBA.desc(),
    post=neurons,
)
print(type(projection).__name__, "connects a source onto", neurons.varshape, "neurons")


# Step 3: the E/I network.
class EINet(refsim.Module):
    def __init__(self, n_exc, n_inh, prob, JE, JI):
        super().__init__()
        self.n_exc = n_exc
        self.num = n_exc + n_inh
        self.N = refsim.LIF(
            self.num,
            V_rest=-52.0 * pq.mV,
            V_th=-50.0 * pq.mV,
            V_reset=-60.0 * pq.mV,
            tau=10.0 * pq.ms,
            V_initializer=refsim.init.Normal(-60.0, 10.0, unit=pq.mV),
            spk_reset="soft",
        )
        self.E = refsim.AlignPostProj(
            comm=refsim.EventFixedProb(n_exc, self.num, prob, JE),
            syn=refsim.Expon.desc(self.num, tau=2.0 * pq.ms),
            out=refsim.CUBA.desc(),
            post=self.N,
        )
        self.I = refsim.AlignPostProj(
            comm=refsim.EventFixedProb(n_inh, self.num, prob, JI),
            syn=refsim.Expon.desc(self.num, tau=2.0 * pq.ms),
            out=refsim.CUBA.desc(),
            post=self.N,
        )

    def update(self, inp):
        spikes = self.N.get_spike() != 0.0
        self.E(spikes[: self.n_exc])
        self.I(spikes[self.n_exc :])
        self.N(inp)
        return self.N.get_spike()


# Step 4: run it for 200 ms.
n_exc, n_inh, prob = 400, 100, 0.1
JE = 1.0 / np.sqrt(prob * n_exc) * pq.mS
JI = -1.0 / np.sqrt(prob * n_inh) * pq.mS


def simulate(V0=None):
    refsim.random.seed(0)  # brainpy's np.random.seed(0): the same connectivity
    net = EINet(n_exc, n_inh, prob, JE, JI)
    refsim.init_all_states(net)
    if V0 is not None:
        net.N.V.value = V0
    times = refsim.arange(0.0 * pq.ms, 200.0 * pq.ms, refsim.environ.get_dt())
    return times, refsim.for_loop(lambda t: net.update(3.0 * pq.mA), times)


times, spikes = simulate()
print("spike array shape (time, neurons):", spikes.shape)
print("total spikes:", int(np.sum(spikes != 0)))

# brainpy draws the initial V from JAX's generator; replaying its recorded draw
# reproduces its seed-0 raster spike for spike.
from refsim.validation import golden_data  # noqa: E402

recorded = golden_data.load("einet_seed0")
_, replay = simulate(V0=recorded["V0_mV"] * pq.mV)
print(
    "replayed from brainpy's seed 0: total spikes",
    int(replay.sum()),
    "| identical raster:",
    bool(np.array_equal(replay != 0, recorded["spikes"] != 0)),
)

# Step 5: the raster.
t_idx, n_idx = np.nonzero(spikes)
plt.figure(figsize=(8, 4))
plt.plot(times.magnitude[t_idx], n_idx, "k.", markersize=1)
plt.xlabel("time (ms)")
plt.ylabel("neuron index")
plt.title("E/I balanced network raster")
plt.tight_layout()
plt.savefig("building_an_snn_raster.png", dpi=90)
