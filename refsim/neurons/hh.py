r"""Conductance-based neurons: HH, WangBuzsakiHH (MorrisLecar: ``morris_lecar.py``).

No reset: a spike is an upward crossing of :math:`V_{th}` (``update`` returns it;
``get_spike()`` is the level :math:`V \ge V_{th}`).  The membrane equation is linear in
:math:`V` once the gates are fixed at their old values, and exponential Euler uses that
slope, :math:`J = -\sum g / C`; inputs are evaluated once, at the old potential, and add
nothing to :math:`J`.  Gating variables use exponential Euler with rates at the old
potential (:math:`J = -(\alpha + \beta)`).
"""

from __future__ import annotations

import quantities as pq

from refsim import environ, fmath
from refsim.init import Constant, Uniform
from refsim.integrators import exp_euler, exp_euler_scalar, exprel
from refsim.neurons.base import ContinuousNeuron

__all__ = [
    "HH",
    "WangBuzsakiHH",
    "hh_step_scalar",
    "wang_buzsaki_step_scalar",
    "hh_derivatives_scalar",
    "wang_buzsaki_derivatives_scalar",
]


def gate_step(x, alpha, beta, dt, phi=1.0):
    r"""Exponential Euler of :math:`dx/dt = \phi(\alpha (1 - x) - \beta x)`."""
    return exp_euler(x, phi * (alpha * (1.0 - x) - beta * x), -phi * (alpha + beta), dt)


