"""Check another simulator: compare traces and spike trains from any source.

File layout (``.npz``, every array optional except what you want compared):

* ``t_ms``: the time axis of the traces (1-D, ms), used for plots;
* traces: any other float array of shape ``(T,)`` or ``(T, N)``, e.g. ``V_mV`` or ``g_nS``;
  each trace of the reference is compared with the candidate's array of that name (put
  values in the unit the name says; nothing is converted), and fails where the candidate
  has none; the candidate's other arrays are not read;
* spikes, either as pairs ``spike_steps`` and ``spike_indices`` (integer arrays of equal
  length: the step of each spike and its neuron), or as ``spike_times_ms`` and
  ``spike_indices`` together with ``dt_ms`` (times are rounded to steps), or as a raster
  ``spikes`` of shape ``(T, N)`` (nonzero = spike).

Exporting, for example: from Brian2, ``np.savez(f, t_ms=M.t/ms, V_mV=M.v.T/mV,
spike_times_ms=S.t/ms, spike_indices=S.i, dt_ms=defaultclock.dt/ms)``; from NEST, the
``times`` and ``senders`` of a spike recorder (minus the first node id) and ``V_m`` of a
multimeter; from brainpy, the arrays returned by ``for_loop``.

:func:`compare` returns the measured differences as :class:`refsim.validation.Metric`s,
each against its tolerance: traces ``max |candidate - reference|`` against
``atol + rtol * max |reference|``; spikes the total count difference and, for neurons
with equal counts, the largest offset in steps between matched spikes; optionally the
van Rossum distance (exponential kernel ``tau``, normalised so that one unmatched spike
counts ``sqrt(1/2)``), largest over neurons.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from refsim.validation import CaseResult, Curve, Metric

__all__ = ["load", "compare", "compare_files", "spike_pairs", "van_rossum"]

_SPIKE_KEYS = {"spike_steps", "spike_indices", "spike_times_ms", "dt_ms", "spikes", "t_ms"}


def load(path) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` file ``path``; ``ValueError`` saying why where it cannot
    be read as one (missing, not an archive, a single ``.npy`` array)."""
    try:
        if not Path(path).is_file():
            raise ValueError("no such file")
        if not zipfile.is_zipfile(path):  # np.load would try it as an .npy or a pickle
            raise ValueError("it is not an .npz archive (np.savez writes one)")
        with np.load(Path(path)) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"cannot read {path} as an .npz file: {exc}") from None


