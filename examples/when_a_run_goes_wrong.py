"""When something is wrong, refsim says so: what a user meets, and what to do next.

1. A parameter set that cannot be right is refused at construction, naming it.
2. A run whose numbers blow up stops with NumericalInstability, naming the population,
   state, neuron, step and value; the steps before are kept, and check_every=1 finds the
   first step that went wrong.
3. A recording larger than memory is refused before the run, or streamed to disk and
   read back as the same result.
"""

import tempfile
from pathlib import Path

import numpy as np
import quantities as pq

import refsim

# 1. brainpy's LIF defaults put V_reset = 0 mV: above a threshold of -50 mV the spike test
#    flips sign.  refsim refuses it, and says why.
try:
    refsim.LIF(100, tau=10 * pq.ms, V_th=-50 * pq.mV)
except ValueError as err:
    print("refused:", str(err).split(": the")[0])
print("a parameter reads back with its unit:", refsim.LIF(1, tau=10 * pq.ms).tau)


# 2. Hodgkin-Huxley integrated by Euler at dt = 0.5 ms diverges within a few steps.
def hh_network():
    refsim.random.seed(0)
    net = refsim.Network()
    pop = net.population(refsim.HH(10, method="euler"), current=10 * pq.uA)
    refsim.init_all_states(net)
    return net, pop


with refsim.environ.context(dt=0.5 * pq.ms):
    net, pop = hh_network()
    try:
        refsim.run(net, 200 * pq.ms, monitors={"V": pop.V})
    except refsim.NumericalInstability as stop:
        f = stop.finding
        print(
            f"stopped after step {f.step}: {f.state}[{f.index[0]}] = {f.value}; "
            f"{stop.result.n_steps} steps kept, V recorded {stop.result['V'].shape}"
        )
    net, pop = hh_network()
    try:
        refsim.run(net, 200 * pq.ms, check_every=1)  # check every step: the first bad one
    except refsim.NumericalInstability as stop:
        print(
            f"first step that went wrong: {stop.finding.step} "
            f"({stop.finding.state} = {stop.finding.value:g})"
        )
with refsim.environ.context(dt=0.01 * pq.ms):  # the cure: a shorter step
    net, pop = hh_network()
    result = refsim.run(net, 200 * pq.ms, monitors={"spikes": pop})
print(f"at dt = 0.01 ms the same network runs: {result['spikes'].count} spikes")

# 3. A potential recorded every step for a day of simulated time does not fit in memory:
#    refused before the first step, naming what needs how much.
refsim.random.seed(1)
n = refsim.init_all_states(
    refsim.LIFRef(
        1000,
        tau=20 * pq.ms,
        V_th=-50 * pq.mV,
        V_reset=-60 * pq.mV,
        V_rest=-60 * pq.mV,
        V_initializer=refsim.init.Uniform(-60.0, -50.0, unit=pq.mV),
    )
)
try:
    refsim.run(lambda: n(0.5 * pq.mA), 24 * 3600 * pq.s, monitors={"V": n.V})
except refsim.ResourceError as err:
    print("refused:", str(err).split(": record")[0])

# ... or streamed to disk, and read back in parts.
folder = Path(tempfile.mkdtemp()) / "recording"
result = refsim.run(
    lambda: n(30 * pq.mA), 200 * pq.ms, monitors={"V": n.V, "spikes": n}, record_to=folder
)
again = refsim.load_result(folder)
print(f"streamed to {folder.name}/: {sorted(p.name for p in folder.iterdir())}")
print(
    f"read back: V {again['V'].shape}, {again['spikes'].count} spikes, the same: "
    f"{np.array_equal(again['V'].magnitude, result['V'].magnitude)}; the first 10 ms of "
    f"neuron 0 without loading the rest: max {again.monitors['V'].data[:100, 0].max():.2f} "
    "mV"
)
