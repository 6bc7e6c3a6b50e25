"""Check a candidate simulator (or chip) against refsim: export, compare, read the report.

refsim records a reference run and writes it in the layout `refsim compare` reads
(docs/validation.md); the candidate writes its own run in the same layout. Here two
candidates stand in for another simulator: the same neurons in float32 (as a chip with
single-precision state might run them), and the same neurons with a refractory period
of 2.5 ms instead of 2 ms (a wrong parameter). The first passes at tolerances that
allow for float32; the second fails, and the report says where.

Run: python examples/check_a_candidate.py
The same check from the shell, on the files this writes:
    refsim compare reference.npz candidate_float32.npz --atol 1e-3 --max-step-offset 1
"""

import numpy as np
import quantities as pq

import refsim
from refsim.validation.compare import compare, load
from refsim.validation.report import format_table

DT = 0.1 * pq.ms


def record(path: str, precision: int = 64, tau_ref=2.0 * pq.ms) -> None:
    """20 LIFRef neurons, each driven by its own constant current (an f-I sweep), for
    200 ms; write their potentials and spikes to ``path`` in `refsim compare`'s layout."""
    with refsim.environ.context(precision=precision, dt=DT):
        neurons = refsim.init_all_states(
            refsim.LIFRef(
                20,
                tau=20 * pq.ms,
                tau_ref=tau_ref,
                V_rest=-60 * pq.mV,
                V_th=-50 * pq.mV,
                V_reset=-60 * pq.mV,
                R=1 * pq.ohm,
                V_initializer=refsim.init.Constant(-60 * pq.mV),
            )
        )
        currents = np.linspace(8.0, 40.0, 20) * pq.mA
        res = refsim.run(
            lambda: neurons(currents),
            200 * pq.ms,
            monitors={"V": neurons.V, "spikes": neurons},
            progress=False,
        )
    spikes = res["spikes"]
    np.savez(
        path,
        t_ms=res.t.rescale(pq.ms).magnitude,
        V_mV=res["V"].rescale(pq.mV).magnitude.astype(np.float64),
        spike_steps=spikes.steps,
        spike_indices=spikes.indices_fired,
        dt_ms=float(DT.magnitude),
    )


record("reference.npz")
record("candidate_float32.npz", precision=32)
record("candidate_wrong_tau_ref.npz", tau_ref=2.5 * pq.ms)

reference = load("reference.npz")
print(
    f"reference: {reference['V_mV'].shape[0]} steps of {reference['V_mV'].shape[1]} "
    f"neurons, {reference['spike_steps'].size} spikes"
)
for name in ("candidate_float32", "candidate_wrong_tau_ref"):
    # 1e-3 mV: float32 keeps about 7 digits of potentials near -55 mV (a few 1e-6 mV a
    # rounding), and the errors of a few hundred steps add; a spike may move one step
    # where float32 crosses the threshold in another step than float64
    result = compare(
        reference, load(f"{name}.npz"), atol=1e-3, rtol=0.0, max_step_offset=1, name=name
    )
    print()
    print(format_table([result]))
    print("PASS" if result.passed else "FAIL")
