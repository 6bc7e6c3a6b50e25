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
from refsim.validation.networks import BRUNEL as NETWORK
from refsim.validation.networks import BrunelNet, COBANet, CUBANet

SEEDS = (1, 2, 3, 4, 5)
WHY = (
    "a peer's single run against refsim's spread over 5 seeds: "
    "3 sd sqrt(1 + 1/5) (99.7% prediction interval)"
)

#: rates (Hz) measured by the peers on this machine kind (shared/anchors/perf.md)
PEER_RATES = {
    "coba": {
        "Brian2 cpp_standalone": 20.1,
        "BrainPy brainpy.state": 18.2,
        "NEST iaf_cond_exp 1 thread": 18.7,
        "NEST iaf_cond_exp 2 threads": 18.7,
    },
    "cuba": {
        "Brian2 cpp_standalone": 5.6,
        "BrainPy brainpy.state": 5.5,
        "NEST iaf_psc_exp 1 thread": 5.6,
        "NEST iaf_psc_exp 2 threads": 5.3,
    },
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
        metrics = [
            Metric(
                f"|refsim mean {mean:.2f} Hz - {peer} {rate} Hz|", abs(mean - rate), half_width, WHY
            )
            for peer, rate in PEER_RATES[model].items()
        ]
        peers = np.array(list(PEER_RATES[model].values()))
        return metrics, [
            Curve(
                f"{model.upper()} rate: refsim seeds vs peers",
                np.arange(peers.size),
                peers,
                np.full(peers.size, mean),
                xlabel="peer",
                ylabel="rate (Hz)",
            )
        ]

    return run


for _model in ("coba", "cuba"):
    case(
        f"statistical/{_model}_rates",
        "statistical",
        f"{_model.upper()} benchmark, 4000 neurons, 1 s, seeds 1-5: rate vs Brian2, BrainPy, NEST",
    )(_rate_case(_model))


# --- Brunel (2000): a sparse network in its asynchronous irregular state -------------


def siegert_rate(
    mu: float,
    sigma: float,
    tau: float = 20.0,
    tau_ref: float = 2.0,
    theta: float = 20.0,
    V_r: float = 10.0,
) -> float:
    r"""Mean-field rate (1/ms) of a LIF neuron under white noise (Siegert formula).

    .. math:: \nu = \Big[\tau_{ref} + \tau\sqrt{\pi}\int_{(V_r-\mu)/\sigma}^{(\theta-\mu)/\sigma}
              e^{u^2}(1 + \mathrm{erf}\,u)\,du\Big]^{-1}

    using :math:`e^{u^2}(1 + \mathrm{erf}\,u) = \mathrm{erfcx}(-u)` for stability.
    """
    from scipy.integrate import quad
    from scipy.special import erfcx

    integral, _ = quad(lambda u: erfcx(-u), (V_r - mu) / sigma, (theta - mu) / sigma, limit=200)
    return 1.0 / (tau_ref + tau * np.sqrt(np.pi) * integral)


def brunel_prediction(
    J: float,
    g: float,
    eta: float,
    C_E: int,
    gamma: float = 0.25,
    tau: float = 20.0,
    theta: float = 20.0,
) -> tuple[float, float]:
    """Self-consistent rate (1/ms) of Brunel's model A and the external rate it assumes."""
    from scipy.optimize import brentq

    nu_ext = eta * theta / (J * C_E * tau)

    def mismatch(nu):
        mu = C_E * J * tau * (nu_ext + nu * (1 - g * gamma))
        sigma = np.sqrt(C_E * J**2 * tau * (nu_ext + nu * (1 + g**2 * gamma)))
        return siegert_rate(mu, sigma) - nu

    return brentq(mismatch, 1e-6, 0.5), nu_ext


#: the case's run of BrunelNet (its J, g, delay: networks.BRUNEL); eta sets the drive
BRUNEL = {
    "N_E": 8000,
    "eta": 2.0,
    "T_ms": 600.0,
    "transient_ms": 100.0,
}


def brunel_network_rate(seed: int = 1, N_E: int = BRUNEL["N_E"]):
    """Simulated and predicted rates (Hz) of the Brunel network (model A, J = 0.1 mV),
    and the population rate (Hz) in 5 ms bins."""
    p = BRUNEL
    C_E, N = N_E // 10, N_E + N_E // 4
    nu, nu_ext = brunel_prediction(NETWORK["J"], NETWORK["g"], p["eta"], C_E)
    refsim.random.seed(seed)
    net = BrunelNet(N, seed, drive=(C_E, nu_ext * 1000))  # C_E sources at the eta rate
    pop = net.pop
    refsim.init_all_states(net)
    with refsim.environ.context(dt=0.1 * pq.ms):
        res = refsim.run(net, p["T_ms"] * pq.ms, monitors={"spikes": pop})
    steps = res["spikes"].steps
    late = steps >= int(p["transient_ms"] / 0.1)
    rate = late.sum() / N / ((p["T_ms"] - p["transient_ms"]) / 1000.0)
    binned = np.bincount(steps // 50, minlength=int(p["T_ms"] / 5)) / N / 0.005
    return float(rate), nu * 1000.0, binned


@case(
    "statistical/brunel_siegert",
    "statistical",
    "Brunel (2000) model A, 10000 LIF, g = 5, eta = 2 (asynchronous irregular): rate vs the "
    "Siegert mean-field prediction",
)
def brunel_siegert():
    rate, predicted, binned = brunel_network_rate()
    t = (np.arange(binned.size) + 0.5) * 5.0
    return [
        Metric(
            f"|rate {rate:.2f} Hz - Siegert {predicted:.2f} Hz| / Siegert",
            abs(rate - predicted) / predicted,
            0.10,
            "diffusion approximation of shot noise (J/theta = 0.005) and 800 inputs per "
            "neuron: Brunel (2000) finds agreement within ~10%",
        )
    ], [
        Curve(
            "Brunel network: population rate (reference: Siegert)",
            t,
            np.full(t.size, predicted),
            binned,
            ylabel="rate (Hz), 5 ms bins",
        )
    ]
