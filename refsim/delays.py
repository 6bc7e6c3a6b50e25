r"""Transmission delays: ring buffers on a projection.

Two kinds, both states of the projection (so spikes in flight survive between
``run`` calls and are cleared by ``reset_all_states``):

* :class:`SpikeDelay`, one delay for a whole projection (``delay=`` of a projection).
  It stores the presynaptic vector each step and reads it ``d/dt`` steps back, as
  brainpy's ``InputDelay`` does: when ``d/dt`` is not a whole number the two
  neighbouring steps are mixed linearly, ``(1 - f) x[k - n] + f x[k - n - 1]`` with
  ``n = floor(d/dt)``, ``f = d/dt - n`` (so 0.25 ms at dt = 0.1 ms delivers half of each
  event after 2 steps and half after 3).  No rounding is applied to ``d/dt``.
* :class:`SynapticDelay`, one delay per synapse (an array aligned with the CSR data).
  Each delay is **rounded to the nearest whole number of steps**, halves up, after
  ``d/dt`` is rounded to 9 decimals (so 1.15 ms at 0.1 ms is 11.5, hence 12 steps,
  although 1.15/0.1 = 11.499999999999998 in floating point); each event's weight is
  added into a per-target ring buffer at the arrival step.

A delay shorter than one step is an error (use no delay instead).
"""

from __future__ import annotations

import math

import numpy as np
import quantities as pq
import scipy.sparse as sp

from refsim import environ
from refsim.connectivity import active_synapses
from refsim.module import Module, State
from refsim.units import to_internal

__all__ = ["SpikeDelay", "SynapticDelay", "delay_steps"]


def _check_at_least_one_step(d_ms: np.ndarray, dt: float, name: str) -> None:
    if not np.all(np.isfinite(d_ms)):
        raise ValueError(f"{name} must be a finite time, got {d_ms[~np.isfinite(d_ms)][0]} ms")
    if np.any(d_ms / dt < 1.0 - 1e-9):
        raise ValueError(
            f"{name} of {float(np.min(d_ms))} ms is shorter than one step (dt = {dt} ms): "
            "a delay must be at least dt; leave it out for no delay"
        )


def delay_steps(delay, dt: float) -> np.ndarray:
    """Per-synapse delays in whole steps: round to nearest, halves up (see module docstring)."""
    d_ms = np.asarray(to_internal(delay, "delay", pq.ms), dtype=np.float64)
    _check_at_least_one_step(d_ms, dt, "a delay")
    ratio = np.round(d_ms / dt, 9)  # 1.15 / 0.1 = 11.499999999999998 is taken as 11.5
    return np.floor(ratio + 0.5).astype(np.int64)


def _require_state(delay: Module) -> None:
    if not hasattr(delay, "buffer"):
        raise RuntimeError(
            "a projection's delay has no state yet: call refsim.init_all_states "
            "on the model that holds the projection"
        )


def _check_ring_position(delay: Module, name: str, value) -> str | None:
    """A checkpoint's ring position must lie in the ring (``Module.check_checkpointed``)."""
    length = getattr(delay, "length", None)
    if length is not None and not 0 <= value < length:
        return f"a ring position must lie in [0, {length})"
    return None


class SpikeDelay(Module):
    """A homogeneous delay of a vector of ``size`` values (brainpy's interpolation rule).

    Parameters
    ----------
    size : int
        Length of the delayed vector (the presynaptic population).
    delay : quantity, time
        At least one step.
    """

    checkpointed = ("write_index",)
    check_checkpointed = _check_ring_position

    def __init__(self, size: int, delay):
        super().__init__()
        self.size = int(size)
        self.delay_ms = float(to_internal(delay, "delay", pq.ms))
        self._given = delay

    def init_state(self, batch_size=None) -> None:
        dt = environ.dt_ms()
        _check_at_least_one_step(np.array(self.delay_ms), dt, "the delay")
        self.steps = self.delay_ms / dt  # not rounded, as brainpy
        self.length = math.ceil(self.steps) + 1
        self.buffer = State(np.zeros((self.length, self.size)), None, "delay buffer")
        self.write_index = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Store this step's ``x``; return the value ``delay`` ago (interpolated)."""
        _require_state(self)
        buffer = self.buffer.data
        buffer[self.write_index] = x
        low = math.floor(self.steps)
        frac = self.steps - low
        lo = buffer[(self.write_index - low) % self.length]
        out = (
            lo
            if frac == 0
            else lo * (1.0 - frac) + buffer[(self.write_index - low - 1) % self.length] * frac
        )
        self.write_index = (self.write_index + 1) % self.length
        return out


class SynapticDelay(Module):
    """Per-synapse delays for a CSR connectivity: events arrive ``D_ij`` steps later.

    Parameters
    ----------
    W : scipy.sparse.csr_matrix
        Internal-unit weights, rows are presynaptic neurons.
    delay : quantity, time
        A scalar or one value per synapse (aligned with ``W.data``).
    """

    checkpointed = ("now",)
    check_checkpointed = _check_ring_position

    def __init__(self, W: sp.csr_matrix, delay):
        super().__init__()
        self.W = W
        self._delay = delay

    def init_state(self, batch_size=None) -> None:
        steps = np.broadcast_to(delay_steps(self._delay, environ.dt_ms()), self.W.data.shape)
        self.steps = np.array(steps)
        self.length = int(self.steps.max(initial=1)) + 1
        self.buffer = State(np.zeros((self.length, self.W.shape[1])), None, "delay buffer")
        self.now = 0

    def __call__(self, spikes: np.ndarray) -> np.ndarray:
        """Schedule this step's events; return what arrives now (and clear that slot)."""
        _require_state(self)
        buffer = self.buffer.data
        positions, weights = active_synapses(self.W, spikes)
        if positions.size:
            slots = (self.now + self.steps[positions]) % self.length
            np.add.at(buffer, (slots, self.W.indices[positions]), weights)
        arriving = buffer[self.now].copy()
        buffer[self.now] = 0.0
        self.now = (self.now + 1) % self.length
        return arriving