class HH(ContinuousNeuron):
    r"""Hodgkin-Huxley (1952) neuron.

    .. math::

        C \frac{dV}{dt} = -g_{Na} m^3 h (V - E_{Na}) - g_K n^4 (V - E_K) - g_L (V - E_L) + I,
        \qquad \frac{dx}{dt} = \alpha_x(V)(1 - x) - \beta_x(V) x,\; x \in \{m, h, n\}

    with (V in mV, rates in 1/ms) :math:`\alpha_m = 1/\mathrm{exprel}(-(V+40)/10)`,
    :math:`\beta_m = 4 e^{-(V+65)/18}`, :math:`\alpha_h = 0.07 e^{-(V+65)/20}`,
    :math:`\beta_h = 1/(1 + e^{-(V+35)/10})`, :math:`\alpha_n = 0.1/\mathrm{exprel}(-(V+55)/10)`,
    :math:`\beta_n = 0.125 e^{-(V+65)/80}`.  The membrane step uses the Jacobian
    :math:`-(g_{Na} m^3 h + g_K n^4 + g_L)/C` with the old gates.

    Parameters
    ----------
    in_size : int or tuple of int
    ENa, EK, EL : quantity, voltage, defaults 50, -77, -54.387 mV
    gNa, gK, gL : quantity, conductance, defaults 120, 36, 0.03 mS
    V_th : quantity, voltage, default 20 mV
    C : quantity, capacitance, default 1 uF
    V_initializer : initializer, default ``Uniform(-70, -60) mV``
    m_initializer, h_initializer, n_initializer : initializer or None
        None (default): the steady state at the initial potential.
    method : {'exp_euler', 'euler', 'rk2', 'rk4'}, default 'exp_euler'
        Integrator of the continuous dynamics: brainpy's exponential Euler, or an
        explicit method applied to the whole ODE system (see :meth:`derivatives`).

    The input is a current (uA in brainpy's scripts).
    """

    def __init__(
        self,
        in_size,
        ENa=50.0 * pq.mV,
        gNa=120.0 * pq.mS,
        EK=-77.0 * pq.mV,
        gK=36.0 * pq.mS,
        EL=-54.387 * pq.mV,
        gL=0.03 * pq.mS,
        V_th=20.0 * pq.mV,
        C=1.0 * pq.uF,
        V_initializer=None,
        m_initializer=None,
        h_initializer=None,
        n_initializer=None,
        spk_reset: str = "soft",
        method: str = "exp_euler",
        name: str | None = None,
    ):
        super().__init__(in_size, spk_reset, name)
        self._set_method(method)
        self._param("ENa", ENa, pq.mV)
        self._param("EK", EK, pq.mV)
        self._param("EL", EL, pq.mV)
        self._param("gNa", gNa, pq.mS, nonnegative=True)
        self._param("gK", gK, pq.mS, nonnegative=True)
        self._param("gL", gL, pq.mS, nonnegative=True)
        self._param("V_th", V_th, pq.mV)
        self._param("C", C, pq.uF, positive=True)
        self._require_positive_threshold()
        self.V_initializer = V_initializer or Uniform(-70.0, -60.0, unit=pq.mV)
        self.gate_initializers = {"m": m_initializer, "h": h_initializer, "n": n_initializer}

    @staticmethod
    def rates(V):
        """:math:`(\\alpha, \\beta)` of m, h and n at potential V (mV), in 1/ms."""
        return {
            "m": (1.0 / exprel(-(V + 40.0) / 10.0), 4.0 * fmath.exp(-(V + 65.0) / 18.0)),
            "h": (
                0.07 * fmath.exp(-(V + 65.0) / 20.0),
                1.0 / (1.0 + fmath.exp(-(V + 35.0) / 10.0)),
            ),
            "n": (0.1 / exprel(-(V + 55.0) / 10.0), 0.125 * fmath.exp(-(V + 65.0) / 80.0)),
        }

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)
        rates = self.rates(self.V.data)
        for gate, init in self.gate_initializers.items():
            if init is None:  # steady state at the initial potential
                alpha, beta = rates[gate]
                init = alpha / (alpha + beta)
            setattr(self, gate, self._new_state(gate, init, None, batch_size))

    def derivatives(self, y, current):
        """The four Hodgkin-Huxley equations at state ``y`` (V, m, h, n)."""
        p = self.p
        V, m, h, n = y["V"], y["m"], y["h"], y["n"]
        rates = self.rates(V)
        dV = (
            -p.gNa * (m * m * m) * h * (V - p.ENa)  # products, not pow, as the twin
            - p.gK * ((n * n) * (n * n)) * (V - p.EK)
            - p.gL * (V - p.EL)
            + current(V)[0]
        ) / p.C
        out = {"V": dV}
        for gate, x in (("m", m), ("h", h), ("n", n)):
            alpha, beta = rates[gate]
            out[gate] = alpha * (1.0 - x) - beta * x
        return out

    def update(self, x=None):
        p = self.p
        dt = environ.dt_ms()
        V_old, m, h, n = self.V.data, self.m.data, self.h.data, self.n.data
        if self.method != "exp_euler":
            y = self.explicit({"V": V_old, "m": m, "h": h, "n": n}, self._external(x))
            self.m.data, self.h.data, self.n.data = y["m"], y["h"], y["n"]
            self.V.data = V = self.sum_delta_inputs(y["V"])
            return self.crossing(V_old, V)
        current, _ = self.sum_current_inputs(self._external(x), V_old)
        g_Na = p.gNa * (m * m * m) * h  # products, not pow: the same bits in Numba
        g_K = p.gK * ((n * n) * (n * n))
        drift = (
            -g_Na * (V_old - p.ENa) - g_K * (V_old - p.EK) - p.gL * (V_old - p.EL) + current
        ) / p.C
        V = self.sum_delta_inputs(exp_euler(V_old, drift, -(g_Na + g_K + p.gL) / p.C, dt))
        rates = self.rates(V_old)
        self.m.data = gate_step(m, *rates["m"], dt)
        self.h.data = gate_step(h, *rates["h"], dt)
        self.n.data = gate_step(n, *rates["n"], dt)
        self.V.data = V
        return self.crossing(V_old, V)


