"""The benchmark networks, shared by the benchmarks and validation.

``COBANet`` (benchmark 1), ``CUBANet`` (benchmark 2) and ``COBAHHNet`` (benchmark 3) of
Brette et al. (2007), with the parameters of docs/performance.md, built as brainpy's
scripts build them (fixed out-degree 80); ``BrunelNet``, Brunel's (2000) sparsely
connected network of current-jump LIF neurons driven by Poisson input (model A, g = 5,
eta = 2).  COBAHH's neuron, :class:`TraubHH`, is declared here as a user declares a model
of their own (``docs/extending.md``), and compiles that way.  ``MicrocircuitNet``: the
Potjans & Diesmann (2014) cortical microcircuit (:mod:`refsim.validation.microcircuit`).
"""

from __future__ import annotations

import numpy as np
import quantities as pq

import refsim
from refsim.fmath import exp, exp_scalar, exprel, exprel_scalar
from refsim.integrators import exp_euler, exp_euler_scalar
from refsim.neurons.base import ContinuousNeuron
from refsim.validation import microcircuit

__all__ = ["BrunelNet", "COBAHHNet", "COBANet", "CUBANet", "MicrocircuitNet", "TraubHH"]


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
        self._synapses(N, p, seed)
        self._wire()

    def _synapses(self, N: int, p: float, seed: int) -> None:
        """E (6 nS, 5 ms, 0 mV) and I (67 nS, 10 ms, -80 mV): Expon onto COBA outputs."""
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


# -- benchmark 3: COBAHH ----------------------------------------------------------------------
AREA_CM2 = 20000e-8  # the membrane area of Brette et al.'s cells: 20000 um^2


def traub_rates(V, VT):
    """The Traub & Miles rates (1/ms) at ``V`` (mV), ``u = V - V_T``: alpha and beta of
    ``m``, ``h`` and ``n``."""
    u = V - VT
    return (
        0.32 * 4.0 / exprel((13.0 - u) / 4.0),
        0.28 * 5.0 / exprel((u - 40.0) / 5.0),
        0.128 * exp((17.0 - u) / 18.0),
        4.0 / (1.0 + exp((40.0 - u) / 5.0)),
        0.032 * 5.0 / exprel((15.0 - u) / 5.0),
        0.5 * exp((10.0 - u) / 40.0),
    )


def traub_rates_scalar(V: float, VT: float):
    """The rates of one neuron (the compiled twin of :func:`traub_rates`)."""
    u = V - VT
    return (
        0.32 * 4.0 / exprel_scalar((13.0 - u) / 4.0),
        0.28 * 5.0 / exprel_scalar((u - 40.0) / 5.0),
        0.128 * exp_scalar((17.0 - u) / 18.0),
        4.0 / (1.0 + exp_scalar((40.0 - u) / 5.0)),
        0.032 * 5.0 / exprel_scalar((15.0 - u) / 5.0),
        0.5 * exp_scalar((10.0 - u) / 40.0),
    )


def traub_step_scalar(V, m, h, n, V_prev, current, slope, C, gL, gNa, gK, EL, ENa, EK, VT, dt):
    """One exponential-Euler step of one :class:`TraubHH` neuron: the new ``V``, ``m``,
    ``h``, ``n`` and ``V_prev`` (the ``V`` it started from)."""
    g_Na = gNa * (m * m * m) * h
    g_K = gK * (n * n * n * n)
    drift = (gL * (EL - V) - g_Na * (V - ENa) - g_K * (V - EK) + current) / C
    jacobian = (-gL - g_Na - g_K + slope) / C
    V_new = exp_euler_scalar(V, drift, exprel_scalar(dt * jacobian), dt)
    am, bm, ah, bh, an, bn = traub_rates_scalar(V, VT)
    m_new = exp_euler_scalar(m, am * (1.0 - m) - bm * m, exprel_scalar(dt * -(am + bm)), dt)
    h_new = exp_euler_scalar(h, ah * (1.0 - h) - bh * h, exprel_scalar(dt * -(ah + bh)), dt)
    n_new = exp_euler_scalar(n, an * (1.0 - n) - bn * n, exprel_scalar(dt * -(an + bn)), dt)
    return V_new, m_new, h_new, n_new, V


def traub_spike_scalar(V: float, V_prev: float, V_th: float) -> bool:
    """A spike: ``V`` crossed ``V_th`` upward in the last step (Brian2's ``v > -20*mV``
    with its refractory condition, ``v > -20*mV``, in the benchmark)."""
    return V - V_th >= 0.0 and V_prev - V_th < 0.0


