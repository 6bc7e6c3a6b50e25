"""The Potjans & Diesmann (2014) cortical microcircuit, compiled.

The model NEST and PyNN ship as their reference example: eight populations (excitatory and
inhibitory cells of layers 2/3, 4, 5 and 6), LIF neurons with exponential synaptic
currents, a fixed total number of synapses between each pair of populations
(``refsim.FixedTotalNumber``) with normal weights and a delay per synapse, and a Poisson
background aimed at each population's synaptic current (``refsim.PoissonInput`` onto the
merged ``Expon``). ``--scale 0.1`` (the default, NEST's example's) keeps 10 % of the neurons
and of the in-degrees, with stronger weights and a DC current making up for the inputs
lost. The network is ``refsim.validation.networks.MicrocircuitNet``; read it there.

The script runs 100 ms on NumPy and on numba and checks that the spikes are the same, then
runs ``--duration`` seconds on numba and prints each population's rate and the mean
coefficient of variation of its neurons' inter-spike intervals
(``microcircuit.spike_statistics``) beside the full model's rate (Potjans & Diesmann's
Table 6, as NEST's example lists them), and a raster.

Run::

    python examples/microcircuit.py [--scale 0.1] [--duration 1.0]
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np
import quantities as pq

import refsim
from refsim.validation import microcircuit
from refsim.validation.networks import MicrocircuitNet


def run(net: MicrocircuitNet, backend: str, duration_ms: float, t_start=0 * pq.ms):
    with refsim.use_backend(backend):
        return refsim.run(
            net,
            duration_ms * pq.ms,
            t_start=t_start,
            monitors={pop.name: pop for pop in net.pops},
            progress=False,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--duration", type=float, default=1.0, help="seconds on numba")
    args = parser.parse_args()
    with refsim.environ.context(dt=0.1 * pq.ms):
        runs = {}
        for backend in ("numpy", "numba"):
            net = refsim.init_all_states(MicrocircuitNet(args.scale, seed=1))
            runs[backend] = run(net, backend, 100.0)
        same = all(
            np.array_equal(runs["numpy"][p.name].steps, runs["numba"][p.name].steps)
            and np.array_equal(
                runs["numpy"][p.name].indices_fired, runs["numba"][p.name].indices_fired
            )
            for p in net.pops
        )
        n_syn = sum(proj.comm.nnz for proj in net.projections.values())
        print(f"{sum(p.num for p in net.pops)} neurons, {n_syn} synapses")
        print(f"first 100 ms on numpy and on {runs['numba'].engine}: same spikes: {same}")
        res = run(net, "numba", 1000 * args.duration, t_start=runs["numba"].next_t)
    print(f"{args.duration:g} s more on numba: {res.wall_s:.2f} s of run time")
    print("population  rate (Hz)  CV ISI  full model")
    t_from = runs["numba"].next_t.rescale(pq.ms).magnitude.item()  # after the first 100 ms
    for pop, full in zip(net.pops, microcircuit.FULL_MEAN_RATES, strict=True):
        spikes = res[pop.name]
        stats = microcircuit.spike_statistics(
            spikes.steps * 0.1, spikes.indices_fired, pop.num, t_from, t_from + 1000 * args.duration
        )
        print(f"{pop.name:10s} {stats['rate_hz']:9.2f} {stats['cv_isi']:7.2f}  {full:10.3f}")
    figure, axes = plt.subplots(figsize=(7, 5))
    offset = 0
    for pop in net.pops:
        spikes = res[pop.name]
        axes.plot(spikes.steps * 0.1, offset + spikes.indices_fired, ",", color="k")  # ms
        axes.text(0, offset, pop.name, fontsize=7, va="bottom")
        offset += pop.num
    axes.set_xlabel("time (ms)")
    axes.set_ylabel("neuron")
    figure.savefig("microcircuit_raster.png", dpi=120)
    print("raster: microcircuit_raster.png")


if __name__ == "__main__":
    main()
