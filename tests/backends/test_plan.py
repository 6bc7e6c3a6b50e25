"""The named parameter rows (backends/codes.py): what the compiled loops and the kernels
read by name."""

import re

import pytest

from refsim.backends import codes
from refsim.backends.cupy.source import _plan_codes, kernel_source

OWN_ROWS = {name: getattr(codes, name) for name in dir(codes) if name.endswith("_OWN")}


@pytest.mark.parametrize("name", sorted(OWN_ROWS))
def test_each_kinds_rows_name_its_own_parameters_in_table_order(name):
    kind = getattr(codes, name.replace("_OWN", "_KIND"))
    rows = OWN_ROWS[name]
    assert rows._fields == codes.KIND_PARAMS[kind]
    assert tuple(rows) == tuple(range(len(codes.KIND_PARAMS[kind])))


@pytest.mark.parametrize(
    ("short", "full"),
    [("EXPIF", "ADEX"), ("QUAIF", "ADQUAIF"), ("CUBALIF", "COBALIF")],
)
def test_a_kind_read_through_anothers_rows_has_the_same_first_rows(short, full):
    """ExpIF runs the AdEx pass, QuaIF the AdQuaIF pass, CubaLIF the CobaLIF pass."""
    first = codes.KIND_PARAMS[getattr(codes, f"{short}_KIND")]
    assert codes.KIND_PARAMS[getattr(codes, f"{full}_KIND")][: len(first)] == first


def test_the_kernels_read_own_parameters_by_name_and_every_name_is_defined():
    source = kernel_source()
    used = set(re.findall(r"OWN\((\w+), (\w+)\)", source)) - {("kind", "name")}  # the macro
    assert len(used) > 60
    assert not re.search(r"OWN\(\d", source)  # no row by position
    defined = set(re.findall(r"#define REFSIM_(\w+)_OWN_(\w+) \d+", _plan_codes()))
    assert used <= defined
