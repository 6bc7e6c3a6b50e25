r"""Short-term plasticity of release (Tsodyks-Markram): STP and STD.

STP (facilitation and depression), with a presynaptic spike :math:`s \in \{0, 1\}`:

.. math::

    \tau_f \frac{du}{dt} = -u, \quad \tau_d \frac{dx}{dt} = 1 - x; \qquad
    u \leftarrow u' + s U (1 - u), \quad \text{release} = u\,x', \quad
    x \leftarrow x' - s\,u\,x

where primes are the values after this step's exponential Euler (the jumps use the
values from before it, as brainpy does).  The output is ``release * s``.  STD keeps only
:math:`x`: :math:`x \leftarrow x' - s U x`, output ``x' * s``.  Outputs are fractions (pure
numbers) that scale a synapse's events.
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import environ, fmath
from refsim.init import Constant
from refsim.integrators import exp_euler, exp_euler_scalar
from refsim.module import Synapse

__all__ = ["STP", "STD"]


def _fraction_used(synapse: Synapse, U) -> np.ndarray:
    """The parameter ``U`` of ``synapse``, checked to lie in [0, 1] (a fraction of the
    resources)."""
    data = synapse._param("U", U, None, nonnegative=True)
    if not np.all(data <= 1.0):
        raise ValueError(f"parameter 'U' must lie in [0, 1] (a fraction), got {U}")
    synapse.param_checks["U"] = "in [0, 1]"
    return data


class STP(Synapse):
    r"""Short-term facilitation and depression.

    Parameters
    ----------
    in_size : int or tuple of int
    U : float, default 0.15
        Release increment per spike (and the initial ``u``).
    tau_f : quantity, time, default 1500 ms
        Facilitation time constant.
    tau_d : quantity, time, default 200 ms
        Depression (recovery) time constant.
    """

    input_unit = None
    delta_unit = None
    takes_delta_inputs = False  # driven by spikes (update's argument), not by jumps

    def __init__(
        self, in_size, U=0.15, tau_f=1500.0 * pq.ms, tau_d=200.0 * pq.ms, name: str | None = None
    ):
        super().__init__(in_size, name=name)
        _fraction_used(self, U)
        self._param("tau_f", tau_f, pq.ms, positive=True)
        self._param("tau_d", tau_d, pq.ms, positive=True)

    @property
    def output_unit(self):
        return None

    def init_state(self, batch_size: int | None = None) -> None:
        self.u = self._new_state("u", Constant(float(self.p.U)), None, batch_size)
        self.x = self._new_state("x", Constant(1.0), None, batch_size)

    def step(self, pre_spike=None) -> np.ndarray:
        p = self.p
        dt = environ.dt_ms()
        s = 0.0 if pre_spike is None else np.asarray(pre_spike, dtype=self.dtype)
        u_old, x_old = self.u.data, self.x.data
        u = exp_euler(u_old, -u_old / p.tau_f, -1.0 / p.tau_f, dt)
        x = exp_euler(x_old, (1.0 - x_old) / p.tau_d, -1.0 / p.tau_d, dt)
        u = u + s * p.U * (1.0 - u_old)
        released = u * x
        self.u.data, self.x.data = u, x - s * u * x_old
        return released * s


class STD(Synapse):
    r"""Short-term depression.

    Parameters
    ----------
    in_size : int or tuple of int
    tau : quantity, time, default 200 ms
        Recovery time constant.
    U : float, default 0.07
        Fraction of the resources used per spike.
    """

    input_unit = None
    delta_unit = None
    takes_delta_inputs = False  # driven by spikes (update's argument), not by jumps

    def __init__(self, in_size, tau=200.0 * pq.ms, U=0.07, name: str | None = None):
        super().__init__(in_size, name=name)
        self._param("tau", tau, pq.ms, positive=True)
        _fraction_used(self, U)

    @property
    def output_unit(self):
        return None

    def init_state(self, batch_size: int | None = None) -> None:
        self.x = self._new_state("x", Constant(1.0), None, batch_size)

    def step(self, pre_spike=None) -> np.ndarray:
        p = self.p
        s = 0.0 if pre_spike is None else np.asarray(pre_spike, dtype=self.dtype)
        x_old = self.x.data
        x = exp_euler(x_old, (1.0 - x_old) / p.tau, -1.0 / p.tau, environ.dt_ms())
        self.x.data = x - s * p.U * x_old
        return x * s


# -- compiled twins (numba backend; checked against the step methods above) ---------------


def stp_step_scalar(
    u: float, x: float, s: float, U: float, tau_f: float, tau_d: float, dt: float
) -> tuple[float, float, float]:
    """:meth:`STP.step` of one element given its spike ``s`` (0 or 1): new ``u``, ``x``
    and the output ``release * s``."""
    u_new = exp_euler_scalar(u, -u / tau_f, fmath.exprel_scalar(dt * (-1.0 / tau_f)), dt)
    x_new = exp_euler_scalar(x, (1.0 - x) / tau_d, fmath.exprel_scalar(dt * (-1.0 / tau_d)), dt)
    u_new = u_new + s * U * (1.0 - u)  # the jumps use the values from before the step
    return u_new, x_new - s * u_new * x, u_new * x_new * s


def std_step_scalar(x: float, s: float, tau: float, U: float, dt: float) -> tuple[float, float]:
    """:meth:`STD.step` of one element given its spike ``s``: new ``x`` and the output."""
    x_new = exp_euler_scalar(x, (1.0 - x) / tau, fmath.exprel_scalar(dt * (-1.0 / tau)), dt)
    return x_new - s * U * x, x_new * s