class WangBuzsakiHH(ContinuousNeuron):
    r"""Wang-Buzsaki (1996) interneuron: HH with instantaneous sodium activation.

    .. math::

        C \frac{dV}{dt} = -g_{Na} m_\infty^3 h (V - E_{Na}) - g_K n^4 (V - E_K) - g_L (V - E_L)
                          + I, \qquad
        \frac{dx}{dt} = \phi (\alpha_x (1 - x) - \beta_x x),\; x \in \{h, n\}

    with :math:`\alpha_m = 1/\mathrm{exprel}(-0.1(V+35))`, :math:`\beta_m = 4 e^{-(V+60)/18}`,
    :math:`\alpha_h = 0.07 e^{-(V+58)/20}`, :math:`\beta_h = 1/(e^{-0.1(V+28)} + 1)`,
    :math:`\alpha_n = 0.1/\mathrm{exprel}(-0.1(V+34))`, :math:`\beta_n = 0.125 e^{-(V+44)/80}`
    (1/ms), all at the old potential.

    Parameters
    ----------
    in_size : int or tuple of int
    ENa, EK, EL : quantity, voltage, defaults 55, -90, -65 mV
    gNa, gK, gL : quantity, conductance, defaults 35, 9, 0.1 mS
    V_th : quantity, voltage, default 20 mV
    phi : float, default 5
        Temperature factor of the gating kinetics.
    C : quantity, capacitance, default 1 uF
    V_initializer : initializer, default ``Constant(-65 mV)``
    h_initializer, n_initializer : initializer, defaults ``Constant(0.6)``, ``Constant(0.32)``
    method : {'exp_euler', 'euler', 'rk2', 'rk4'}, default 'exp_euler'
        Integrator of the continuous dynamics: brainpy's exponential Euler, or an
        explicit method applied to the whole ODE system (see :meth:`derivatives`).
    """

    def __init__(
        self,
        in_size,
        ENa=55.0 * pq.mV,
        gNa=35.0 * pq.mS,
        EK=-90.0 * pq.mV,
        gK=9.0 * pq.mS,
        EL=-65.0 * pq.mV,
        gL=0.1 * pq.mS,
        V_th=20.0 * pq.mV,
        phi=5.0,
        C=1.0 * pq.uF,
        V_initializer=Constant(-65.0 * pq.mV),
        h_initializer=Constant(0.6),
        n_initializer=Constant(0.32),
        spk_reset: str = "soft",
        method: str = "exp_euler",
        name: str | None = None,
    ):
        super().__init__(in_size, spk_reset, name)
        self._set_method(method)
        for key, value, unit in (
            ("ENa", ENa, pq.mV),
            ("gNa", gNa, pq.mS),
            ("EK", EK, pq.mV),
            ("gK", gK, pq.mS),
            ("EL", EL, pq.mV),
            ("gL", gL, pq.mS),
            ("V_th", V_th, pq.mV),
            ("phi", phi, None),
        ):
            self._param(key, value, unit, nonnegative=key.startswith("g") or key == "phi")
        self._param("C", C, pq.uF, positive=True)
        self._require_positive_threshold()
        self.V_initializer = V_initializer
        self.h_initializer = h_initializer
        self.n_initializer = n_initializer

    def init_state(self, batch_size=None):
        self.V = self._new_state("V", self.V_initializer, pq.mV, batch_size)
        self.h = self._new_state("h", self.h_initializer, None, batch_size)
        self.n = self._new_state("n", self.n_initializer, None, batch_size)

    @staticmethod
    def rates(V):
        """:math:`m_\\infty` and the :math:`(\\alpha, \\beta)` of h and n at V (mV), in 1/ms."""
        alpha_m = 1.0 / exprel(-0.1 * (V + 35.0))
        beta_m = 4.0 * fmath.exp(-(V + 60.0) / 18.0)
        return alpha_m / (alpha_m + beta_m), {
            "h": (0.07 * fmath.exp(-(V + 58.0) / 20.0), 1.0 / (fmath.exp(-0.1 * (V + 28.0)) + 1.0)),
            "n": (0.1 / exprel(-0.1 * (V + 34.0)), 0.125 * fmath.exp(-(V + 44.0) / 80.0)),
        }

    def derivatives(self, y, current):
        """The Wang-Buzsaki equations at state ``y`` (V, h, n)."""
        p = self.p
        V, h, n = y["V"], y["h"], y["n"]
        m_inf, rates = self.rates(V)
        dV = (
            -p.gNa * (m_inf * m_inf * m_inf) * h * (V - p.ENa)  # products, as the twin
            - p.gK * ((n * n) * (n * n)) * (V - p.EK)
            - p.gL * (V - p.EL)
            + current(V)[0]
        ) / p.C
        out = {"V": dV}
        for gate, x in (("h", h), ("n", n)):
            alpha, beta = rates[gate]
            out[gate] = p.phi * (alpha * (1.0 - x) - beta * x)
        return out

    def update(self, x=None):
        p = self.p
        dt = environ.dt_ms()
        V_old, h, n = self.V.data, self.h.data, self.n.data
        if self.method != "exp_euler":
            y = self.explicit({"V": V_old, "h": h, "n": n}, self._external(x))
            self.h.data, self.n.data = y["h"], y["n"]
            self.V.data = V = self.sum_delta_inputs(y["V"])
            return self.crossing(V_old, V)
        m_inf, rates = self.rates(V_old)
        current, _ = self.sum_current_inputs(self._external(x), V_old)
        g_Na = p.gNa * (m_inf * m_inf * m_inf) * h  # products, not pow: as in Numba
        g_K = p.gK * ((n * n) * (n * n))
        drift = (
            -g_Na * (V_old - p.ENa) - g_K * (V_old - p.EK) - p.gL * (V_old - p.EL) + current
        ) / p.C
        V = self.sum_delta_inputs(exp_euler(V_old, drift, -(g_Na + g_K + p.gL) / p.C, dt))
        self.h.data = gate_step(h, *rates["h"], dt, p.phi)
        self.n.data = gate_step(n, *rates["n"], dt, p.phi)
        self.V.data = V
        return self.crossing(V_old, V)


