"""A benchmark network written as a brainpy-style script against the same network declared.

The script form is what a port of a brainpy.state program looks like: a step function
that calls the projections and the population (``E(spikes[:n_exc])``, ``I(...)``,
``pop()``), handed to ``refsim.run``; on the numba backend refsim captures it (its first
two steps run the NumPy code, watched: :mod:`refsim.capture`) and runs the rest compiled.
The declared form (:class:`COBANet`, :class:`CUBANet`, :class:`BrunelNet`) is one compiled
loop from the first step.  Both run the same network from the same initial state in this
process, alternated, and must give the same spikes; the ratio of their run times
(``RunResult.wall_s``: the steps, without compiling) is the cost of writing a script.

Usage::

    python benchmarks/script_vs_network.py [--model coba|cuba|brunel] [--N 4000]
        [--duration 1.0] [--repeats 3]

Prints one ``RESULT {json}`` line per form and repeat, then the medians and their ratio.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import quantities as pq

import refsim
from refsim.backends import BackendFallbackWarning
from refsim.validation.networks import BrunelNet, COBANet, CUBANet

MODELS = {"coba": COBANet, "cuba": CUBANet, "brunel": BrunelNet}


def _network(model: str, N: int, seed: int):
    refsim.random.seed(seed)  # the initial potentials
    net = MODELS[model](N, seed)
    refsim.init_all_states(net)
    if hasattr(net, "kick_start"):
        net.kick_start(seed)
    return net


def _script_step(net):
    """The brainpy-style step of ``net``'s model: its two projections fed the last step's
    spikes of their part of the population, then the population (a PoissonInput onto it
    steps with it, as it does in the declared form)."""

    def step():
        spikes = net.pop.get_spike() != 0  # last step's spikes
        net.E(spikes[: net.n_exc])
        net.I(spikes[net.n_exc :])
        net.pop()

    return step


def measure(form: str, N: int, duration_s: float, seed: int, model: str = "coba") -> dict:
    """One run of ``form`` ('script' or 'network') on the numba backend: its seconds."""
    net = _network(model, N, seed)
    step = _script_step(net) if form == "script" else net
    with refsim.use_backend("numba"), warnings.catch_warnings():
        warnings.simplefilter("ignore", BackendFallbackWarning)  # the script's: measured here
        t0 = time.perf_counter()
        res = refsim.run(step, duration_s * 1000 * pq.ms, monitors={"spikes": net.pop})
        wall = time.perf_counter() - t0
    return {
        "form": form,
        "model": model,
        "N": N,
        "engine": res.engine,
        "run_s": res.wall_s,
        "compile_s": res.compile_s,
        "wall_s": wall,
        "spikes": res["spikes"].count,
        "_spikes": (res["spikes"].steps.copy(), res["spikes"].indices_fired.copy()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="coba")
    parser.add_argument("--N", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    runs = {"script": [], "network": []}
    for _ in range(args.repeats):
        for form in runs:  # alternated
            r = measure(form, args.N, args.duration, args.seed, args.model)
            spikes = r.pop("_spikes")
            runs[form].append((r, spikes))
            print("RESULT " + json.dumps(r), flush=True)
    (a, sa), (b, sb) = runs["script"][0], runs["network"][0]
    same = np.array_equal(sa[0], sb[0]) and np.array_equal(sa[1], sb[1])
    medians = {
        form: sorted(r["run_s"] for r, _ in rs)[len(rs) // 2] / args.duration
        for form, rs in runs.items()
    }
    print(
        f"\n{args.model.upper()} N={args.N}, numba backend: script ({a['engine']}) "
        f"{medians['script']:.3f} s per simulated second, network ({b['engine']}) "
        f"{medians['network']:.3f} s (medians of {args.repeats}): the script takes "
        f"{medians['script'] / medians['network']:.2f}x the network's time; "
        f"same spikes: {same} ({a['spikes']})"
    )


if __name__ == "__main__":
    main()
