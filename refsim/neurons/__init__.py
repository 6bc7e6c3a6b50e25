"""Neuron models, one family per file."""

from refsim.neurons.exponential import AdExIF, AdExIFRef, ExpIF, ExpIFRef
from refsim.neurons.gif import Gif, GifRef
from refsim.neurons.hh import HH, WangBuzsakiHH
from refsim.neurons.izhikevich import Izhikevich, IzhikevichRef
from refsim.neurons.lif import ALIF, IF, LIF, CobaLIF, CubaLIF, LIFRef
from refsim.neurons.morris_lecar import MorrisLecar
from refsim.neurons.quadratic import AdQuaIF, AdQuaIFRef, QuaIF
from refsim.neurons.reduced import FitzHughNagumo, HindmarshRose

__all__ = [
    "IF",
    "LIF",
    "LIFRef",
    "ALIF",
    "CubaLIF",
    "CobaLIF",
    "ExpIF",
    "ExpIFRef",
    "AdExIF",
    "AdExIFRef",
    "QuaIF",
    "AdQuaIF",
    "AdQuaIFRef",
    "Gif",
    "GifRef",
    "Izhikevich",
    "IzhikevichRef",
    "HH",
    "MorrisLecar",
    "WangBuzsakiHH",
    "FitzHughNagumo",
    "HindmarshRose",
]
