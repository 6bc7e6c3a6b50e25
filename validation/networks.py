"""The benchmark networks, shared by the benchmarks and validation.

``COBANet`` (benchmark 1) and ``CUBANet`` (benchmark 2) of Brette et al. (2007), with the
parameters of docs/performance.md, built as brainpy's scripts build them (fixed
out-degree 80); ``BrunelNet``, Brunel's (2000) sparsely connected network of
current-jump LIF neurons driven by Poisson input (model A, g = 5, eta = 2).
"""

from __future__ import annotations

import numpy as np
import quantities as pq

import refsim

__all__ = ["BrunelNet", "COBANet", "CUBANet"]


class COBANet(refsim.Network):
    """One LIFRef population and two AlignPost projections (E and I).

    ``in_degree`` synapses per neuron on average (0.8 of them excitatory), at every size:
    80 is the benchmark's p = 0.02 at N = 4000.
    """

    def __init__(self, N: int = 4000, seed: int = 1, in_degree: float = 80.0):
        super().__init__()
        self.n_exc = int(0.8 * N)
        p = in_degree / N  # fixed in-degree at every size
        self.pop = refsim.LIFRef(
            N,
            R=1.0 / (10.0 * pq.nS),
            tau=20.0 * pq.ms,
            tau_ref=5.0 * pq.ms,
            V_rest=-60.0 * pq.mV,
            V_th=-50.0 * pq.mV,
            V_reset=-60.0 * pq.mV,
            V_initializer=refsim.init.Uniform(-60.0, -50.0, unit=pq.mV),
            spk_reset="hard",
        )
        zero = refsim.init.Constant(0.0 * pq.nS)
        self.E = refsim.AlignPostProj(
            comm=refsim.EventFixedProb(self.n_exc, N, p, 6.0 * pq.nS, seed=seed),
            syn=refsim.Expon.desc(N, tau=5.0 * pq.ms, g_initializer=zero),
            out=refsim.COBA.desc(E=0.0 * pq.mV),
            post=self.pop,
        )
        self.I = refsim.AlignPostProj(
            comm=refsim.EventFixedProb(N - self.n_exc, N, p, 67.0 * pq.nS, seed=seed + 1),
            syn=refsim.Expon.desc(N, tau=10.0 * pq.ms, g_initializer=zero),
            out=refsim.COBA.desc(E=-80.0 * pq.mV),
            post=self.pop,
        )
        self._wire()

    def kick_start(self, seed: int) -> None:
        """Random initial conductances, as in the Brian2 and BrainPy scripts."""
        rng = np.random.default_rng(seed)
        N = self.pop.num
        self.E.syn.g.value = rng.normal(40.0, 15.0, N) * pq.nS
        self.I.syn.g.value = rng.normal(200.0, 120.0, N) * pq.nS

    def _wire(self) -> None:
        """Declare the step: E cells feed E, I cells feed I, then the population."""
        self.population(self.pop)
        self.project(self.E, self.pop, 0, self.n_exc)
        self.project(self.I, self.pop, self.n_exc, self.pop.num)


