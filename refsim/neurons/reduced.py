r"""Reduced models with dimensionless variables: FitzHughNagumo, HindmarshRose.

No reset; ``update`` returns the upward crossing of :math:`V_{th}`.  Each variable is
integrated by exponential Euler with every *other* variable (and the input) at its old value.
"""

from __future__ import annotations

import quantities as pq

from refsim import environ
from refsim.fmath import exprel_scalar
from refsim.init import Constant
from refsim.integrators import exp_euler, exp_euler_scalar
from refsim.neurons.base import ContinuousNeuron

__all__ = [
    "FitzHughNagumo",
    "HindmarshRose",
    "fitzhugh_nagumo_step_scalar",
    "hindmarsh_rose_step_scalar",
    "fitzhugh_nagumo_derivatives_scalar",
    "hindmarsh_rose_derivatives_scalar",
]


class FitzHughNagumo(ContinuousNeuron):
    r"""FitzHugh-Nagumo (1961) excitable system.

    .. math::

        \tau \frac{dV}{dt} = V - \frac{V^3}{3} - w + I, \qquad
        \tau_w \frac{dw}{dt} = V + a - b w

    Parameters
    ----------
    in_size : int or tuple of int
    a, b : float, defaults 0.7, 0.8
    tau : quantity, time, default 1 ms
    tau_w : quantity, time, default 12.5 ms
    V_th : float, default 1.0
    V_initializer, w_initializer : initializer, defaults ``Constant(-1.2)``, ``Constant(-0.62)``

    The input is dimensionless.
    method : {'exp_euler', 'euler', 'rk2', 'rk4'}, default 'exp_euler'
        Integrator of the continuous dynamics: brainpy's exponential Euler, or an
        explicit method applied to the whole ODE system (see :meth:`derivatives`).
    """

    input_unit = None
    V_unit = None

    def __init__(
        self,
        in_size,
        a=0.7,
        b=0.8,
        tau=1.0 * pq.ms,
        tau_w=12.5 * pq.ms,
        V_th=1.0,
        V_initializer=Constant(-1.2),
        w_initializer=Constant(-0.62),
        spk_reset: str = "soft",
        method: str = "exp_euler",
        name: str | None = None,
    ):
        super().__init__(in_size, spk_reset, name)
        self._set_method(method)
        self._param("a", a, None)
        self._param("b", b, None)
        self._param("tau", tau, pq.ms, positive=True)
        self._param("tau_w", tau_w, pq.ms, positive=True)
        self._param("V_th", V_th, None)
        self._require_positive_threshold()
        self.V_initializer = V_initializer
        self.w_initializer = w_initializer

    @property
    def delta_unit(self):
        return None

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, None, batch_size)
        self.w = self._new_state("w", self.w_initializer, None, batch_size)

    def derivatives(self, y, current):
        """The FitzHugh-Nagumo equations at state ``y`` (V, w)."""
        p = self.p
        V, w = y["V"], y["w"]
        return {
            "V": (V - V * V * V / 3.0 - w + current(V)[0]) / p.tau,  # products:
            "w": (V + p.a - p.b * w) / p.tau_w,
        }  # the twin's bits

    def update(self, x=None):
        p = self.p
        dt = environ.dt_ms()
        V_old, w_old = self.V.data, self.w.data
        if self.method != "exp_euler":
            y = self.explicit({"V": V_old, "w": w_old}, self._external(x))
            self.w.data = y["w"]
            self.V.data = V = self.sum_delta_inputs(y["V"])
            return self.crossing(V_old, V)
        current, _ = self.sum_current_inputs(self._external(x), V_old)
        V = exp_euler(
            V_old,
            (V_old - V_old * V_old * V_old / 3.0 - w_old + current) / p.tau,
            (1.0 - V_old * V_old) / p.tau,
            dt,
        )  # products, as the compiled twin
        self.w.data = exp_euler(w_old, (V_old + p.a - p.b * w_old) / p.tau_w, -p.b / p.tau_w, dt)
        self.V.data = V = self.sum_delta_inputs(V)
        return self.crossing(V_old, V)


