"""Statistical cases: network firing rates against the peers measured on this machine.

The COBA and CUBA networks of Brette et al. (2007) (``refsim.validation.networks``) run
for 1 s with five seeds.  Each peer's rate (``shared/anchors/perf.md``: one run of one
seed each, with its own random draws) must fall inside the 99.7% prediction interval of
one run drawn from refsim's seed-to-seed distribution,
``mean +- 3 sd sqrt(1 + 1/n)``.  The peers use other connectivity rules (Brian2 and NEST
draw Bernoulli pairs, brainpy a fixed out-degree, as refsim does) and other integrators
(NEST's COBA is adaptive RK45), so agreement within the spread, not bitwise, is the claim.
"""

from __future__ import annotations

import numpy as np
import quantities as pq

import refsim
from refsim.validation import Curve, Metric, case
from refsim.validation.networks import COBANet, CUBANet

SEEDS = (1, 2, 3, 4, 5)
WHY = ("a peer's single run against refsim's spread over 5 seeds: "
       "3 sd sqrt(1 + 1/5) (99.7% prediction interval)")

#: rates (Hz) measured by the peers on this machine kind (shared/anchors/perf.md)
PEER_RATES = {
    "coba": {"Brian2 cpp_standalone": 20.1, "BrainPy brainpy.state": 18.2,
             "NEST iaf_cond_exp 1 thread": 18.7, "NEST iaf_cond_exp 2 threads": 18.7},
    "cuba": {"Brian2 cpp_standalone": 5.6, "BrainPy brainpy.state": 5.5,
             "NEST iaf_psc_exp 1 thread": 5.6, "NEST iaf_psc_exp 2 threads": 5.3},
}


def network_rates(model: str, seeds=SEEDS, N: int = 4000, duration_ms: float = 1000.0):
    """Mean firing rate (Hz) of the network for each seed."""
    rates = []
    for seed in seeds:
        refsim.random.seed(seed)
        net = (COBANet if model == "coba" else CUBANet)(N, seed)
        refsim.init_all_states(net)
        if model == "coba":
            net.kick_start(seed)
        with refsim.environ.context(dt=0.1 * pq.ms):
            res = refsim.run(net.update, duration_ms * pq.ms, monitors={"spikes": net.pop})
        rates.append(res["spikes"].count / N / (duration_ms / 1000.0))
    return np.array(rates)


def _rate_case(model: str):
    def run():
        rates = network_rates(model)
        mean, sd = rates.mean(), rates.std(ddof=1)
        half_width = 3 * sd * np.sqrt(1 + 1 / rates.size)
        metrics = [Metric(f"|refsim mean {mean:.2f} Hz - {peer} {rate} Hz|", abs(mean - rate),
                          half_width, WHY) for peer, rate in PEER_RATES[model].items()]
        peers = np.array(list(PEER_RATES[model].values()))
        return metrics, [Curve(f"{model.upper()} rate: refsim seeds vs peers",
                               np.arange(peers.size), peers, np.full(peers.size, mean),
                               xlabel="peer", ylabel="rate (Hz)")]

    return run


for _model in ("coba", "cuba"):
    case(f"statistical/{_model}_rates", "statistical",
         f"{_model.upper()} benchmark, 4000 neurons, 1 s, seeds 1-5: rate vs Brian2, BrainPy, "
         "NEST")(_rate_case(_model))
