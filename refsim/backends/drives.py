"""The direct inputs of a compiled run's populations that change in time: their values
for a chunk of steps, computed ahead by the driver (:func:`drive_rows`) from a waveform
(:data:`WAVEFORMS`), a noise process (:class:`NoiseDrive`) or a spike source's own spikes
(:class:`SourceDrive`); the last two are brought, after the run, to where its steps done
leave them (:class:`AheadDrive`).
"""

from __future__ import annotations

import copy

import numpy as np

from refsim import environ
from refsim.inputs import (
    ConstantInput,
    OUProcessInput,
    RampInput,
    SampledInput,
    SectionInput,
    SinusoidalInput,
    SpikeSource,
    StepInput,
    WienerProcessInput,
)

__all__ = ["NOISES", "WAVEFORMS", "AheadDrive", "NoiseDrive", "SourceDrive", "drive_rows"]


def _vector(value, n: int) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)))


#: noise processes: computed ahead by a copy, then drawn again by themselves (NoiseDrive)
NOISES = (WienerProcessInput, OUProcessInput)
#: the time-varying direct inputs the compiled loops take: functions of the time alone
#: (their values for a chunk of steps are computed ahead, which a stateful input such as
#: a noise process, drawing as it is called, would not allow)
WAVEFORMS = (ConstantInput, SectionInput, StepInput, RampInput, SinusoidalInput, SampledInput)


def drive_rows(pop, drive, steps: range, dt: float) -> np.ndarray:
    """A callable direct input ``drive`` of population ``pop`` (``Network.population(pop,
    current=drive)``) at each global step of ``steps``: one row per step, each the value
    ``pop``'s update takes (``pop._external(drive())``, called at the step's time as
    ``refsim.run`` calls it on the NumPy path), so the compiled loops write the oracle's
    numbers into the population's direct-input row."""
    rows = np.empty((len(steps), pop.num))
    for r, step in enumerate(steps):
        with environ._internal_context(t=step * dt, i=step):
            rows[r] = _vector(pop._external(drive()), pop.num)
    return rows


class AheadDrive:
    """An input row that the driver computes a chunk of steps ahead from something that
    changes as it steps (a spike source, a noise process), without changing it; once the
    run is done, :meth:`skip` brings it to where the run's ``done`` steps from
    :attr:`first_step` leave it (set before the run)."""

    first_step = 0

    def skip(self, done: int, dt: float) -> None:  # pragma: no cover - per kind
        raise NotImplementedError


class SourceDrive(AheadDrive):
    """The input row of a spike source in a compiled run: at each global step, the spikes
    the source emits there (:meth:`SpikeSource.spikes_at`, given its Network input: a
    constant, a waveform or none); :meth:`skip` steps the source over the run's steps once
    it is done."""

    def __init__(self, source: SpikeSource, current):
        self.source, self.current = source, current

    def _input(self):
        return self.current() if callable(self.current) else self.current

    def __call__(self) -> np.ndarray:
        step = environ.get("i")
        return self.source.spikes_at(step - self.first_step, step, self._input())

    def skip(self, done: int, dt: float) -> None:
        if done:
            last = self.first_step + done - 1
            with environ._internal_context(t=last * dt, i=last):
                self.source.skip(done, last, self._input())


class NoiseDrive(AheadDrive):
    """A noise process (it draws as it is called) as a compiled run's direct input: a copy
    of it computes the rows ahead; once the run is done, the process itself is called at
    each step done, so that it draws what the NumPy run drew and goes on from there."""

    def __init__(self, noise):
        self.noise, self.ahead = noise, copy.deepcopy(noise)

    def __call__(self):
        return self.ahead()

    def skip(self, done: int, dt: float) -> None:
        for step in range(self.first_step, self.first_step + done):
            with environ._internal_context(t=step * dt, i=step):
                self.noise()
