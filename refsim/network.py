"""A network: populations and the projections their spikes feed, in a declared order.

A :class:`Network` states what a hand-written ``update`` of a brainpy script does
(``proj(pop.get_spike()[a:b])`` for every projection, then every population), so that
the numba backend can compile a whole :func:`refsim.run` of it into one loop.  On the
numpy backend ``update`` runs exactly those calls.

Order of one step (brainpy's tutorials):

1. every population's stored spikes are read (the potential of the previous step);
2. every projection is fed its slice of them, in the order of :meth:`Network.project`;
3. every population is updated, in the order of :meth:`Network.population`
   (its merged synapses step first, then the membrane).

Example
-------
>>> import quantities as pq, refsim
>>> net = refsim.Network()
>>> pop = net.population(refsim.LIF(10, tau=10 * pq.ms, V_th=-50 * pq.mV,
...                                 V_reset=-60 * pq.mV, V_rest=-60 * pq.mV))
>>> proj = net.project(refsim.AlignPostProj(
...     comm=refsim.EventFixedProb(10, 10, 2, 1.0 * pq.nS, seed=0),
...     syn=refsim.Expon.desc(10, tau=5 * pq.ms), out=refsim.COBA.desc(E=0 * pq.mV),
...     post=pop), pre=pop)
>>> _ = refsim.init_all_states(net)
>>> len(net.update())
10
"""

from __future__ import annotations

import numpy as np

from refsim.module import Dynamics, Module, Neuron

__all__ = ["Network"]


class Network(Module):
    """Populations and projections stepped in a fixed, declared order.

    Subclass it (assigning components to attributes is optional) or use it as is:
    :meth:`population` registers a neuron population, :meth:`project` a projection
    fed by a slice of a population's spikes.  ``update()`` performs one step.
    """

    def __init__(self, name: str | None = None):
        super().__init__(name)
        self.populations: list[Neuron] = []
        self.currents: list = []
        self.feeds: list[tuple[Module, Neuron, int, int]] = []

    def population(self, neuron: Neuron, current=None) -> Neuron:
        """Register ``neuron``; populations update in the order they are registered.

        ``current`` is the direct input of every ``update``: a quantity (scalar or one per
        neuron), e.g. a constant drive; or a callable of no argument returning one at the
        step's time (``refsim.environ``), e.g. a waveform (``refsim.StepInput``,
        ``SectionInput``, ``RampInput``, ``SinusoidalInput``, ``ConstantInput``), called
        once per step; None for none.
        """
        if not isinstance(neuron, Neuron):
            raise TypeError(f"population must be a refsim neuron, got {type(neuron).__name__}")
        if any(p is neuron for p in self.populations):
            raise ValueError(f"population {neuron.name} is registered twice")
        self.populations.append(neuron)
        self.currents.append(current)
        return neuron

    def project(self, proj: Module, pre: Neuron, start: int = 0, stop: int | None = None):
        """Feed ``proj`` with the spikes of ``pre[start:stop]`` every step; return ``proj``.

        ``pre`` must be a registered population; the slice length must equal the
        projection's number of presynaptic neurons.
        """
        if not any(p is pre for p in self.populations):
            raise ValueError(
                f"pre ({pre.name}) is not a population of this network: "
                "register it with network.population(...) first"
            )
        stop = pre.num if stop is None else int(stop)
        start = int(start)
        if not 0 <= start < stop <= pre.num:
            raise ValueError(
                f"the slice [{start}:{stop}] does not fit population "
                f"{pre.name} of {pre.num} neurons"
            )
        n_pre = getattr(getattr(proj, "comm", None), "n_pre", stop - start)
        if n_pre != stop - start:
            raise ValueError(
                f"{type(proj).__name__} expects {n_pre} presynaptic neurons but "
                f"the slice [{start}:{stop}] of {pre.name} has {stop - start}"
            )
        self.feeds.append((proj, pre, start, stop))
        return proj

    def check(self) -> None:
        """Raise where a step could not be what the network declares: a module without
        state (``RuntimeError``: call :func:`refsim.init_all_states` first), or a projection
        whose target is not one of its populations (``ValueError``: the network would never
        step that target, so the projection's input would wait forever)."""
        for node in self.nodes():
            if isinstance(node, Dynamics) and not node._states_ready:
                raise RuntimeError(
                    f"{type(node).__name__} '{node.name}' of network "
                    f"'{self.name}' has no state yet: call "
                    "refsim.init_all_states(network) before running it"
                )
        for proj, *_ in self.feeds:
            post = getattr(proj, "post", None)
            if post is not None and not any(p is post for p in self.populations):
                raise ValueError(
                    f"projection {proj.name} of network '{self.name}' targets "
                    f"{type(post).__name__} '{post.name}', which is not a "
                    "population of the network: register it with "
                    "network.population(...)"
                )
        self._checked = (len(self.populations), len(self.feeds))

    def update(self) -> np.ndarray:
        """One step; returns the spikes of the first population (float 0/1)."""
        if getattr(self, "_checked", None) != (len(self.populations), len(self.feeds)):
            self.check()  # once, and again after populations or projections are added
        spikes = [p.get_spike().reshape(-1) != 0.0 for p in self.populations]
        for proj, pre, start, stop in self.feeds:
            proj(spikes[self._index(pre)][start:stop])
        out = None
        for pop, current in zip(self.populations, self.currents, strict=True):
            result = pop(current() if callable(current) else current)
            out = result if out is None else out
        return out

    def _index(self, pop: Neuron) -> int:
        for i, p in enumerate(self.populations):
            if p is pop:
                return i
        raise ValueError(f"{pop.name} is not a population of this network")  # pragma: no cover
