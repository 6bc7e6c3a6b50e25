"""Projections: join a communication operator, a synapse, an output and a target.

:class:`AlignPostProj` keeps one synaptic state per *postsynaptic* neuron.
That is exact for synapses linear in their input (Expon): the jumps of all
presynaptic events can be summed before they enter the synapse.

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

from refsim.connectivity import Comm
from refsim.module import Describer, Dynamics, Module, Synapse
from refsim.outputs import SynOut
from refsim.units import UnitError, dimension_name

__all__ = ["AlignPostProj"]


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
        self.out.bind_data(self.syn.step())


def _check_sizes(what: str, n: int, target: Dynamics) -> None:
    if n != target.num:
        raise ValueError(
            f"{what} has size {n} but the target population '{target.name}' has size "
            f"{target.num}"
        )


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

    Raises
    ------
    ValueError
        If the sizes of ``comm``, ``syn`` and ``post`` disagree.
    TypeError
        If ``syn`` is not linear in its input (use AlignPreProj for those).
    UnitError
        If the weights, the synapse and the output do not fit together.
    """

    def __init__(self, *modules, comm: Comm, syn, out, post: Dynamics, label: str | None = None):
        super().__init__()
        if not isinstance(comm, Comm):
            raise TypeError(f"comm must be a refsim communication operator, got {comm!r}")
        _check_sizes(f"comm ({type(comm).__name__}) output", comm.n_post, post)
        self.modules = list(modules)
        self.comm = comm
        self.post = post
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
        x = spikes
        for module in self.modules:
            x = module(x)
        x = self.comm.propagate(self.comm._check_input(np.asarray(x)))
        self.syn._push_delta(self.name, x)
        if not self.merged:
            self.out.bind_data(self.syn.step())
