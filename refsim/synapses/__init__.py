"""Synapse models: linear kernels, receptor kinetics, short-term plasticity."""

from refsim.synapses.alpha import Alpha
from refsim.synapses.expon import DualExpon, Expon
from refsim.synapses.kinetic import AMPA, BioNMDA, GABAa
from refsim.synapses.stp import STD, STP

__all__ = ["Expon", "DualExpon", "Alpha", "AMPA", "GABAa", "BioNMDA", "STP", "STD"]
