"""Neuron models."""

from refsim.neurons.exponential import AdExIF, AdExIFRef, ExpIF, ExpIFRef
from refsim.neurons.lif import ALIF, IF, LIF, CobaLIF, CubaLIF, LIFRef
from refsim.neurons.quadratic import AdQuaIF, AdQuaIFRef, QuaIF

__all__ = [
    "IF", "LIF", "LIFRef", "ALIF", "CubaLIF", "CobaLIF",
    "ExpIF", "ExpIFRef", "AdExIF", "AdExIFRef",
    "QuaIF", "AdQuaIF", "AdQuaIFRef",
]
