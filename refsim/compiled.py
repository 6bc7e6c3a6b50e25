"""What a model declares so that the compiled backends run it: its twins, by name.

A model's NumPy ``update`` (a synapse's ``step``) is the oracle.  To compile, a class also
declares, once, on itself, its scalar *twins*: the same arithmetic for one neuron or one
synapse, written in the small language the GPU translator reads
(:mod:`refsim.backends.cupy.translate`: float arithmetic, ``if``, conditional expressions,
calls of other twins such as ``refsim.fmath.exp_scalar`` or
``refsim.integrators.exp_euler_scalar``)::

    class MyNeuron(refsim.neurons.SpikingNeuron):
        compiled = refsim.NeuronTwins(states=("w",), params=("tau", "V_th", "V_reset", "b"),
                                      reset=my_reset_scalar, step=my_step_scalar,
                                      spike=my_spike_scalar)

    class MySynapse(refsim.module.Synapse):
        compiled = refsim.SynapseTwins(states=("g", "h"), params=("tau",),
                                       step=my_synapse_step_scalar)

A twin's arguments are bound by their names: the model's states (their values at that
point), its parameters (in internal units, ``model.p``) and a few names of context.  The
numba loop and the cupy kernels call the twins for each element in the order of one step of
every refsim model (``docs/extending.md``).

A neuron (:class:`NeuronTwins`):

1. ``reset`` (models with a reset): the post-reset states from the stored ones and the
   stored spike;
2. the input at the post-reset potential (the outputs bound to the population and its
   direct input): ``current`` and its ``slope``;
3. ``step``: one step of the states from the post-reset ones;
3b. for a model that declares ``takes_jumps=True``, the step's jumps (``DeltaProj``,
   ``PoissonInput``) added to the stepped ``V`` one after the other, as its update's
   ``self.sum_delta_inputs(V)`` adds them after the step;
4. for a refractory model (``refsim.neurons.base.Refractory``), every state held at its
   post-reset value while ``t - last_spike_time < tau_ref``, then ``last_spike_time = t``
   where ``V >= V_th``;
5. each state rounded as the model's precision stores it;
6. ``spike``: the stored spike of the new states.

Its context: ``current``, ``slope``, ``spike`` (1.0 or 0.0, the stored spike), ``hard``
(``spk_reset == 'hard'``), ``dt`` (ms).  ``reset`` and ``step`` return the new
``(V, *states)`` (a tuple, or ``V`` alone for a model with no further state); ``spike``
returns whether the neuron spikes.

A synapse (:class:`SynapseTwins`), a row of its target population stepped before the
membranes (an :class:`refsim.AlignPostProj`, merged or given the instance):

1. ``events``: this step's events, ``0.0`` plus each projection's in feeding order (what
   ``self.sum_delta_inputs(0.0)`` gives the NumPy ``step``);
2. ``step``: the new states from the old ones and ``events``;
3. each state rounded as the model's precision stores it;
4. ``output`` (the value the synapse's output, COBA or CUBA, reads): from the stored
   states, rounded in turn; none declared: the first state.

Its context: ``events``, ``dt`` (ms).  ``step`` returns the new states (a tuple, or the one
state), ``output`` a number.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["NeuronTwins", "SynapseTwins", "CONTEXT", "SYNAPSE_CONTEXT", "check_declaration"]

#: the names a neuron's twin may take besides the model's states and parameters
CONTEXT = ("current", "slope", "spike", "hard", "dt")
#: the names a synapse's twin may take besides its states and parameters
SYNAPSE_CONTEXT = ("events", "dt")

#: the most states a declared model may have (besides V for a neuron): the compiled
#: loops' scratch
MAX_STATES = 6


class _Twins:
    """What both declarations share: the twins, their arguments and their locals."""

    states: tuple[str, ...]
    params: tuple[str, ...]
    context: tuple[str, ...] = ()

    @property
    def state_names(self) -> tuple[str, ...]:
        """The states the twins return, in order."""
        return self.states

    def twins(self) -> tuple[Callable, ...]:
        """The declared twins, in the order of one step."""
        raise NotImplementedError

    def arguments(self, twin: Callable) -> tuple[str, ...]:
        """The names ``twin`` is called with (its parameters' names)."""
        return tuple(inspect.signature(twin).parameters)

    def local(self, name: str, context: dict) -> str:
        """The local that holds argument ``name`` in a backend's generated code: a state
        ``s_<name>``, a parameter ``p_<name>``, else the backend's spelling of a context
        name (``context``), so that no name of a model meets the generated code's own."""
        if name in self.state_names:
            return f"s_{name}"
        return f"p_{name}" if name in self.params else context[name]


@dataclass(frozen=True)
class NeuronTwins(_Twins):
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
    takes_jumps : bool, default False
        Whether its update adds the step's jumps to the stepped ``V`` (its
        ``self.sum_delta_inputs(V)`` after the step, before the refractory hold, as the
        catalog's models do): then a ``DeltaProj`` or a ``PoissonInput`` aimed at it
        compiles.  False: they do not (the NumPy code runs, saying so).
    """

    states: tuple[str, ...]
    params: tuple[str, ...]
    step: Callable
    spike: Callable
    reset: Callable | None = None
    takes_jumps: bool = False
    context = CONTEXT

    @property
    def state_names(self) -> tuple[str, ...]:
        return ("V", *self.states)

    def twins(self) -> tuple[Callable, ...]:
        """The declared twins: reset (if any), step, spike."""
        return tuple(f for f in (self.reset, self.step, self.spike) if f is not None)


@dataclass(frozen=True)
class SynapseTwins(_Twins):
    """The compiled form of a synapse model, declared on its class as ``compiled``.

    Parameters
    ----------
    states : tuple of str
        The synapse's states (``State`` attributes, at least one), in the order ``step``
        returns them.
    params : tuple of str
        The parameters the twins read (declared with ``self._param``).
    step : callable
        One step from the stored states and ``events``: returns the new states.
    output : callable, optional
        The value its output reads, from the stored new states.  None: the first state.
    """

    states: tuple[str, ...]
    params: tuple[str, ...]
    step: Callable
    output: Callable | None = None
    context = SYNAPSE_CONTEXT

    def twins(self) -> tuple[Callable, ...]:
        """The declared twins: step, output (if any)."""
        return tuple(f for f in (self.step, self.output) if f is not None)


def check_declaration(cls, kind: type = NeuronTwins) -> NeuronTwins | SynapseTwins:
    """``cls.compiled``, checked against the class: a ``kind`` (:class:`NeuronTwins` or
    :class:`SynapseTwins`) whose twins take only names it can bind.  Raises ``TypeError``
    naming what does not fit."""
    declared = getattr(cls, "compiled", None)
    if not isinstance(declared, kind):
        raise TypeError(
            f"{cls.__name__} declares no compiled twins (compiled = refsim.{kind.__name__}(...))"
        )
    if len(declared.states) > MAX_STATES:
        raise TypeError(
            f"{cls.__name__}.compiled: at most {MAX_STATES} states"
            f"{' besides V' if kind is NeuronTwins else ''}, got {len(declared.states)}"
        )
    if kind is SynapseTwins and not declared.states:
        raise TypeError(f"{cls.__name__}.compiled: a synapse declares at least one state")
    known = {*declared.state_names, *declared.params, *declared.context}
    for twin in declared.twins():
        unknown = [a for a in declared.arguments(twin) if a not in known]
        if unknown:
            besides = " besides V" if kind is NeuronTwins else ""
            states = ", ".join(declared.states) or "none"
            raise TypeError(
                f"{cls.__name__}.compiled: {twin.__name__} takes "
                f"{', '.join(unknown)}: expected a state ({states}{besides}), "
                f"a declared parameter ({', '.join(declared.params) or 'none'}) "
                f"or one of {', '.join(declared.context)}"
            )
    return declared
