import math

import numpy as np
import pytest

from refsim.validation import run_case, select
from refsim.validation.analytic import discrete_period_steps

ANALYTIC = select("analytic/*")


@pytest.mark.parametrize("case", ANALYTIC, ids=[c.name for c in ANALYTIC])
def test_analytic_case(case):
    result = run_case(case)
    assert len(result.metrics) >= 1
    assert result.curves, "every case plots what it compares"
    for m in result.metrics:
        assert m.error <= m.tolerance, f"{m.quantity}: {m.error} > {m.tolerance}"


def test_discrete_period_formula_against_a_brute_force_count():
    """Iterate the exact map V -> V_inf + (V - V_inf) a and count steps to threshold."""
    tau, tau_ref, dt, V_reset, V_th = 20.0, 2.05, 0.1, -60.0, -50.0
    for V_inf in (-49.0, -45.3, -30.0, 0.0):
        a = math.exp(-dt / tau)
        V, free = V_reset, 0
        while V < V_th:
            V = V_inf + (V - V_inf) * a
            free += 1
        clamped = sum(1 for j in range(1, 100) if j * dt < tau_ref)
        assert discrete_period_steps(tau, tau_ref, V_inf, V_reset, V_th) == clamped + free


def test_period_formula_refuses_crossings_on_a_step_boundary():
    with pytest.raises(ValueError, match="step boundary"):
        discrete_period_steps(20.0, 2.0, -40.0, -60.0, -50.0)  # tau_ref/dt is an integer


def test_fi_sweep_covers_a_range_of_rates():
    result = run_case(next(c for c in ANALYTIC if c.name == "analytic/lif_fI_refractory"))
    rates = result.curves[0].refsim
    assert np.all(np.isfinite(rates)) and rates.min() < 25 and rates.max() > 150