class TraubHH(ContinuousNeuron):
    r"""Hodgkin-Huxley neuron with Traub & Miles (1991) kinetics (Brette et al. 2007).

    .. math::

        C \frac{dV}{dt} = g_L (E_L - V) - g_{Na} m^3 h (V - E_{Na}) - g_K n^4 (V - E_K) + I

    with the rates of :func:`traub_rates` and each gate
    :math:`dx/dt = \alpha_x (1 - x) - \beta_x x`, all by exponential Euler from the
    step's start.  A spike is the upward crossing of ``V_th`` (-20 mV), so the model keeps
    the potential it started the step from, ``V_prev``.

    Parameters
    ----------
    in_size : int
    V_initializer : initializer or quantity
    """

    compiled = refsim.NeuronTwins(
        states=("m", "h", "n", "V_prev"),
        params=("C", "gL", "gNa", "gK", "EL", "ENa", "EK", "VT", "V_th"),
        step=traub_step_scalar,
        spike=traub_spike_scalar,
        takes_jumps=True,  # its update adds them to the stepped V (sum_delta_inputs)
    )

    def __init__(self, in_size, V_initializer, name=None):
        super().__init__(in_size, name=name)
        self._param("C", 1.0 * AREA_CM2 * pq.uF, pq.uF, positive=True)
        self._param("gL", 5e-5 * AREA_CM2 * pq.S, pq.S, nonnegative=True)
        self._param("gNa", 100e-3 * AREA_CM2 * pq.S, pq.S, nonnegative=True)
        self._param("gK", 30e-3 * AREA_CM2 * pq.S, pq.S, nonnegative=True)
        for name_, mV in (("EL", -60.0), ("ENa", 50.0), ("EK", -90.0), ("VT", -63.0)):
            self._param(name_, mV * pq.mV, pq.mV)
        self._param("V_th", -20.0 * pq.mV, pq.mV)
        self.V_initializer = V_initializer

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)
        self.V_prev = self._new_state("V_prev", self.V.value, pq.mV, batch_size)
        for gate in ("m", "h", "n"):
            setattr(self, gate, self._new_state(gate, refsim.init.Constant(0.0), None, batch_size))

    def get_spike(self, V=None):
        V = self.V.data if V is None else V
        return ((V - self.p.V_th >= 0.0) & (self.V_prev.data - self.p.V_th < 0.0)).astype(float)

    def update(self, x=None):
        p, dt = self.p, refsim.environ.dt_ms()
        V, m, h, n = self.V.data, self.m.data, self.h.data, self.n.data
        current, slope = self.sum_current_inputs(self._external(x), V)  # COBA: g (E - V)
        g_Na = p.gNa * (m * m * m) * h
        g_K = p.gK * (n * n * n * n)
        drift = (p.gL * (p.EL - V) - g_Na * (V - p.ENa) - g_K * (V - p.EK) + current) / p.C
        jacobian = (-p.gL - g_Na - g_K + slope) / p.C
        am, bm, ah, bh, an, bn = traub_rates(V, p.VT)
        self.m.data = exp_euler(m, am * (1.0 - m) - bm * m, -(am + bm), dt)
        self.h.data = exp_euler(h, ah * (1.0 - h) - bh * h, -(ah + bh), dt)
        self.n.data = exp_euler(n, an * (1.0 - n) - bn * n, -(an + bn), dt)
        self.V_prev.data = V
        self.V.data = self.sum_delta_inputs(exp_euler(V, drift, jacobian, dt))  # the jumps
        return self.get_spike()


class COBAHHNet(COBANet):
    """Benchmark 3: :class:`COBANet`'s synapses onto ``N`` :class:`TraubHH` cells (0.8
    excitatory), fixed out-degree ``in_degree`` (80: p = 0.02 at N = 4000);
    ``V0 = E_L + (5 N(0, 1) - 5) mV`` (Brian2's example)."""

    def __init__(self, N: int = 4000, seed: int = 1, in_degree: float = 80.0):
        refsim.Network.__init__(self)
        self.n_exc = int(0.8 * N)
        V0 = -60.0 + (np.random.default_rng(seed).standard_normal(N) * 5.0 - 5.0)
        self.pop = TraubHH(N, V_initializer=V0 * pq.mV)
        self._synapses(N, in_degree / N, seed)
        self._wire()

    def kick_start(self, seed: int) -> None:
        """Initial conductances ``(1.5 N(0,1) + 4) * 10 nS`` and ``(12 N(0,1) + 20) * 10 nS``
        (Brian2's example)."""
        rng = np.random.default_rng(seed + 100)
        N = self.pop.num
        self.E.syn.g.value = (rng.standard_normal(N) * 1.5 + 4.0) * 10.0 * pq.nS
        self.I.syn.g.value = (rng.standard_normal(N) * 12.0 + 20.0) * 10.0 * pq.nS


