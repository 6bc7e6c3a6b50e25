"""The mental model: state, units, composition with AlignPostProj, driving with for_loop.

Port of the brainpy.state page "The mental model".  Prints dt, the spike
shape of a 100-neuron LIF population under 20 mA, and the spikes a
projection carries onto a second population; saves a raster.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import quantities as pq  # noqa: E402

import refsim  # noqa: E402

# The page's LIF(100, tau=10 ms, V_th=-50 mV) keeps brainpy's defaults V_reset = V_rest =
# 0 mV, above its threshold: brainpy's spike test (V - V_th) / (V_th - V_reset) >= 0 then
# flips sign (a "spike" means V <= V_th) and the page's neurons never fire.  refsim refuses
# such a neuron, naming the relation; this port gives the reset and the rest explicitly.
try:
    refsim.LIF(100, tau=10.0 * pq.ms, V_th=-50.0 * pq.mV)
except ValueError as err:
    print("ValueError:", str(err).split(":")[1].strip())
LIF_PARAMETERS = dict(
    V_th=-50.0 * pq.mV,
    V_reset=-65.0 * pq.mV,
    V_rest=-65.0 * pq.mV,
    V_initializer=refsim.init.Constant(-65.0 * pq.mV),
)

# Idea 1: state.  Models declare their states; init_all_states allocates them.
neuron = refsim.LIF(100, tau=10.0 * pq.ms, **LIF_PARAMETERS)
refsim.init_all_states(neuron)
print(neuron)

with refsim.environ.context(dt=0.1 * pq.ms):
    print("dt =", refsim.environ.get_dt())

# Idea 2: units.  A slip (a bare number, ms for mV) is caught at construction.
tau = 10.0 * pq.ms
current = 20.0 * pq.mA
neuron = refsim.LIF(100, tau=tau, **LIF_PARAMETERS)
try:
    refsim.LIF(100, tau=10.0)
except refsim.UnitError as err:
    print("UnitError:", err)

# Idea 3: composition.  comm + syn + out + post make a projection.
refsim.random.seed(0)
pre = refsim.LIF(100, tau=10.0 * pq.ms, **LIF_PARAMETERS)
post = refsim.LIF(50, tau=10.0 * pq.ms, **LIF_PARAMETERS)
proj = refsim.AlignPostProj(
    comm=refsim.EventFixedProb(100, 50, conn_num=0.1, conn_weight=0.5 * pq.mS),
    syn=refsim.Expon.desc(50, tau=5.0 * pq.ms),
    out=refsim.COBA.desc(E=0.0 * pq.mV),
    post=post,
)

# Idea 4: drive it over many steps with for_loop.
refsim.init_all_states(neuron)


def step(t):
    with refsim.environ.context(t=t):
        neuron(current)
        return neuron.get_spike()


with refsim.environ.context(dt=0.1 * pq.ms):
    times = refsim.arange(0.0 * pq.ms, 200.0 * pq.ms, refsim.environ.get_dt())
    spikes = refsim.for_loop(step, times)
print("spikes shape:", spikes.shape)
print("spikes of the driven population:", int(spikes.sum()))

# To see the projection at work, use physiological values: 100 driven neurons onto 50,
# COBA synapses of 2 nS.
pre = refsim.LIF(
    100,
    R=100.0 * pq.MOhm,
    tau=10.0 * pq.ms,
    V_rest=-65.0 * pq.mV,
    V_reset=-65.0 * pq.mV,
    V_th=-50.0 * pq.mV,
    V_initializer=refsim.init.Uniform(-65.0, -50.0, unit=pq.mV),
)
post = refsim.LIF(
    50,
    R=100.0 * pq.MOhm,
    tau=10.0 * pq.ms,
    V_rest=-65.0 * pq.mV,
    V_reset=-65.0 * pq.mV,
    V_th=-50.0 * pq.mV,
    V_initializer=refsim.init.Constant(-65.0 * pq.mV),
)
proj = refsim.AlignPostProj(
    comm=refsim.EventFixedProb(100, 50, conn_num=0.1, conn_weight=2.0 * pq.nS),
    syn=refsim.Expon.desc(50, tau=5.0 * pq.ms, g_initializer=refsim.init.Constant(0 * pq.nS)),
    out=refsim.COBA.desc(E=0.0 * pq.mV),
    post=post,
)
holder = refsim.Module()
holder.pre, holder.post, holder.proj = pre, post, proj
refsim.init_all_states(holder)


def net_step(t):
    with refsim.environ.context(t=t):
        proj(pre.get_spike() != 0)  # last step's spikes, as in brainpy's networks
        pre(0.2 * pq.nA)
        post(0.0 * pq.nA)
        return pre.get_spike(), post.get_spike()


with refsim.environ.context(dt=0.1 * pq.ms):
    pre_spikes, post_spikes = refsim.for_loop(net_step, times)
print("pre spikes:", int(pre_spikes.sum()), " post spikes:", int(post_spikes.sum()))

t_idx, n_idx = np.nonzero(post_spikes)
plt.figure(figsize=(7, 3))
plt.plot(times.magnitude[t_idx], n_idx, "k.", ms=2)
plt.xlabel("time (ms)")
plt.ylabel("post neuron")
plt.title("postsynaptic raster")
plt.tight_layout()
plt.savefig("mental_model_raster.png", dpi=90)
