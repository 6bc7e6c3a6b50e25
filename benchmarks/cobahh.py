"""The Brette et al. (2007) COBAHH benchmark (benchmark 3) on refsim.

4000 Hodgkin-Huxley neurons of the Traub-Miles type (3200 E / 800 I), membrane area
20000 um^2: C = 1 uF/cm^2, g_L = 5e-5 S/cm^2, E_L = -60 mV, g_Na = 100 mS/cm^2,
g_Kd = 30 mS/cm^2, E_Na = 50 mV, E_K = -90 mV, V_T = -63 mV; exponential conductances
tau_e = 5 ms, tau_i = 10 ms, E_e = 0 mV, E_i = -80 mV, weights 6 nS and 67 nS,
connection probability 0.02 (brainpy's fixed out-degree draw); a spike is an upward
crossing of -20 mV; V0 = E_L + (5 N(0,1) - 5) mV, ge0 = (1.5 N(0,1) + 4) * 10 nS,
gi0 = (12 N(0,1) + 20) * 10 nS (Brian2's example).  dt = 0.1 ms.

The Traub-Miles neuron is defined here, as a user would define a model: a refsim
Neuron with its states, its equations and one exponential-Euler step.

Usage::

    python benchmarks/cobahh.py [--N 4000] [--duration 1.0] [--seed 1] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import quantities as pq

import refsim
from refsim import environ
from refsim.integrators import exp_euler, exprel
from refsim.neurons.base import ContinuousNeuron

AREA_CM2 = 20000e-8  # 20000 um^2


class TraubHH(ContinuousNeuron):
    r"""Hodgkin-Huxley neuron with Traub & Miles (1991) kinetics (Brette et al. 2007).

    .. math::

        C \frac{dV}{dt} = g_L (E_L - V) - g_{Na} m^3 h (V - E_{Na}) - g_K n^4 (V - E_K) + I

    with :math:`u = V - V_T` (mV, rates in 1/ms):
    :math:`\alpha_m = 0.32 \cdot 4 / \mathrm{exprel}((13 - u)/4)`,
    :math:`\beta_m = 0.28 \cdot 5 / \mathrm{exprel}((u - 40)/5)`,
    :math:`\alpha_h = 0.128 e^{(17 - u)/18}`, :math:`\beta_h = 4 / (1 + e^{(40 - u)/5})`,
    :math:`\alpha_n = 0.032 \cdot 5 / \mathrm{exprel}((15 - u)/5)`,
    :math:`\beta_n = 0.5 e^{(10 - u)/40}`.

    Parameters
    ----------
    in_size : int
    V_initializer : initializer
    """

    def __init__(self, in_size, V_initializer, name=None):
        super().__init__(in_size, name=name)
        self._param("C", 1.0 * AREA_CM2 * pq.uF, pq.uF, positive=True)
        self._param("gL", 5e-5 * AREA_CM2 * pq.S, pq.S, nonnegative=True)
        self._param("gNa", 100e-3 * AREA_CM2 * pq.S, pq.S, nonnegative=True)
        self._param("gK", 30e-3 * AREA_CM2 * pq.S, pq.S, nonnegative=True)
        self.EL, self.ENa, self.EK, self.VT = -60.0, 50.0, -90.0, -63.0  # mV
        self._param("V_th", -20.0 * pq.mV, pq.mV)
        self.V_initializer = V_initializer

    def scaled_potential(self, V):
        """``V - V_th``: a spike is the upward crossing of -20 mV (Brian2's ``v > -20*mV``).
        brainpy's ``(V - V_th) / V_th`` of the HH family is inverted by a negative
        ``V_th`` (it would count the downward crossings)."""
        return V - self.p.V_th

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)
        for gate in ("m", "h", "n"):
            setattr(self, gate, self._new_state(gate, refsim.init.Constant(0.0), None, batch_size))

    def rates(self, V):
        u = V - self.VT
        return {
            "m": (0.32 * 4.0 / exprel((13.0 - u) / 4.0), 0.28 * 5.0 / exprel((u - 40.0) / 5.0)),
            "h": (0.128 * np.exp((17.0 - u) / 18.0), 4.0 / (1.0 + np.exp((40.0 - u) / 5.0))),
            "n": (0.032 * 5.0 / exprel((15.0 - u) / 5.0), 0.5 * np.exp((10.0 - u) / 40.0)),
        }

    def update(self, x=None):
        dt = environ.dt_ms()
        V_old = self.V.data
        I, dI = self.sum_current_inputs(self._external(x), V_old)  # COBA: g (E - V), slope -g
        p = self.p
        g_Na = p.gNa * self.m.data**3 * self.h.data
        g_K = p.gK * self.n.data**4
        drift = (
            p.gL * (self.EL - V_old) - g_Na * (V_old - self.ENa) - g_K * (V_old - self.EK) + I
        ) / p.C
        jacobian = (-p.gL - g_Na - g_K + dI) / p.C
        V = exp_euler(V_old, drift, jacobian, dt)
        for gate, (alpha, beta) in self.rates(V_old).items():
            x_old = getattr(self, gate).data
            getattr(self, gate).data = exp_euler(
                x_old, alpha * (1 - x_old) - beta * x_old, -(alpha + beta), dt
            )
        self.V.data = V
        self.spike = self.crossing(V_old, V)
        return self.spike


class COBAHHNet(refsim.Module):
    def __init__(self, N=4000, seed=1):
        super().__init__()
        self.n_exc = int(0.8 * N)
        p = 0.02 * 4000.0 / N
        rng = np.random.default_rng(seed)
        V0 = -60.0 + (rng.standard_normal(N) * 5.0 - 5.0)
        self.pop = TraubHH(N, V_initializer=V0 * pq.mV)
        self._rng_seed = seed
        nS0 = refsim.init.Constant(0.0 * pq.nS)
        self.E = refsim.AlignPostProj(
            comm=refsim.EventFixedProb(self.n_exc, N, p, 6.0 * pq.nS, seed=seed),
            syn=refsim.Expon.desc(N, tau=5.0 * pq.ms, g_initializer=nS0),
            out=refsim.COBA.desc(E=0.0 * pq.mV),
            post=self.pop,
        )
        self.I = refsim.AlignPostProj(
            comm=refsim.EventFixedProb(N - self.n_exc, N, p, 67.0 * pq.nS, seed=seed + 1),
            syn=refsim.Expon.desc(N, tau=10.0 * pq.ms, g_initializer=nS0),
            out=refsim.COBA.desc(E=-80.0 * pq.mV),
            post=self.pop,
        )

    def kick_start(self):
        rng = np.random.default_rng(self._rng_seed + 100)
        N = self.pop.num
        self.E.syn.g.value = (rng.standard_normal(N) * 1.5 + 4.0) * 10.0 * pq.nS
        self.I.syn.g.value = (rng.standard_normal(N) * 12.0 + 20.0) * 10.0 * pq.nS

    def update(self):
        spikes = getattr(self.pop, "spike", np.zeros(self.pop.num)) != 0
        self.E(spikes[: self.n_exc])
        self.I(spikes[self.n_exc :])
        return self.pop()


def measure(N: int, duration_s: float, seed: int) -> dict:
    import time

    t0 = time.perf_counter()
    net = COBAHHNet(N, seed)
    refsim.init_all_states(net)
    net.kick_start()
    build_s = time.perf_counter() - t0
    counter = {"spikes": 0}

    def step():
        counter["spikes"] += int(net.update().sum())

    with refsim.environ.context(dt=0.1 * pq.ms):
        res = refsim.run(step, duration_s * 1000 * pq.ms)
    return dict(
        sim="refsim",
        version=refsim.__version__,
        backend=res.engine,
        model="cobahh",
        N=N,
        seed=seed,
        build_s=round(build_s, 4),
        run_s=round(res.wall_s, 4),
        spikes=counter["spikes"],
        rate_hz=round(counter["spikes"] / N / duration_s, 3),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--N", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    for _ in range(args.repeats):
        r = measure(args.N, args.duration, args.seed)
        print("RESULT " + json.dumps(r), flush=True)
    print(
        f"\nCOBAHH N={args.N}: {r['run_s'] / args.duration:.3f} s per simulated second, "
        f"{r['spikes']} spikes, {r['rate_hz']} Hz ({r['backend']})"
    )


if __name__ == "__main__":
    main()
