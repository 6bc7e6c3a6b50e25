"""The Potjans-Diesmann microcircuit in NEST and Brian2, for ``refsim bench --peers``.

Run by ``peers.py`` (``--model microcircuit``, ``--N`` read as the scale of neurons and
in-degrees) in the peers' Python; imports nothing of refsim: the numbers come from
``microcircuit.py`` beside it (NumPy only), as refsim's network's do.

NEST builds it as its own example does: ``iaf_psc_exp`` neurons, ``fixed_total_number``
connections with ``redraw``-clipped normal weights and delays, one ``poisson_generator``
per population connected ``all_to_all`` (each target its own train) with the Poisson
delay of 1.5 ms. Brian2 builds the same model with its exact integration of the linear
equations, the connections drawn by NumPy with the same rules, and a ``PoissonInput``
onto each population's synaptic current.
"""

from __future__ import annotations

import numpy as np

try:  # run as a script by refsim bench: this file's folder is on the path
    import microcircuit
except ImportError:  # imported as refsim.validation.peers_microcircuit
    from refsim.validation import microcircuit

DT_MS = 0.1


def nest_microcircuit(nest, scale: float):
    """The populations and the number of recurrent synapses made, in NEST."""
    q, s = microcircuit.PARAMS, microcircuit.scaled(scale, scale)
    pops = []
    for i, n in enumerate(s.num_neurons):
        pop = nest.Create(
            "iaf_psc_exp",
            int(n),
            params=dict(C_m=q["C_m"], tau_m=q["tau_m"], tau_syn_ex=q["tau_syn"],
                        tau_syn_in=q["tau_syn"], E_L=q["E_L"], V_th=q["V_th"],
                        V_reset=q["V_reset"], t_ref=q["t_ref"], I_e=float(s.dc[i])),
        )  # fmt: skip
        pop.V_m = nest.random.normal(microcircuit.V0_MEAN[i], microcircuit.V0_STD[i])
        pops.append(pop)
    # NEST holds at most 134217726 connections per thread and synapse model: at full scale
    # on 2 threads the inhibitory ones get a model of their own, as its users do
    nest.CopyModel("static_synapse", "static_synapse_inh")
    for i, j in zip(*np.nonzero(s.num_synapses), strict=True):
        w, d = float(s.weight_mean[i, j]), float(s.delay_mean[i, j])
        low, high = (0.0, np.inf) if w >= 0 else (-np.inf, 0.0)
        nest.Connect(
            pops[j],
            pops[i],
            {"rule": "fixed_total_number", "N": int(s.num_synapses[i, j])},
            {
                "synapse_model": "static_synapse" if w >= 0 else "static_synapse_inh",
                "weight": nest.math.redraw(
                    nest.random.normal(w, abs(w) * q["weight_rel_std"]), min=low, max=high
                ),
                "delay": nest.math.redraw(
                    nest.random.normal(d, d * q["delay_rel_std"]), min=0.5 * DT_MS, max=np.inf
                ),
            },
        )
    background = nest.Create("poisson_generator", len(pops))
    background.rate = list(q["bg_rate"] * s.ext_indegrees.astype(float))
    for i, pop in enumerate(pops):
        nest.Connect(background[i], pop, "all_to_all", {"weight": s.weight_ext, "delay": 1.5})
    return pops, int(s.num_synapses.sum())


def brian2_microcircuit(b2, scale: float, seed: int):
    """(objects to run, the populations, their synapses) in Brian2."""
    from brian2 import Hz, ms, mV, pA, pF

    q, s = microcircuit.PARAMS, microcircuit.scaled(scale, scale)
    names = dict(tau_m=q["tau_m"] * ms, tau_syn=q["tau_syn"] * ms, C_m=q["C_m"] * pF,
                 E_L=q["E_L"] * mV, V_th=q["V_th"] * mV, V_reset=q["V_reset"] * mV)  # fmt: skip
    eqs = """
    dv/dt = (E_L - v) / tau_m + (I + I_e) / C_m : volt (unless refractory)
    dI/dt = -I / tau_syn : amp
    I_e : amp (constant)
    """
    rng = np.random.default_rng(seed)
    pops, synapses, inputs = [], [], []
    for i, n in enumerate(s.num_neurons):
        pop = b2.NeuronGroup(
            int(n), eqs, threshold="v > V_th", reset="v = V_reset",
            refractory=q["t_ref"] * ms, method="exact", namespace=names,
        )  # fmt: skip
        pop.v = rng.normal(microcircuit.V0_MEAN[i], microcircuit.V0_STD[i], int(n)) * mV
        pop.I_e = s.dc[i] * pA
        pops.append(pop)
        inputs.append(
            b2.PoissonInput(
                pop, "I", int(s.ext_indegrees[i]), q["bg_rate"] * Hz, weight=s.weight_ext * pA
            )
        )
    for i, j in zip(*np.nonzero(s.num_synapses), strict=True):
        n = int(s.num_synapses[i, j])
        syn = b2.Synapses(pops[j], pops[i], "w : amp", on_pre="I_post += w")
        syn.connect(i=rng.integers(0, pops[j].N, n), j=rng.integers(0, pops[i].N, n))
        syn.w = microcircuit.draw_weights(rng, s.weight_mean[i, j], n) * pA
        syn.delay = microcircuit.draw_delays(rng, s.delay_mean[i, j], n, DT_MS) * ms
        synapses.append(syn)
    return pops + synapses + inputs, pops, synapses