# -- the Potjans-Diesmann microcircuit --------------------------------------------------------


class MicrocircuitNet(refsim.Network):
    """The Potjans & Diesmann (2014) microcircuit at ``scale`` of its neurons and
    ``k_scale`` of its in-degrees (default ``scale``; NEST's example: 0.1 and 0.1), as
    NEST's example builds it (:mod:`refsim.validation.microcircuit`).

    Eight :class:`refsim.LIFRef` populations (hard reset) in :attr:`pops`; for each pair of
    populations with synapses, an AlignPostProj of :class:`refsim.FixedTotalNumber`
    synapses with normal weights (pA) and per-synapse delays (ms) onto the target's
    exponential current (tau_syn 0.5 ms, CUBA; the projections onto one population share
    it); the Poisson background as a :class:`refsim.PoissonInput` onto that current
    (``ext_indegrees`` sources at 8 Hz each), and the DC that makes up for the scaled
    in-degrees.  NEST's neuron, ``iaf_psc_exp``, integrates exactly; refsim's LIFRef steps
    as brainpy.state does (exponential Euler, the current held over a step), so rates
    differ somewhat (``docs/performance.md``).
    """

    def __init__(self, scale: float = 0.1, k_scale: float | None = None, seed: int = 1):
        super().__init__()
        q, dt = microcircuit.PARAMS, float(refsim.environ.dt_ms())
        self.numbers = s = microcircuit.scaled(scale, scale if k_scale is None else k_scale)
        if s.num_neurons.min() < 1:
            empty = microcircuit.POPULATIONS[int(np.argmin(s.num_neurons))]
            raise ValueError(
                f"MicrocircuitNet: scale {scale} leaves {empty} without a neuron; use a "
                f"scale of at least {0.5 / microcircuit.FULL_NUM_NEURONS.min():.2g}"
            )
        self.pops = [
            refsim.LIFRef(
                int(n),
                R=q["tau_m"] / q["C_m"] * 1000.0 * pq.MOhm,  # ms / pF = 1000 MOhm
                tau=q["tau_m"] * pq.ms,
                tau_ref=q["t_ref"] * pq.ms,
                V_rest=q["E_L"] * pq.mV,
                V_th=q["V_th"] * pq.mV,
                V_reset=q["V_reset"] * pq.mV,
                V_initializer=refsim.init.Normal(
                    microcircuit.V0_MEAN[i], microcircuit.V0_STD[i], unit=pq.mV, seed=seed + i
                ),
                spk_reset="hard",
                name=microcircuit.POPULATIONS[i],
            )
            for i, n in enumerate(s.num_neurons)
        ]
        for i, pop in enumerate(self.pops):
            self.population(pop, current=s.dc[i] * pq.pA)
        self.projections = {}
        for i, j in zip(*np.nonzero(s.num_synapses), strict=True):
            rng = np.random.default_rng([seed, i, j])
            n = int(s.num_synapses[i, j])
            proj = refsim.AlignPostProj(
                comm=refsim.FixedTotalNumber(
                    self.pops[j].num,
                    self.pops[i].num,
                    n,
                    microcircuit.draw_weights(rng, s.weight_mean[i, j], n) * pq.pA,
                    seed=int(rng.integers(2**31)),
                ),
                syn=refsim.Expon.desc(
                    self.pops[i].num,
                    tau=q["tau_syn"] * pq.ms,
                    g_initializer=refsim.init.Constant(0.0 * pq.pA),
                ),
                out=refsim.CUBA.desc(scale=1.0),  # g is a current already
                post=self.pops[i],
                # those in [dt/2, dt) round to one step, as in NEST (refsim asks for >= dt)
                delay=np.maximum(microcircuit.draw_delays(rng, s.delay_mean[i, j], n, dt), dt)
                * pq.ms,
            )
            self.projections[i, j] = proj
            self.project(proj, self.pops[j])
        self.background = [self._background(i, seed) for i in range(len(self.pops))]

    def _background(self, i: int, seed: int) -> refsim.PoissonInput:
        """Population ``i``'s Poisson background, onto the current its projections share."""
        s, q = self.numbers, microcircuit.PARAMS
        current = next((p.syn for (t, _), p in self.projections.items() if t == i), None)
        if current is None:
            raise ValueError(
                f"MicrocircuitNet: at this scale {self.pops[i].name} receives no synapse, "
                "so it has no synaptic current for its Poisson background: use a larger scale"
            )
        return refsim.PoissonInput(
            current, int(s.ext_indegrees[i]), q["bg_rate"] * pq.Hz, s.weight_ext * pq.pA,
            seed=seed + 100 + i,
        )  # fmt: skip