def spike_pairs(data: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, indices) of the spikes in ``data``, sorted by neuron then step; None if none."""
    if "spike_steps" in data:
        steps, idx = np.asarray(data["spike_steps"]), np.asarray(data["spike_indices"])
    elif "spike_times_ms" in data:
        if "dt_ms" not in data:
            raise ValueError("spike_times_ms needs dt_ms to be turned into steps")
        steps = np.round(np.asarray(data["spike_times_ms"]) / float(data["dt_ms"]))
        idx = np.asarray(data["spike_indices"])
    elif "spikes" in data:
        raster = np.asarray(data["spikes"])
        raster = raster.reshape(raster.shape[0], -1)
        steps, idx = np.nonzero(raster)
    else:
        return None
    steps, idx = steps.astype(np.int64), idx.astype(np.int64)
    if steps.shape != idx.shape:
        raise ValueError(f"spike steps and indices differ in length: {steps.size} and {idx.size}")
    order = np.lexsort((steps, idx))
    return steps[order], idx[order]


def van_rossum(a_steps: np.ndarray, b_steps: np.ndarray, tau_steps: float) -> float:
    """van Rossum distance of two spike trains (steps), kernel exp(-t/tau), in closed form."""

    def kernel_sum(x, y):
        if x.size == 0 or y.size == 0:
            return 0.0
        return float(np.exp(-np.abs(x[:, None] - y[None, :]) / tau_steps).sum())

    d2 = 0.5 * (
        kernel_sum(a_steps, a_steps)
        + kernel_sum(b_steps, b_steps)
        - 2.0 * kernel_sum(a_steps, b_steps)
    )
    return float(np.sqrt(max(d2, 0.0)))


def compare(
    reference: dict,
    candidate: dict,
    atol: float = 0.0,
    rtol: float = 1e-9,
    max_step_offset: int = 0,
    max_count_difference: int = 0,
    van_rossum_tau_ms: float | None = None,
    van_rossum_tol: float = 0.5,
    name: str = "compare",
) -> CaseResult:
    """Compare two recordings (dicts of arrays, the layout of the module docstring)."""
    metrics, curves = [], []
    traces = sorted(
        k
        for k in reference
        if k not in _SPIKE_KEYS and np.issubdtype(np.asarray(reference[k]).dtype, np.floating)
    )
    for key in traces:
        if key not in candidate:
            metrics.append(
                Metric(
                    f"{key}: in the reference only",
                    float("inf"),
                    0.0,
                    "the candidate must hold every trace of the reference",
                )
            )
            continue
        ref, cand = np.asarray(reference[key], float), np.asarray(candidate[key], float)
        if ref.shape != cand.shape:
            metrics.append(
                Metric(
                    f"{key}: shapes {ref.shape} and {cand.shape} differ",
                    float("inf"),
                    0.0,
                    "traces must have the same shape",
                )
            )
            continue
        tol = atol + rtol * float(np.max(np.abs(ref))) if ref.size else atol
        metrics.append(
            Metric(
                f"{key}: max |candidate - reference|",
                float(np.max(np.abs(cand - ref))) if ref.size else 0.0,
                tol,
                f"atol {atol:g} + rtol {rtol:g} * max |reference|",
            )
        )
        t = reference.get("t_ms", np.arange(ref.shape[0]))
        first = (slice(None),) + (0,) * (ref.ndim - 1)
        curves.append(Curve(f"{name}: {key}", np.asarray(t), ref[first], cand[first], ylabel=key))
    ref_spikes, cand_spikes = spike_pairs(reference), spike_pairs(candidate)
    if ref_spikes is not None and cand_spikes is not None:
        n = int(max(ref_spikes[1].max(initial=-1), cand_spikes[1].max(initial=-1))) + 1
        count_ref = np.bincount(ref_spikes[1], minlength=n)
        count_cand = np.bincount(cand_spikes[1], minlength=n)
        metrics.append(
            Metric(
                "spike counts: sum over neurons of |difference|",
                float(np.abs(count_ref - count_cand).sum()),
                max_count_difference,
                "given tolerance on spike counts",
            )
        )
        worst, vr = 0, 0.0
        for i in range(n):
            a = ref_spikes[0][ref_spikes[1] == i]
            b = cand_spikes[0][cand_spikes[1] == i]
            if a.size == b.size and a.size:
                worst = max(worst, int(np.max(np.abs(a - b))))
            if van_rossum_tau_ms is not None:
                dt = float(reference.get("dt_ms", candidate.get("dt_ms", 1.0)))
                vr = max(vr, van_rossum(a, b, van_rossum_tau_ms / dt))
        metrics.append(
            Metric(
                "largest step offset between matched spikes",
                float(worst),
                max_step_offset,
                "given tolerance on spike timing (steps)",
            )
        )
        if van_rossum_tau_ms is not None:
            metrics.append(
                Metric(
                    f"van Rossum distance (tau {van_rossum_tau_ms} ms), worst neuron",
                    vr,
                    van_rossum_tol,
                    "given tolerance; one unmatched spike counts sqrt(1/2)",
                )
            )
    elif (ref_spikes is None) != (cand_spikes is None):
        metrics.append(
            Metric(
                "spikes present in only one file",
                float("inf"),
                0.0,
                "both files must hold spikes to compare them",
            )
        )
    if not metrics:
        raise ValueError("nothing to compare: the files share no trace and hold no spikes")
    return CaseResult(name, "compare", "candidate against reference", metrics, curves)


def compare_files(reference_path, candidate_path, **kwargs) -> CaseResult:
    """:func:`compare` on two ``.npz`` files."""
    kwargs.setdefault("name", f"{Path(candidate_path).name} vs {Path(reference_path).name}")
    return compare(load(reference_path), load(candidate_path), **kwargs)
