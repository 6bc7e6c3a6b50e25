"""A synapse model of your own, written in this file, runs compiled.

``RisingSynapse`` gives each event a rise time: the event jumps a hidden state ``h``,
which the conductance ``g`` follows (a difference of exponentials, written as two linear
equations)::

    tau_rise  dh/dt = -h          h -> h + w at each event
    tau_decay dg/dt = -g + h      the output: scale * g

Its NumPy ``step`` is the reference.  To run compiled it declares, once, on its class,
its scalar twins (one synapse, plain float arithmetic) and the names they take: the numba
loop and the GPU kernels then step it as a row of its target population, before the
membranes, with nothing in refsim edited (``docs/extending.md``).  The script runs one
network of LIF neurons on numpy and numba (and cupy where a GPU is usable) and checks
that the runs are the same, bit for bit.

Run::

    python examples/your_own_synapse.py
"""

import numpy as np
import quantities as pq

import refsim
from refsim import fmath
from refsim.init import Constant, unit_of
from refsim.integrators import exp_euler, exp_euler_scalar
from refsim.module import Synapse

# -- the scalar twins: one synapse, the order of one step of the NumPy step ----------------


def rising_step_scalar(g, h, events, tau_rise, tau_decay, dt):
    """Exponential Euler of g (driven by the old h), then of h, which takes the events."""
    g_new = exp_euler_scalar(
        g, (-g + h) / tau_decay, fmath.exprel_scalar(dt * (-1.0 / tau_decay)), dt
    )
    h_new = exp_euler_scalar(h, -h / tau_rise, fmath.exprel_scalar(dt * (-1.0 / tau_rise)), dt)
    return g_new, h_new + events


def rising_output_scalar(g, scale):
    """What the output (COBA, CUBA) reads."""
    return scale * g


class RisingSynapse(Synapse):
    """A conductance with a rise time (see the module text)."""

    align_post = True  # linear in its events: projections onto one target may share it
    # what the compiled backends need: the states, the parameters the twins read (by
    # name), the step and the output
    compiled = refsim.SynapseTwins(
        states=("g", "h"),
        params=("tau_rise", "tau_decay", "scale"),
        step=rising_step_scalar,
        output=rising_output_scalar,
    )

    def __init__(
        self,
        in_size,
        tau_rise=1.0 * pq.ms,
        tau_decay=5.0 * pq.ms,
        scale=1.0,
        g_initializer=Constant(0.0 * pq.mS),
        name=None,
    ):
        super().__init__(in_size, name=name)
        self._param("tau_rise", tau_rise, pq.ms, positive=True)
        self._param("tau_decay", tau_decay, pq.ms, positive=True)
        self._param("scale", scale, None)
        self.g_initializer = g_initializer
        self.g_unit = unit_of(g_initializer)  # events (the weights) carry g's unit

    def init_state(self, batch_size=None):
        self.g = self._new_state("g", self.g_initializer, self.g_unit, batch_size)
        self.h = self._new_state("h", self.g_initializer, self.g_unit, batch_size)

    def step(self, x=None):
        p, dt = self.p, refsim.environ.dt_ms()
        events = self.sum_delta_inputs(0.0)  # the projections' events, in feeding order
        if x is not None:
            events = events + x
        g, h = self.g.data, self.h.data
        self.g.data = exp_euler(g, (-g + h) / p.tau_decay, -1.0 / p.tau_decay, dt)
        self.h.data = exp_euler(h, -h / p.tau_rise, -1.0 / p.tau_rise, dt) + events
        return p.scale * self.g.data


N_EXC, N_INH = 800, 200


def build(seed: int = 11) -> tuple[refsim.Network, refsim.LIF, RisingSynapse]:
    """1000 LIF neurons: excitation through RisingSynapse, inhibition through Expon, both
    COBA, and a direct drive."""
    n = N_EXC + N_INH
    net = refsim.Network()
    pop = net.population(
        refsim.LIF(
            n,
            V_rest=-60 * pq.mV,
            V_th=-50 * pq.mV,
            V_reset=-60 * pq.mV,
            tau=20 * pq.ms,
            V_initializer=refsim.init.Uniform(-60.0, -50.0, unit=pq.mV),
        ),
        current=11.0 * pq.mA,
    )
    excitation = RisingSynapse(n, tau_rise=1 * pq.ms, tau_decay=5 * pq.ms)
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(N_EXC, n, 0.02, 0.6 * pq.mS, seed=seed),
            syn=excitation,
            out=refsim.COBA(E=0 * pq.mV),
            post=pop,
        ),
        pre=pop,
        start=0,
        stop=N_EXC,
    )
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(N_INH, n, 0.02, 6.7 * pq.mS, seed=seed + 1),
            syn=refsim.Expon.desc(n, tau=10 * pq.ms),
            out=refsim.COBA.desc(E=-80 * pq.mV),
            post=pop,
        ),
        pre=pop,
        start=N_EXC,
        stop=n,
    )
    refsim.random.seed(seed)  # the initial potentials
    refsim.init_all_states(net)
    return net, pop, excitation


def main() -> None:
    runs = {}
    cupy_usable, cupy_detail = refsim.backends.available()["cupy"]
    if not cupy_usable:
        print(f"cupy   not run here: {cupy_detail}")
    for backend in ("numpy", "numba") + (("cupy",) if cupy_usable else ()):
        net, pop, excitation = build()
        with refsim.use_backend(backend):
            res = refsim.run(
                net, 200 * pq.ms, monitors={"spikes": pop, "h": excitation.h}, progress=False
            )
        runs[backend] = res, pop.V.data.copy(), excitation.g.data.copy()
        print(
            f"{backend:6s} engine {res.engine}: {res['spikes'].count} spikes, "
            f"run {res.wall_s:.2f} s (compile {res.compile_s:.2f} s)"
        )
    a, Va, ga = runs["numpy"]
    for backend, (b, Vb, gb) in runs.items():
        same = (
            np.array_equal(a["spikes"].steps, b["spikes"].steps)
            and np.array_equal(a["spikes"].indices_fired, b["spikes"].indices_fired)
            and np.array_equal(Va, Vb)
            and np.array_equal(ga, gb)
            and np.array_equal(a["h"].magnitude, b["h"].magnitude)
        )
        if backend != "numpy":
            print(f"same spikes and states on numpy and {backend}: {same}")
    h = b["h"]
    print(
        f"rising state h recorded: {h.shape}, its largest value "
        f"{float(h.magnitude.max()):.3f} {h.dimensionality}"
    )


if __name__ == "__main__":
    main()
