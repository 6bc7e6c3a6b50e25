"""What a neuron model declares so that the compiled backends run it: its twins, by name.

A model's NumPy ``update`` is the oracle.  To compile, a class also declares, once, on
itself::

    class MyNeuron(refsim.neurons.SpikingNeuron):
        compiled = refsim.NeuronTwins(states=("w",), params=("tau", "V_th", "V_reset", "b"),
                                      reset=my_reset_scalar, step=my_step_scalar,
                                      spike=my_spike_scalar)

and the numba loop and the cupy kernels call those scalar twins for each neuron, in the
order of one step of every refsim neuron (``docs/extending.md``):

1. ``reset`` (models with a reset): the post-reset states from the stored ones and the
   stored spike;
2. the input at the post-reset potential (the outputs bound to the population and its
   direct input): ``current`` and its ``slope``;
3. ``step``: one step of the states from the post-reset ones;
4. for a refractory model (``refsim.neurons.base.Refractory``), every state held at its
   post-reset value while ``t - last_spike_time < tau_ref``, then ``last_spike_time = t``
   where ``V >= V_th``;
5. each state rounded as the model's precision stores it;
6. ``spike``: the stored spike of the new states.

A twin's arguments are bound by their names: ``V`` and the names in ``states`` (their
values at that point), the names in ``params`` (the model's parameters in internal
units, ``model.p``), and ``current``, ``slope``, ``spike`` (1.0 or 0.0, the stored spike),
``hard`` (``spk_reset == 'hard'``), ``dt`` (ms).  ``reset`` and ``step`` return the new
``(V, *states)`` (a tuple, or ``V`` alone for a model with no further state); ``spike``
returns whether the neuron spikes.  The twins are written in the small language the
GPU translator reads (:mod:`refsim.backends.cupy.translate`): float arithmetic, ``if``,
conditional expressions, calls of other twins (``refsim.fmath.exp_scalar``,
``refsim.integrators.exp_euler_scalar`` ...).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["NeuronTwins", "CONTEXT", "check_declaration"]

#: the names a twin may take besides the model's states and parameters
CONTEXT = ("current", "slope", "spike", "hard", "dt")

#: the most states a declared model may have besides V (the compiled loops' scratch)
MAX_STATES = 6


@dataclass(frozen=True)
class NeuronTwins:
    """The compiled form of a neuron model, declared on its class as ``compiled``.

    Parameters
    ----------
    states : tuple of str
        The model's states besides ``V`` (``State`` attributes), in the order the twins
        return them.
    params : tuple of str
        The parameters the twins read (declared with ``self._param``; ``tau_ref`` of a
        refractory model is read by the loop itself).
    step : callable
        One step from the post-reset states: returns ``(V, *states)``.
    spike : callable
        The stored spike of the new states: a bool.
    reset : callable, optional
        The post-reset states from the stored ones and ``spike``: returns
        ``(V, *states)``.  None: a model without reset (the input is taken at the old
        potential).
    """

    states: tuple[str, ...]
    params: tuple[str, ...]
    step: Callable
    spike: Callable
    reset: Callable | None = None

    def twins(self) -> tuple[Callable, ...]:
        """The declared twins: reset (if any), step, spike."""
        return tuple(f for f in (self.reset, self.step, self.spike) if f is not None)

    def arguments(self, twin: Callable) -> tuple[str, ...]:
        """The names ``twin`` is called with (its parameters' names)."""
        return tuple(inspect.signature(twin).parameters)


def check_declaration(cls) -> NeuronTwins:
    """``cls.compiled``, checked against the class: a ``NeuronTwins`` whose twins take
    only names it can bind.  Raises ``TypeError`` naming what does not fit."""
    declared = getattr(cls, "compiled", None)
    if not isinstance(declared, NeuronTwins):
        raise TypeError(
            f"{cls.__name__} declares no compiled twins (compiled = refsim.NeuronTwins(...))"
        )
    if len(declared.states) > MAX_STATES:
        raise TypeError(
            f"{cls.__name__}.compiled: at most {MAX_STATES} states besides V, "
            f"got {len(declared.states)}"
        )
    known = {"V", *declared.states, *declared.params, *CONTEXT}
    for twin in declared.twins():
        unknown = [a for a in declared.arguments(twin) if a not in known]
        if unknown:
            states = ", ".join(declared.states) or "none"
            raise TypeError(
                f"{cls.__name__}.compiled: {twin.__name__} takes "
                f"{', '.join(unknown)}: expected a state ({states} besides V), "
                f"a declared parameter ({', '.join(declared.params) or 'none'}) "
                f"or one of {', '.join(CONTEXT)}"
            )
    return declared
