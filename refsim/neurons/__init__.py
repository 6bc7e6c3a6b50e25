"""Neuron models."""

from refsim.neurons.lif import LIF, LIFRef

__all__ = ["LIF", "LIFRef"]