# -- compiled twin (numba backend; tests/backends/test_backends.py checks it bit for bit) --------


def _gate_scalar(x: float, alpha: float, beta: float, dt: float, phi: float) -> float:
    """:func:`gate_step` of one gate."""
    return exp_euler_scalar(
        x,
        phi * (alpha * (1.0 - x) - beta * x),
        fmath.exprel_scalar(dt * (-phi * (alpha + beta))),
        dt,
    )


def hh_rates_scalar(V: float) -> tuple[float, float, float, float, float, float]:
    """:meth:`HH.rates` of one neuron: ``alpha_m, beta_m, alpha_h, beta_h, alpha_n,
    beta_n`` (1/ms) at ``V`` (mV)."""
    return (
        1.0 / fmath.exprel_scalar(-(V + 40.0) / 10.0),
        4.0 * fmath.exp_scalar(-(V + 65.0) / 18.0),
        0.07 * fmath.exp_scalar(-(V + 65.0) / 20.0),
        1.0 / (1.0 + fmath.exp_scalar(-(V + 35.0) / 10.0)),
        0.1 / fmath.exprel_scalar(-(V + 55.0) / 10.0),
        0.125 * fmath.exp_scalar(-(V + 65.0) / 80.0),
    )


def wang_buzsaki_rates_scalar(V: float) -> tuple[float, float, float, float, float]:
    """:meth:`WangBuzsakiHH.rates` of one neuron: ``m_inf, alpha_h, beta_h, alpha_n,
    beta_n`` (rates in 1/ms) at ``V`` (mV)."""
    alpha_m = 1.0 / fmath.exprel_scalar(-0.1 * (V + 35.0))
    beta_m = 4.0 * fmath.exp_scalar(-(V + 60.0) / 18.0)
    return (
        alpha_m / (alpha_m + beta_m),
        0.07 * fmath.exp_scalar(-(V + 58.0) / 20.0),
        1.0 / (fmath.exp_scalar(-0.1 * (V + 28.0)) + 1.0),
        0.1 / fmath.exprel_scalar(-0.1 * (V + 34.0)),
        0.125 * fmath.exp_scalar(-(V + 44.0) / 80.0),
    )


