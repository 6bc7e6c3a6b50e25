"""A neuron model of your own, written in this file, runs compiled.

``ThetaLIF`` is a leaky integrate-and-fire neuron whose threshold rises by ``delta`` at
each spike and relaxes back with ``tau_theta`` (an adaptive threshold)::

    tau dV/dt           = -(V - V_rest) + R I
    tau_theta dtheta/dt = -theta
    spike: V >= V_th + theta;  then V -> V_reset, theta -> theta + delta

Its NumPy ``update`` is the reference.  To run compiled it declares, once, on its class,
its scalar twins (one neuron, plain float arithmetic), the names they take and that its
update adds the jumps of a Poisson background after its step; the numba
loop and the GPU kernels then call them, with nothing in refsim edited
(``docs/extending.md`` walks through it).  The script runs one network on numpy and
numba (and cupy where a GPU is usable) and checks that the runs are the same, bit for bit.

Run::

    python examples/your_own_neuron.py
"""

import numpy as np
import quantities as pq

import refsim
from refsim import fmath
from refsim.integrators import exp_euler, exp_euler_scalar
from refsim.neurons.base import SpikingNeuron

# -- the scalar twins: one neuron, the order of one step of the NumPy update ----------------


def theta_reset_scalar(V, theta, spike, V_reset, delta):
    """After a spike: V to V_reset, the threshold up by delta."""
    if spike:
        return V_reset, theta + delta
    return V, theta


def theta_step_scalar(V, theta, current, slope, R, tau, V_rest, tau_theta, dt):
    """Exponential Euler of V (its drift and slope at the post-reset V), then of theta."""
    drift = (-(V - V_rest) + R * current) / tau
    V_new = exp_euler_scalar(V, drift, fmath.exprel_scalar(dt * (-1.0 + R * slope) / tau), dt)
    theta_new = exp_euler_scalar(
        theta, -theta / tau_theta, fmath.exprel_scalar(dt * (-1.0 / tau_theta)), dt
    )
    return V_new, theta_new


def theta_spike_scalar(V, theta, V_th):
    return V >= V_th + theta


class ThetaLIF(SpikingNeuron):
    """A LIF neuron with an adaptive threshold ``V_th + theta`` (see the module text)."""

    # what the compiled backends need: the states besides V, the parameters the twins
    # read (by name), and the twins
    compiled = refsim.NeuronTwins(
        states=("theta",),
        params=("R", "tau", "V_rest", "V_th", "V_reset", "delta", "tau_theta"),
        reset=theta_reset_scalar,
        step=theta_step_scalar,
        spike=theta_spike_scalar,
        takes_jumps=True,  # update adds the jumps (PoissonInput, DeltaProj) to the stepped V
    )

    def __init__(
        self,
        in_size,
        R=1.0 * pq.ohm,
        tau=10.0 * pq.ms,
        V_rest=-65.0 * pq.mV,
        V_th=-50.0 * pq.mV,
        V_reset=-65.0 * pq.mV,
        delta=2.0 * pq.mV,
        tau_theta=100.0 * pq.ms,
        V_initializer=refsim.init.Constant(-65.0 * pq.mV),
        name=None,
    ):
        super().__init__(in_size, "hard", name)
        self._param("R", R, pq.ohm, nonnegative=True)
        self._param("tau", tau, pq.ms, positive=True)
        self._param("V_rest", V_rest, pq.mV)
        self._param("V_th", V_th, pq.mV)
        self._param("V_reset", V_reset, pq.mV)
        self._param("delta", delta, pq.mV, nonnegative=True)
        self._param("tau_theta", tau_theta, pq.ms, positive=True)
        self._require_reset_below_threshold()
        self.V_initializer = V_initializer

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)
        self.theta = self._new_state("theta", refsim.init.Constant(0.0 * pq.mV), pq.mV, batch_size)

    def get_spike(self):
        return theta_spike_scalar(self.V.data, self.theta.data, self.p.V_th).astype(float)

    def update(self, x=None):
        p, dt = self.p, refsim.environ.dt_ms()
        spike = self.get_spike() > 0
        V = np.where(spike, p.V_reset, self.V.data)
        theta = np.where(spike, self.theta.data + p.delta, self.theta.data)
        current, slope = self.sum_current_inputs(self._external(x), V)
        drift = (-(V - p.V_rest) + p.R * current) / p.tau
        self.V.data = self.sum_delta_inputs(exp_euler(V, drift, (-1.0 + p.R * slope) / p.tau, dt))
        self.theta.data = exp_euler(theta, -theta / p.tau_theta, -1.0 / p.tau_theta, dt)
        return self.get_spike()


N_EXC, N_INH = 800, 200


def build(seed: int = 7) -> tuple[refsim.Network, ThetaLIF]:
    """1000 ThetaLIF neurons, excitation and inhibition by COBA synapses, a direct drive
    and a Poisson background (jumps of V: the update adds them after its step)."""
    n = N_EXC + N_INH
    net = refsim.Network()
    pop = net.population(
        ThetaLIF(n, V_initializer=refsim.init.Uniform(-65.0, -50.0, unit=pq.mV)),
        current=18.0 * pq.mA,
    )
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(N_EXC, n, 0.05, 0.6 * pq.mS, seed=seed),
            syn=refsim.Expon.desc(n, tau=5 * pq.ms),
            out=refsim.COBA.desc(E=0 * pq.mV),
            post=pop,
        ),
        pre=pop,
        start=0,
        stop=N_EXC,
    )
    net.project(
        refsim.AlignPostProj(
            comm=refsim.EventFixedProb(N_INH, n, 0.05, 6.7 * pq.mS, seed=seed + 1),
            syn=refsim.Expon.desc(n, tau=10 * pq.ms),
            out=refsim.COBA.desc(E=-80 * pq.mV),
            post=pop,
        ),
        pre=pop,
        start=N_EXC,
        stop=n,
    )
    net.background = refsim.PoissonInput(pop, 100, 10 * pq.Hz, 0.5 * pq.mV, seed=seed + 2)
    refsim.random.seed(seed)  # the initial potentials
    refsim.init_all_states(net)
    return net, pop


def main() -> None:
    runs = {}
    cupy_usable, cupy_detail = refsim.backends.available()["cupy"]
    if not cupy_usable:
        print(f"cupy   not run here: {cupy_detail}")
    for backend in ("numpy", "numba") + (("cupy",) if cupy_usable else ()):
        net, pop = build()
        with refsim.use_backend(backend):
            res = refsim.run(
                net, 200 * pq.ms, monitors={"spikes": pop, "theta": pop.theta}, progress=False
            )
        runs[backend] = res, pop.V.data.copy()
        print(
            f"{backend:6s} engine {res.engine}: {res['spikes'].count} spikes, "
            f"run {res.wall_s:.2f} s (compile {res.compile_s:.2f} s)"
        )
    a, Va = runs["numpy"]
    for backend, (b, Vb) in runs.items():
        same = (
            np.array_equal(a["spikes"].steps, b["spikes"].steps)
            and np.array_equal(a["spikes"].indices_fired, b["spikes"].indices_fired)
            and np.array_equal(Va, Vb)
            and np.array_equal(a["theta"].magnitude, b["theta"].magnitude)
        )
        if backend != "numpy":
            print(f"same spikes and states on numpy and {backend}: {same}")
    theta = b["theta"]
    print(
        f"threshold shift theta recorded: {theta.shape}, mean at the end "
        f"{float(theta[-1].mean()):.3f} {theta.dimensionality}"
    )


if __name__ == "__main__":
    main()
