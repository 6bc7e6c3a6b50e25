"""Projections: join a communication operator, a synapse, an output and a target.

* :class:`AlignPostProj` keeps one synaptic state per *postsynaptic* neuron.  That is
  exact for synapses linear in their input (Expon, DualExpon): the jumps of all
  presynaptic events can be summed before they enter the synapse.
* :class:`AlignPreProj` keeps one synaptic state per *presynaptic* neuron, for
  synapses that are not linear in their input (AMPA, GABAa, BioNMDA, Alpha, with
  optional short-term plasticity); the conductances reach the targets through the
  weights each step (``g_post = g_pre @ W``).
* :class:`DeltaProj` adds ``comm(x)`` as a jump of the target's integrated variable.
* :class:`CurrentProj` binds ``comm(x)`` to an output of the target each call.

Delays (``delay=``): a scalar delays the whole projection (brainpy's rule: a fractional
number of steps mixes the two neighbouring steps); an array gives one delay per synapse,
rounded to whole steps (see :mod:`refsim.delays`), in the order of ``comm.W.data``, or for
:meth:`SparseLinear.from_indices` in the order the pairs were given.

Order inside one step, when the projection is called before its target (as
in brainpy's tutorials):

1. ``proj(spikes)``: ``x = comm(spikes)`` is queued as a delta input of the synapse;
2. ``post(I)``: the target's before-update steps the synapse
   (``g_k = g_{k-1} e^{-dt/tau} + x_k``) and binds ``g_k`` to the output, then
   the target integrates with the output's current at ``g_k``.

So an event fed in step k acts on the membrane in step k.  If the target is
stepped first, the queued input is consumed at its next step (never dropped).
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from refsim.connectivity import Comm, _CSRComm
from refsim.delays import SpikeDelay, SynapticDelay
from refsim.environ import to_model
from refsim.module import Describer, Dynamics, Module, Synapse
from refsim.outputs import SynOut
from refsim.units import UnitError, dimension_name

__all__ = ["AlignPostProj", "AlignPreProj", "DeltaProj", "CurrentProj"]


class _MergedAlignPost(Module):
    """The before-update that a merged synapse/output pair adds to its target."""

    def __init__(self, syn: Synapse, out: SynOut):
        super().__init__()
        self.syn = syn
        self.out = out

    def __call__(self) -> None:
        if not self.syn._states_ready:
            raise RuntimeError(
                f"the synapse {self.syn.name} of a projection has no state yet: call "
                "refsim.init_all_states on the model after building every projection"
            )
        self.out.bind_data(self.syn.advance())


def _check_sizes(what: str, n: int, target: Dynamics, whose: str | None = None) -> None:
    if n != target.num:
        whose = whose or f"the target population '{target.name}'"
        raise ValueError(f"{what} has size {n} but {whose} has size {target.num}")


def _unit(unit):
    return pq.dimensionless if unit is None else unit


def _check_units(comm: Comm, syn: Synapse, out: SynOut) -> None:
    w_unit, g_unit = _unit(comm.weight_unit), _unit(syn.g_unit)
    w_dim = pq.Quantity(1.0, w_unit).simplified.dimensionality
    if w_dim != pq.Quantity(1.0, g_unit).simplified.dimensionality:
        raise UnitError(
            f"the weights of {type(comm).__name__} are a {dimension_name(w_unit)} but the "
            f"synapse {type(syn).__name__} holds a {dimension_name(g_unit)}: give the "
            "weights in the unit of the synapse's g_initializer"
        )
    out.check_input_unit(g_unit)


class AlignPostProj(Module):
    """A projection whose synaptic state lives on the postsynaptic side.

    Parameters
    ----------
    *modules : callables
        Applied in order to the spikes before ``comm`` (e.g. a selection).
    comm : Comm
        The connectivity (:class:`refsim.EventFixedProb`, :class:`refsim.SparseLinear` ...).
    syn : Describer or Synapse
        ``Expon.desc(n_post, ...)``: projections onto one target with equal
        ``syn`` and ``out`` descriptors share one synapse and one output
        (their events add into the same ``g``).  An instance is stepped by
        this projection alone.
    out : Describer or SynOut
        ``CUBA.desc()``, ``COBA.desc(E=...)``; an instance when ``syn`` is one.
    post : Dynamics
        The target population.
    label : str, optional
        Keeps projections with equal descriptors apart when set differently.
    delay : quantity, time, optional
        A scalar delays every event (brainpy's rule, at least one step); an array of one
        delay per synapse needs a CSR ``comm`` and is rounded to whole steps; it lists the
        synapses in the order of ``comm.W.data``, or, for ``SparseLinear.from_indices``, in
        the order the pairs were given (as the weights).

    Raises
    ------
    ValueError
        If the sizes of ``comm``, ``syn`` and ``post`` disagree.
    TypeError
        If ``syn`` is not linear in its input (use AlignPreProj for those).
    UnitError
        If the weights, the synapse and the output do not fit together.
    """

    def __init__(
        self, *modules, comm: Comm, syn, out, post: Dynamics, label: str | None = None, delay=None
    ):
        super().__init__()
        _check_comm(comm, post)
        self.modules = list(modules)
        self.comm = comm
        self.post = post
        self.delay = _make_delay(comm, delay)
        syn_cls = syn.cls if isinstance(syn, Describer) else type(syn)
        if not getattr(syn_cls, "align_post", False):
            raise TypeError(
                f"{syn_cls.__name__} is not linear in its input, so its state cannot be "
                "merged on the postsynaptic side: use AlignPreProj"
            )
        if isinstance(syn, Describer):
            if not isinstance(out, Describer):
                raise TypeError("with syn given as a .desc(...), out must be a .desc(...) too")
            key = ("AlignPost", label, syn.identifier, out.identifier)
            merged = post.before_updates.get(key)
            if merged is None:
                merged = _MergedAlignPost(syn(), out())
                _check_sizes(f"synapse {syn_cls.__name__}", merged.syn.num, post)
                _check_units(comm, merged.syn, merged.out)
                post.add_current_input(self.name, merged.out)
                post.before_updates[key] = merged
            else:
                _check_units(comm, merged.syn, merged.out)
            self.syn, self.out, self.merged = merged.syn, merged.out, True
        else:
            if not isinstance(out, SynOut):
                raise TypeError("with syn given as an instance, out must be an output instance")
            _check_sizes(f"synapse {syn_cls.__name__}", syn.num, post)
            _check_units(comm, syn, out)
            post.add_current_input(self.name, out)
            self.syn, self.out, self.merged = syn, out, False

    def update(self, spikes) -> None:
        """Feed this step's presynaptic ``spikes`` (bool or float array of ``comm.n_pre``)."""
        x = _propagate(self.comm, self.delay, _apply(self.modules, spikes))
        self.syn._push_delta(self.name, x)
        if not self.merged:
            self.out.bind_data(self.syn.advance())


def _check_comm(comm: Comm, post: Dynamics) -> None:
    if not isinstance(comm, Comm):
        raise TypeError(f"comm must be a refsim communication operator, got {comm!r}")
    if not isinstance(post, Dynamics):
        raise TypeError(f"post must be a refsim population (a neuron model), got {post!r}")
    _check_sizes(f"comm ({type(comm).__name__}) output", comm.n_post, post)


def _apply(modules, x):
    for module in modules:
        x = module(x)
    return x


def _make_delay(comm: Comm, delay):
    """A :class:`SpikeDelay` (scalar delay), a :class:`SynapticDelay` (array) or None."""
    if delay is None:
        return None
    if isinstance(delay, pq.Quantity) and delay.ndim == 0:  # (an array of one: per synapse)
        return SpikeDelay(comm.n_pre, delay)
    if not isinstance(comm, _CSRComm):
        raise TypeError("per-synapse delays need a sparse comm (EventFixedProb, SparseLinear...)")
    if np.size(delay) != comm.W.nnz:
        raise ValueError(f"{np.size(delay)} delays given for {comm.W.nnz} synapses")
    if comm.given_order is not None:  # listed with the pairs as given: stored with them
        delay = delay.reshape(-1)[comm.given_order]
    return SynapticDelay(comm.W, delay)


def _propagate(comm: Comm, delay, spikes) -> np.ndarray:
    """``comm(spikes)`` through the projection's delay, in internal units."""
    spikes = comm._check_input(np.asarray(spikes))
    if isinstance(delay, SynapticDelay):
        return delay(spikes)
    if delay is not None:
        spikes = delay(spikes)
    return comm.propagate(spikes)


class DeltaProj(Module):
    """Each call adds ``comm(x)`` as a jump of the target's integrated variable.

    The jump is applied after the target's next integration step (for LIF: added to V;
    for CubaLIF/CobaLIF: to g).  The weights must carry that variable's unit (mV for V).

    Parameters
    ----------
    *modules : callables
        Applied to ``x`` before ``comm``.
    comm : Comm
    post : Dynamics
    delay : quantity, optional
        As for :class:`AlignPostProj`.
    """

    def __init__(self, *modules, comm: Comm, post: Dynamics, label: str | None = None, delay=None):
        super().__init__()
        _check_comm(comm, post)
        w = pq.dimensionless if comm.weight_unit is None else comm.weight_unit
        target = pq.dimensionless if post.delta_unit is None else post.delta_unit
        if (
            pq.Quantity(1.0, w).simplified.dimensionality
            != pq.Quantity(1.0, target).simplified.dimensionality
        ):
            raise UnitError(
                f"DeltaProj weights are a {dimension_name(w)} but the jumps of "
                f"{type(post).__name__} are a {dimension_name(target)}"
            )
        post.require_inputs("delta", "DeltaProj")
        self.modules, self.comm, self.post = list(modules), comm, post
        self.delay = _make_delay(comm, delay)
        self.key = self.name if label is None else f"{label} // {self.name}"

    def update(self, x) -> None:
        self.post._push_delta(self.key, _propagate(self.comm, self.delay, _apply(self.modules, x)))


class CurrentProj(Module):
    """Each call binds ``comm(x)`` to the output ``out``, a current input of ``post``.

    ``x`` is a presynaptic vector: a quantity (e.g. a pre-side synapse's conductance) or
    a plain array.  ``comm`` multiplies it by the weights, so the bound value carries
    (unit of x) x (weight unit), which must suit ``out`` (a conductance for COBA).

    Parameters
    ----------
    *modules : callables
        Applied to ``x`` before ``comm``.
    comm : Comm
    out : SynOut
    post : Dynamics
    """

    def __init__(self, *modules, comm: Comm, out: SynOut, post: Dynamics):
        super().__init__()
        _check_comm(comm, post)
        if not isinstance(out, SynOut):
            raise TypeError(f"out must be an output instance (CUBA, COBA...), got {out!r}")
        self.modules, self.comm, self.out, self.post = list(modules), comm, out, post
        post.add_current_input(self.name, out)
        self._checked_unit = None

    def update(self, x) -> None:
        x = _apply(self.modules, x)
        if isinstance(x, pq.Quantity):
            unit = x.units
            x = to_model(x, "CurrentProj input", unit)
        else:
            unit = pq.dimensionless
        if self._checked_unit is None or self._checked_unit != str(unit):
            w = pq.dimensionless if self.comm.weight_unit is None else self.comm.weight_unit
            self.out.check_input_unit((pq.Quantity(1.0, unit) * pq.Quantity(1.0, w)).units)
            self._checked_unit = str(unit)
        self.out.bind_data(self.comm.propagate(self.comm._check_input(np.asarray(x))))


class AlignPreProj(Module):
    """A projection whose synaptic state lives on the presynaptic side.

    Each step: spikes (through ``modules``, the delay and the optional ``stp``) drive
    ``syn``, a synapse of one state per *presynaptic* neuron; its output goes through
    the weights, ``g_post = g_pre @ W``, and is bound to ``out`` on ``post``.  Exact for
    any synapse, linear or not (AMPA, GABAa, BioNMDA, Alpha...); for a linear one it
    equals :class:`AlignPostProj` on the same connectivity.

    Parameters
    ----------
    *modules : callables
        Applied to the spikes first.
    syn : Describer or Synapse
        Sized ``n_pre`` (a describer without a size is built with ``comm.n_pre``).
    comm : Comm
        Weights: unitless (the synapse carries the unit) or with a unit that,
        multiplied by the synapse's, suits ``out``.
    out : SynOut or Describer
    post : Dynamics
    stp : Synapse, optional
        Short-term plasticity (STP, STD) applied to the spikes: its release fractions
        become the synapse's input (a linear synapse's events are scaled by them; a
        receptor synapse treats a nonzero release as a spike).
    delay : quantity, optional
        A scalar delay of the spikes (brainpy's rule).
    """

    def __init__(self, *modules, syn, comm: Comm, out, post: Dynamics, stp=None, delay=None):
        super().__init__()
        _check_comm(comm, post)
        self.modules, self.comm, self.post = list(modules), comm, post
        if isinstance(syn, Describer):
            syn = syn() if syn.args else syn(comm.n_pre)
        if isinstance(out, Describer):
            out = out()
        pre = _Sized(comm.n_pre)
        _check_sizes(f"synapse {type(syn).__name__}", syn.num, pre, "comm's input")
        self.syn, self.out, self.stp = syn, out, stp
        if stp is not None:
            _check_sizes(type(stp).__name__, stp.num, pre, "comm's input")
        if delay is not None and not (isinstance(delay, pq.Quantity) and delay.size == 1):
            raise ValueError("AlignPreProj takes one delay for the projection (a scalar)")
        self.delay = _make_delay(comm, delay)
        g_unit = getattr(syn, "g_unit", None) or pq.dimensionless
        w_unit = comm.weight_unit or pq.dimensionless
        out.check_input_unit((pq.Quantity(1.0, g_unit) * pq.Quantity(1.0, w_unit)).units)
        post.add_current_input(self.name, out)

    def update(self, spikes) -> None:
        """Feed this step's presynaptic ``spikes``."""
        x = self.comm._check_input(np.asarray(_apply(self.modules, spikes), dtype=self.syn.dtype))
        if self.delay is not None:
            x = self.delay(x)
        if self.stp is not None:
            x = self.stp.advance(x)
        g_pre = self.syn.advance(x)
        self.out.bind_data(self.comm.propagate(g_pre))


class _Sized:
    """A stand-in with a ``num`` for size checks against something that is not a population."""

    def __init__(self, num: int):
        self.num = num