def hh_step_scalar(
    V: float,
    m: float,
    h: float,
    n: float,
    current: float,
    ENa: float,
    EK: float,
    EL: float,
    gNa: float,
    gK: float,
    gL: float,
    C: float,
    dt: float,
) -> tuple[float, float, float, float]:
    """One step of :meth:`HH.update` for one neuron: new ``V`` (mV), ``m``, ``h``, ``n``
    from the old values and the input current at the old potential."""
    g_Na = gNa * (m * m * m) * h
    g_K = gK * ((n * n) * (n * n))
    drift = (-g_Na * (V - ENa) - g_K * (V - EK) - gL * (V - EL) + current) / C
    V_new = exp_euler_scalar(V, drift, fmath.exprel_scalar(dt * (-(g_Na + g_K + gL) / C)), dt)
    alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n = hh_rates_scalar(V)
    return (
        V_new,
        _gate_scalar(m, alpha_m, beta_m, dt, 1.0),
        _gate_scalar(h, alpha_h, beta_h, dt, 1.0),
        _gate_scalar(n, alpha_n, beta_n, dt, 1.0),
    )


def wang_buzsaki_step_scalar(
    V: float,
    h: float,
    n: float,
    current: float,
    ENa: float,
    EK: float,
    EL: float,
    gNa: float,
    gK: float,
    gL: float,
    C: float,
    phi: float,
    dt: float,
) -> tuple[float, float, float]:
    """One step of :meth:`WangBuzsakiHH.update` for one neuron: new ``V`` (mV), ``h``, ``n``."""
    m_inf, alpha_h, beta_h, alpha_n, beta_n = wang_buzsaki_rates_scalar(V)
    g_Na = gNa * (m_inf * m_inf * m_inf) * h
    g_K = gK * ((n * n) * (n * n))
    drift = (-g_Na * (V - ENa) - g_K * (V - EK) - gL * (V - EL) + current) / C
    V_new = exp_euler_scalar(V, drift, fmath.exprel_scalar(dt * (-(g_Na + g_K + gL) / C)), dt)
    return (
        V_new,
        _gate_scalar(h, alpha_h, beta_h, dt, phi),
        _gate_scalar(n, alpha_n, beta_n, dt, phi),
    )


# -- the explicit methods' right-hand sides (numba backend; as ``derivatives``) ---------


def hh_derivatives_scalar(
    V: float,
    m: float,
    h: float,
    n: float,
    current: float,
    ENa: float,
    EK: float,
    EL: float,
    gNa: float,
    gK: float,
    gL: float,
    C: float,
) -> tuple[float, float, float, float]:
    """:meth:`HH.derivatives` of one neuron: ``dV/dt`` (mV/ms), ``dm/dt``, ``dh/dt``,
    ``dn/dt`` (1/ms) at the state and the input ``current`` there."""
    alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n = hh_rates_scalar(V)
    dV = (
        -gNa * (m * m * m) * h * (V - ENa)
        - gK * ((n * n) * (n * n)) * (V - EK)
        - gL * (V - EL)
        + current
    ) / C
    return (
        dV,
        alpha_m * (1.0 - m) - beta_m * m,
        alpha_h * (1.0 - h) - beta_h * h,
        alpha_n * (1.0 - n) - beta_n * n,
    )


def wang_buzsaki_derivatives_scalar(
    V: float,
    h: float,
    n: float,
    current: float,
    ENa: float,
    EK: float,
    EL: float,
    gNa: float,
    gK: float,
    gL: float,
    C: float,
    phi: float,
) -> tuple[float, float, float]:
    """:meth:`WangBuzsakiHH.derivatives` of one neuron: ``dV/dt`` (mV/ms), ``dh/dt``,
    ``dn/dt`` (1/ms)."""
    m_inf, alpha_h, beta_h, alpha_n, beta_n = wang_buzsaki_rates_scalar(V)
    dV = (
        -gNa * (m_inf * m_inf * m_inf) * h * (V - ENa)
        - gK * ((n * n) * (n * n)) * (V - EK)
        - gL * (V - EL)
        + current
    ) / C
    return (dV, phi * (alpha_h * (1.0 - h) - beta_h * h), phi * (alpha_n * (1.0 - n) - beta_n * n))
