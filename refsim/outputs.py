r"""Synaptic outputs: turn a synapse's conductance into the current a neuron feels.

=========  ===================================  ==============================
output     current                              slope :math:`dI/dV`
=========  ===================================  ==============================
CUBA       :math:`I = g\,s`                      0
COBA       :math:`I = g\,(E - V)`                :math:`-g`
MgBlock    :math:`I = g\,(E - V) / B(V)`          :math:`g(-1/B + (E-V)\alpha(B-1)/B^2)`
=========  ===================================  ==============================

with :math:`B(V) = 1 + (c_{Mg}/\beta)\, e^{\alpha (V_{offset} - V)}`.

A projection binds the conductance each step (:meth:`SynOut.bind_data`) and
registers the output as a current input of its target; the neuron then asks
for the current and its slope at the potential it integrates from, and the
slope enters the exponential-Euler Jacobian (so a COBA conductance is
integrated exponentially, as in brainpy).
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim import fmath
from refsim.environ import to_model
from refsim.module import Module
from refsim.units import UnitError, dimension_name, to_quantity

__all__ = ["SynOut", "CUBA", "COBA", "MgBlock"]


class SynOut(Module):
    """Base class of synaptic outputs.

    Subclasses define :meth:`current_and_slope` on internal arrays and
    :meth:`check_input_unit`.
    """

    def __init__(self, name: str | None = None):
        super().__init__(name)
        self._g: np.ndarray | None = None

    def bind_cond(self, g) -> None:
        """Bind the conductance (a quantity) used by the next current evaluation."""
        unit = g.units if isinstance(g, pq.Quantity) else pq.dimensionless
        self.check_input_unit(unit)
        self._g = to_model(g, "g", unit)

    def bind_data(self, g: np.ndarray) -> None:
        """Bind a conductance already in internal units (used by projections)."""
        self._g = g

    def _bound(self) -> np.ndarray:
        if self._g is None:
            raise ValueError(
                f"{type(self).__name__} was called before a conductance was bound "
                "(bind_cond), e.g. by a projection"
            )
        return self._g

    def current_and_slope(self, V: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    def check_input_unit(self, g_unit) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, V) -> pq.Quantity:
        """The current (a quantity in nA) at membrane potential ``V`` (a quantity)."""
        current, _ = self.current_and_slope(to_model(V, "V", pq.mV))
        return to_quantity(current, pq.nA)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self._given.items())
        return f"{type(self).__name__}({params})"


class CUBA(SynOut):
    r"""Current-based output: :math:`I = g\,s`, independent of :math:`V`.

    Parameters
    ----------
    scale : quantity, default 1 V
        Multiplies the synaptic variable into a current.  With the default, a
        conductance of 1 mS gives 1 mA (brainpy's convention); a synaptic
        variable that is already a current needs a dimensionless scale.
    """

    def __init__(self, scale=1.0 * pq.V, name: str | None = None):
        super().__init__(name)
        self.scale_unit = scale.units if isinstance(scale, pq.Quantity) else pq.dimensionless
        self._param("scale", scale, self.scale_unit)

    def check_input_unit(self, g_unit) -> None:
        product = pq.Quantity(1.0, g_unit) * pq.Quantity(1.0, self.scale_unit)
        if product.simplified.dimensionality != pq.A.simplified.dimensionality:
            raise UnitError(
                f"CUBA(scale={self._given['scale']}) turns the synaptic variable into "
                f"g * scale, which must be a current; a {dimension_name(g_unit)} "
                f"times a {dimension_name(self.scale_unit)} is not"
            )

    def current_and_slope(self, V: np.ndarray):
        return self._bound() * self.p.scale, 0.0


class COBA(SynOut):
    r"""Conductance-based output: :math:`I = g\,(E - V)`.

    Parameters
    ----------
    E : quantity, voltage
        Reversal potential (e.g. 0 mV excitatory, -80 mV inhibitory).
    """

    def __init__(self, E, name: str | None = None):
        super().__init__(name)
        self._param("E", E, pq.mV)

    def check_input_unit(self, g_unit) -> None:
        if pq.Quantity(1.0, g_unit).simplified.dimensionality != pq.S.simplified.dimensionality:
            raise UnitError(
                f"COBA needs a conductance from its synapse (e.g. in mS), "
                f"got a {dimension_name(g_unit)}"
            )

    def current_and_slope(self, V: np.ndarray):
        g = self._bound()
        return g * (self.p.E - V), -g


class MgBlock(COBA):
    r"""NMDA-type output with a voltage-dependent magnesium block.

    .. math::

        I = \frac{g\,(E - V)}{1 + (c_{Mg}/\beta)\, e^{\alpha (V_{offset} - V)}}

    Its full voltage derivative enters the exponential-Euler Jacobian of the neuron.

    Parameters
    ----------
    E : quantity, voltage, default 0 mV
    cc_Mg : float, default 1.2
        Magnesium concentration (mM, as a pure number, like ``beta``).
    alpha : quantity, 1/voltage, default 0.062 / mV
    beta : float, default 3.57
        Concentration scale of the block (mM, as a pure number).
    V_offset : quantity, voltage, default 0 mV

    brainpy.state's literal defaults are unitless (``alpha=0.062``), which fails with a
    potential in mV there; refsim's defaults carry the units brainpy users must pass.
    """

    def __init__(
        self,
        E=0.0 * pq.mV,
        cc_Mg=1.2,
        alpha=0.062 / pq.mV,
        beta=3.57,
        V_offset=0.0 * pq.mV,
        name: str | None = None,
    ):
        super().__init__(E, name=name)
        self._param("cc_Mg", cc_Mg, None, nonnegative=True)
        self._param("alpha", alpha, 1 / pq.mV)
        self._param("beta", beta, None, positive=True)
        self._param("V_offset", V_offset, pq.mV)

    def current_and_slope(self, V: np.ndarray):
        g = self._bound()
        p = self.p
        block = 1.0 + p.cc_Mg / p.beta * fmath.exp(p.alpha * (p.V_offset - V))
        current = g * (p.E - V) / block
        slope = g * (-1.0 / block + (p.E - V) * p.alpha * (block - 1.0) / block**2)
        return current, slope


# -- compiled twins (numba backend; checked against current_and_slope above) ------------


def cuba_scalar(g: float, scale: float, V: float) -> tuple[float, float]:
    """CUBA current and slope for one neuron."""
    return g * scale, 0.0


def coba_scalar(g: float, E: float, V: float) -> tuple[float, float]:
    """COBA current and slope for one neuron."""
    return g * (E - V), -g
