"""Synapse models."""

from refsim.synapses.expon import Expon

__all__ = ["Expon"]
