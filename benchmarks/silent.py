"""A silent network's speed as its conductances decay: the subnormal-number pitfall.

COBA (4000 by default) is held silent: every neuron starts at rest, the excitatory
conductances at up to 1 nS (too little to reach the threshold), the inhibitory ones at
their kick-start values (about 200 nS). With no spike, every conductance decays
geometrically, from about 1e-6 mS down into the subnormal numbers (below 2.2e-308), where
IEEE arithmetic on a CPU costs about a hundred times more and where ``g + f * (-g / tau)``
rounds back to ``g``, so that the conductances would stay there for ever. refsim stores a
subnormal state as 0 (``refsim.fmath.flush_subnormals``, ``docs/precision.md``), so the
run time per simulated second stays what it was in the first chunk.

The network runs in consecutive chunks of ``--chunk`` seconds; each prints its run time
per simulated second, the share of subnormal and of zero conductances at its end, and its
time over the first chunk's (the baseline, timed in the same run).

Usage::

    python benchmarks/silent.py [--N 4000] [--chunks 5] [--chunk 2.0] [--backend numba]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import quantities as pq

import refsim
from refsim.validation.networks import COBANet


def silent_coba(N: int, seed: int = 1) -> COBANet:
    """COBA at rest: no neuron reaches the threshold, every conductance decays."""
    net = COBANet(N, seed)
    refsim.init_all_states(net)
    net.kick_start(seed)
    net.pop.V.value = np.full(N, -60.0) * pq.mV
    net.E.syn.g.value = np.random.default_rng(seed).uniform(0.0, 1.0, N) * pq.nS
    net.I.syn.g.value = np.abs(net.I.syn.g.value)  # inhibition only pulls towards -80 mV
    return net


def _shares(net: COBANet) -> tuple[float, float]:
    g = np.concatenate([net.E.syn.g.data, net.I.syn.g.data])
    size = np.abs(g)
    subnormal = (size > 0) & (size < np.finfo(g.dtype).smallest_normal)
    return float(subnormal.mean()), float((g == 0).mean())


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--N", type=int, default=4000)
    parser.add_argument("--chunks", type=int, default=5)
    parser.add_argument("--chunk", type=float, default=2.0, help="seconds simulated per chunk")
    parser.add_argument("--backend", default="numba")
    args = parser.parse_args(argv)
    net = silent_coba(args.N)
    rows = []
    with refsim.use_backend(args.backend), refsim.environ.context(dt=0.1 * pq.ms):
        t_start = 0.0 * pq.ms
        for chunk in range(args.chunks):
            res = refsim.run(
                net,
                args.chunk * pq.second,
                t_start=t_start,
                progress=False,
                monitors={"s": net.pop},
            )
            t_start = res.next_t
            subnormal, zero = _shares(net)
            rows.append(
                {
                    "chunk": chunk,
                    "engine": res.engine,
                    "run_per_sim_s": res.wall_s / args.chunk,
                    "spikes": int(res["s"].count),
                    "subnormal_share": subnormal,
                    "zero_share": zero,
                }
            )
            row = rows[-1]
            row["over_first"] = row["run_per_sim_s"] / rows[0]["run_per_sim_s"]
            print("RESULT " + json.dumps(row))
            print(
                f"chunk {chunk} ({res.engine}): {row['run_per_sim_s']:.4f} s per simulated s, "
                f"{row['spikes']} spikes, conductances subnormal {subnormal:.0%}, zero "
                f"{zero:.0%}; over the first chunk {row['over_first']:.2f}"
            )
    return rows


if __name__ == "__main__":
    main()