class CUBANet(refsim.Network):
    """As :class:`COBANet` with current-based synapses (benchmark 2)."""

    def __init__(self, N: int = 4000, seed: int = 1, in_degree: float = 80.0):
        super().__init__()
        self.n_exc = int(0.8 * N)
        p = in_degree / N
        self.pop = refsim.LIFRef(
            N,
            R=1.0 * pq.MOhm,
            tau=20.0 * pq.ms,
            tau_ref=5.0 * pq.ms,
            V_rest=-49.0 * pq.mV,
            V_th=-50.0 * pq.mV,
            V_reset=-60.0 * pq.mV,
            V_initializer=refsim.init.Uniform(-60.0, -50.0, unit=pq.mV),
            spk_reset="hard",
        )
        zero = refsim.init.Constant(0.0 * pq.nA)
        out = refsim.CUBA.desc(scale=1.0)
        self.E = refsim.AlignPostProj(
            comm=refsim.EventFixedProb(self.n_exc, N, p, 1.62 * pq.nA, seed=seed),
            syn=refsim.Expon.desc(N, tau=5.0 * pq.ms, g_initializer=zero),
            out=out,
            post=self.pop,
        )
        self.I = refsim.AlignPostProj(
            comm=refsim.EventFixedProb(N - self.n_exc, N, p, -9.0 * pq.nA, seed=seed + 1),
            syn=refsim.Expon.desc(N, tau=10.0 * pq.ms, g_initializer=zero),
            out=out,
            post=self.pop,
        )
        self._wire()

    def _wire(self) -> None:
        """Declare the step: E cells feed E, I cells feed I, then the population."""
        self.population(self.pop)
        self.project(self.E, self.pop, 0, self.n_exc)
        self.project(self.I, self.pop, self.n_exc, self.pop.num)


#: Brunel (2000), model A: in ms and mV; ``p`` the connection probability (a fixed
#: in-degree ``p N_E`` and ``p N_I``), ``g`` the relative inhibition, the external drive
#: ``poisson_n`` sources at ``poisson_hz`` each (with p = 0.1 at N = 5000, the 400
#: excitatory inputs' threshold rate is 25 Hz: eta = 1000 x 20 / (400 x 25) = 2)
BRUNEL = dict(
    tau=20.0,
    tau_ref=2.0,
    V_th=20.0,
    V_reset=10.0,
    J=0.1,
    g=5.0,
    p=0.1,
    delay=1.5,
    poisson_n=1000,
    poisson_hz=20.0,
)


class BrunelNet(refsim.Network):
    """Brunel's (2000) network: ``N`` LIFRef neurons (0.8 excitatory), DeltaProj jumps of
    ``J`` (excitatory) and ``-g J`` (inhibitory) after a delay of 1.5 ms from a fixed
    in-degree of ``p`` times each population, and a PoissonInput of 1000 sources at
    20 Hz (:data:`BRUNEL`).  ``in_degree``: the total in-degree, default ``p N``;
    ``drive``: the PoissonInput's (sources, rate in Hz), default (1000, 20)."""

    def __init__(
        self,
        N: int = 5000,
        seed: int = 1,
        in_degree: float | None = None,
        drive: tuple[int, float] | None = None,
    ):
        super().__init__()
        q = BRUNEL
        self.n_exc = int(0.8 * N)
        p = q["p"] if in_degree is None else in_degree / N
        self.pop = refsim.LIFRef(
            N,
            tau=q["tau"] * pq.ms,
            tau_ref=q["tau_ref"] * pq.ms,
            V_rest=0.0 * pq.mV,
            V_th=q["V_th"] * pq.mV,
            V_reset=q["V_reset"] * pq.mV,
            V_initializer=refsim.init.Uniform(0.0, q["V_th"], unit=pq.mV),
            spk_reset="hard",
        )
        n_inh = N - self.n_exc
        self.E = refsim.DeltaProj(
            comm=refsim.FixedInDegree(
                self.n_exc, N, round(p * self.n_exc), q["J"] * pq.mV, seed=seed
            ),
            post=self.pop,
            delay=q["delay"] * pq.ms,
        )
        self.I = refsim.DeltaProj(
            comm=refsim.FixedInDegree(
                n_inh, N, round(p * n_inh), -q["g"] * q["J"] * pq.mV, seed=seed + 1
            ),
            post=self.pop,
            delay=q["delay"] * pq.ms,
        )
        sources, rate_hz = (q["poisson_n"], q["poisson_hz"]) if drive is None else drive
        self.drive = refsim.PoissonInput(
            self.pop, sources, rate_hz * pq.Hz, q["J"] * pq.mV, seed=seed + 2
        )
        self.population(self.pop)
        self.project(self.E, self.pop, 0, self.n_exc)
        self.project(self.I, self.pop, self.n_exc, N)
