"""Neuron models."""

from refsim.neurons.lif import ALIF, IF, LIF, CobaLIF, CubaLIF, LIFRef

__all__ = ["IF", "LIF", "LIFRef", "ALIF", "CubaLIF", "CobaLIF"]