class HindmarshRose(ContinuousNeuron):
    r"""Hindmarsh-Rose (1984) bursting model.

    .. math::

        \tau \frac{dV}{dt} = y - a V^3 + b V^2 - z + I, \qquad
        \tau \frac{dy}{dt} = c - d V^2 - y, \qquad
        \tau \frac{dz}{dt} = r (s (V - V_r) - z)

    Parameters
    ----------
    in_size : int or tuple of int
    a, b, c, d : float, defaults 1, 3, 1, 5
    r : float, default 0.006
    s : float, default 4
    V_r : float, default -1.6
    tau : quantity, time, default 1 ms
    V_th : float, default 1.0
    V_initializer, y_initializer, z_initializer : initializer,
        defaults ``Constant(-1.6)``, ``Constant(-10)``, ``Constant(0)``

    The input is dimensionless.
    method : {'exp_euler', 'euler', 'rk2', 'rk4'}, default 'exp_euler'
        Integrator of the continuous dynamics: brainpy's exponential Euler, or an
        explicit method applied to the whole ODE system (see :meth:`derivatives`).
    """

    input_unit = None
    V_unit = None

    def __init__(
        self,
        in_size,
        a=1.0,
        b=3.0,
        c=1.0,
        d=5.0,
        r=0.006,
        s=4.0,
        V_r=-1.6,
        tau=1.0 * pq.ms,
        V_th=1.0,
        V_initializer=Constant(-1.6),
        y_initializer=Constant(-10.0),
        z_initializer=Constant(0.0),
        spk_reset: str = "soft",
        method: str = "exp_euler",
        name: str | None = None,
    ):
        super().__init__(in_size, spk_reset, name)
        self._set_method(method)
        for key, value in (
            ("a", a),
            ("b", b),
            ("c", c),
            ("d", d),
            ("r", r),
            ("s", s),
            ("V_r", V_r),
            ("V_th", V_th),
        ):
            self._param(key, value, None)
        self._param("tau", tau, pq.ms, positive=True)
        self._require_positive_threshold()
        self.V_initializer = V_initializer
        self.y_initializer = y_initializer
        self.z_initializer = z_initializer

    @property
    def delta_unit(self):
        return None

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, None, batch_size)
        self.y = self._new_state("y", self.y_initializer, None, batch_size)
        self.z = self._new_state("z", self.z_initializer, None, batch_size)

    def derivatives(self, state, current):
        """The Hindmarsh-Rose equations at ``state`` (V, y, z)."""
        p = self.p
        V, y, z = state["V"], state["y"], state["z"]
        V2 = V * V  # products, not pow, as the compiled twin
        return {
            "V": (y - p.a * (V2 * V) + p.b * V2 - z + current(V)[0]) / p.tau,
            "y": (p.c - p.d * V2 - y) / p.tau,
            "z": p.r * (p.s * (V - p.V_r) - z) / p.tau,
        }

    def update(self, x=None):
        p = self.p
        dt = environ.dt_ms()
        V_old, y, z = self.V.data, self.y.data, self.z.data
        if self.method != "exp_euler":
            new = self.explicit({"V": V_old, "y": y, "z": z}, self._external(x))
            self.y.data, self.z.data = new["y"], new["z"]
            self.V.data = V = self.sum_delta_inputs(new["V"])
            return self.crossing(V_old, V)
        current, _ = self.sum_current_inputs(self._external(x), V_old)
        V2 = V_old * V_old  # products, not pow, as the compiled twin
        V = exp_euler(
            V_old,
            (y - p.a * (V2 * V_old) + p.b * V2 - z + current) / p.tau,
            (-3.0 * p.a * V2 + 2.0 * p.b * V_old) / p.tau,
            dt,
        )
        self.y.data = exp_euler(y, (p.c - p.d * V2 - y) / p.tau, -1.0 / p.tau, dt)
        self.z.data = exp_euler(z, p.r * (p.s * (V_old - p.V_r) - z) / p.tau, -p.r / p.tau, dt)
        self.V.data = V = self.sum_delta_inputs(V)
        return self.crossing(V_old, V)


# -- compiled twins (numba backend; tests/backends/test_backends.py checks them bit for bit) -----


def fitzhugh_nagumo_step_scalar(
    V: float, w: float, current: float, a: float, b: float, tau: float, tau_w: float, dt: float
) -> tuple[float, float]:
    """:meth:`FitzHughNagumo.update` of one neuron: new ``V`` and ``w``."""
    V_new = exp_euler_scalar(
        V, (V - V * V * V / 3.0 - w + current) / tau, exprel_scalar(dt * ((1.0 - V * V) / tau)), dt
    )
    w_new = exp_euler_scalar(w, (V + a - b * w) / tau_w, exprel_scalar(dt * (-b / tau_w)), dt)
    return V_new, w_new


def hindmarsh_rose_step_scalar(
    V: float,
    y: float,
    z: float,
    current: float,
    a: float,
    b: float,
    c: float,
    d: float,
    r: float,
    s: float,
    V_r: float,
    tau: float,
    dt: float,
) -> tuple[float, float, float]:
    """:meth:`HindmarshRose.update` of one neuron: new ``V``, ``y`` and ``z``."""
    V2 = V * V
    V_new = exp_euler_scalar(
        V,
        (y - a * (V2 * V) + b * V2 - z + current) / tau,
        exprel_scalar(dt * ((-3.0 * a * V2 + 2.0 * b * V) / tau)),
        dt,
    )
    y_new = exp_euler_scalar(y, (c - d * V2 - y) / tau, exprel_scalar(dt * (-1.0 / tau)), dt)
    z_new = exp_euler_scalar(z, r * (s * (V - V_r) - z) / tau, exprel_scalar(dt * (-r / tau)), dt)
    return V_new, y_new, z_new


def fitzhugh_nagumo_derivatives_scalar(
    V: float, w: float, current: float, a: float, b: float, tau: float, tau_w: float
) -> tuple[float, float]:
    """:meth:`FitzHughNagumo.derivatives` of one neuron: ``dV/dt`` and ``dw/dt``."""
    return (V - V * V * V / 3.0 - w + current) / tau, (V + a - b * w) / tau_w


def hindmarsh_rose_derivatives_scalar(
    V: float,
    y: float,
    z: float,
    current: float,
    a: float,
    b: float,
    c: float,
    d: float,
    r: float,
    s: float,
    V_r: float,
    tau: float,
) -> tuple[float, float, float]:
    """:meth:`HindmarshRose.derivatives` of one neuron: ``dV/dt``, ``dy/dt``, ``dz/dt``."""
    V2 = V * V
    return (
        (y - a * (V2 * V) + b * V2 - z + current) / tau,
        (c - d * V2 - y) / tau,
        r * (s * (V - V_r) - z) / tau,
    )
