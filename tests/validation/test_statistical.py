import numpy as np
import pytest

from refsim.validation import run_case, select
from refsim.validation.statistical import PEER_RATES, network_rates

STATISTICAL = select("statistical/*")


@pytest.mark.slow
@pytest.mark.parametrize("case", STATISTICAL, ids=[c.name for c in STATISTICAL])
def test_statistical_case(case):
    result = run_case(case)
    assert result.curves, "every case plots what it compares"
    for m in result.metrics:
        assert m.error <= m.tolerance, f"{m.quantity}: {m.error} > {m.tolerance}"


def test_small_networks_fire_at_a_plausible_rate_and_are_reproducible():
    a = network_rates("cuba", seeds=(7,), N=800, duration_ms=100.0)
    b = network_rates("cuba", seeds=(7,), N=800, duration_ms=100.0)
    np.testing.assert_array_equal(a, b)  # same seed, same network, bit for bit
    assert 0.5 < a[0] < 100.0
    assert set(PEER_RATES) == {"coba", "cuba"}


def test_siegert_formula_limits():
    from refsim.validation.statistical import brunel_prediction, siegert_rate

    # far above threshold with little noise: the deterministic period tau_ref + tau ln(...)
    mu, tau = 30.0, 20.0
    deterministic = 1.0 / (2.0 + tau * np.log((mu - 10.0) / (mu - 20.0)))
    assert abs(siegert_rate(mu, 0.05) - deterministic) / deterministic < 1e-3
    nu, nu_ext = brunel_prediction(0.1, 5.0, 2.0, 800)
    assert abs(nu_ext * 1000 - 25.0) < 1e-12  # eta * theta / (J C_E tau)
    assert 0.03 < nu < 0.06  # Brunel's AI state at g = 5, eta = 2: a few tens of Hz
