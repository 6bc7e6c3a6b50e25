"""A network read for the GPU (:func:`plan`): the numba backend's plan with shared
parameters one column wide, and the twins of declared models checked to translate."""

from __future__ import annotations

from refsim.backends.codes import NotCompilable
from refsim.backends.cupy.declared import declared_twins
from refsim.backends.cupy.source import KERNEL_TWINS
from refsim.backends.cupy.translate import TranslationError, twin_source
from refsim.backends.plan import Plan, give_back
from refsim.backends.plan import plan as plan_network


def plan(net) -> Plan:
    """Read ``net`` into a plan for the GPU (shared parameters one column wide): every
    neuron model of the numba backend, with exponential Euler or an explicit method;
    Expon, DualExpon and declared synapses of AlignPostProj (merged or their own), with or
    without a delay, and AlignPreProj (every presynaptic synapse, STP or STD, a
    SpikeDelay), on COBA or CUBA outputs; float64 or float32 (states rounded where they
    are written)."""
    pl = plan_network(net, narrow_width=1)
    declared = tuple(pl.declared) + tuple(pl.declared_synapses)
    for slot, cls in enumerate(declared):  # its twins translate, beside the others
        try:
            twin_source(KERNEL_TWINS + declared_twins(declared[: slot + 1]))
        except TranslationError as exc:
            give_back(pl.held, pl.single)
            raise NotCompilable(
                f"{cls.__name__}.compiled: its twins do not translate to C ({exc})"
            ) from None
    return pl
