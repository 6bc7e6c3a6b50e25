"""The C twins generated for the GPU give the Python twins' bits (host C compiler).

The cupy backend compiles the C that :mod:`refsim.backends.cupy.translate` generates from
the Python scalar twins.  Here the same C is compiled by the host's C compiler (no
contraction into fused multiply-adds, as ``--fmad=false`` on the GPU) and called through
ctypes on random and edge-case arguments: every result must equal the Python twin's bit
for bit.  On a GPU, ``test_generated_twins_on_the_gpu_equal_python_bit_for_bit`` repeats
the check with CUDA.
"""

from __future__ import annotations

import ctypes
import inspect
import shutil
import subprocess

import numpy as np
import pytest

from refsim import backends
from refsim.backends.cupy import COMPILE_OPTIONS, KERNEL_TWINS, translate
from refsim.backends.cupy.translate import TranslationError, twin_source

COMPILER = shutil.which("cc") or shutil.which("gcc")
needs_cc = pytest.mark.skipif(COMPILER is None, reason="no host C compiler (cc/gcc) on PATH")


def _returned(function) -> int:
    """How many values the twin returns."""
    return translate._Function(function).returns


def _stores(function, call: str, at: str) -> str:
    """C that writes the values of ``call`` to ``out[at]``, ``out[at + 1]``..."""
    size = _returned(function)
    if size == 1:
        return f"out[{at}] = {call};"
    kind = "refsim_pair" if size == 2 else f"refsim_tuple{size}"
    return f"{kind} p = {call}; " + " ".join(f"out[{at} + {i}] = p.v{i};" for i in range(size))


def _wrappers(functions) -> str:
    """Exported C wrappers (the twins are static inline): the values return through a
    pointer."""
    out = []
    for f in functions:
        args = list(inspect.signature(f).parameters)
        params = ", ".join(f"double {a}" for a in args)
        call = f"{f.__name__}({', '.join(args)})"
        out.append(f"void test_{f.__name__}({params}, double *out)\n{{ {_stores(f, call, '0')} }}")
    return "\n".join(out)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    functions = list(KERNEL_TWINS)
    folder = tmp_path_factory.mktemp("twins")
    (folder / "twins.c").write_text(twin_source(functions) + "\n" + _wrappers(functions))
    subprocess.run(
        [
            COMPILER,
            "-O2",
            "-std=c99",
            "-ffp-contract=off",
            "-fno-fast-math",
            "-shared",
            "-fPIC",
            "-o",
            str(folder / "twins.so"),
            str(folder / "twins.c"),
            "-lm",
        ],
        check=True,
        capture_output=True,
    )
    return ctypes.CDLL(str(folder / "twins.so"))


def _arguments(function, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Random arguments over the ranges a network sees, plus signed zeros, extremes and
    subnormals."""
    columns = []
    for _ in inspect.signature(function).parameters:
        mixed = np.concatenate(
            [
                rng.normal(0.0, 1.0, n // 4),
                rng.uniform(-80.0, 20.0, n // 4),
                rng.uniform(-800.0, 800.0, n // 4) * rng.uniform(0, 1, n // 4),
                rng.uniform(0.05, 30.0, n // 4),
            ]
        )
        mixed[:8] = [0.0, -0.0, 0.5, -0.5, 1e-300, 709.0, 5e-324, -1e-310]  # (subnormals)
        columns.append(rng.permutation(mixed))
    return columns


@needs_cc
@pytest.mark.parametrize("function", list(KERNEL_TWINS), ids=lambda f: f.__name__)
def test_generated_c_twin_equals_python_bit_for_bit(library, function):
    rng = np.random.default_rng(7)
    columns = _arguments(function, rng, 4000)
    expected = _expected(function, columns)
    c_function = getattr(library, f"test_{function.__name__}")
    c_function.argtypes = [ctypes.c_double] * len(columns) + [ctypes.POINTER(ctypes.c_double)]
    c_function.restype = None
    size = expected.shape[1]
    assert size == _returned(function)
    out = (ctypes.c_double * size)()
    got = np.empty_like(expected)
    for row, args in enumerate(zip(*(c.tolist() for c in columns), strict=True)):
        c_function(*args, out)
        got[row] = out[:]
    differ = np.flatnonzero(~np.all(_same_bits(got, expected), axis=1))
    assert differ.size == 0, (
        f"{differ.size} of 4000 differ, first at arguments {[c[differ[0]] for c in columns]}"
    )


def _same_bits(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Bit for bit, but a NaN equals any NaN: IEEE 754 leaves the sign and payload of the
    NaN an operation makes unspecified (degenerate arguments here: a time constant 0)."""
    return (got.view(np.int64) == expected.view(np.int64)) | (np.isnan(got) & np.isnan(expected))


def _expected(function, columns) -> np.ndarray:
    """The Python twin over the argument columns: (n, values) results."""
    rows = []
    for args in zip(*(c.tolist() for c in columns), strict=True):
        with np.errstate(all="ignore"):  # NumPy scalars: x / 0 gives inf, as in C
            value = function(*(np.float64(a) for a in args))
        rows.append([float(v) for v in value] if isinstance(value, tuple) else [float(value)])
    return np.asarray(rows)


@pytest.mark.gpu
def test_generated_twins_on_the_gpu_equal_python_bit_for_bit():
    usable, detail = backends.available()["cupy"]
    if not usable:
        pytest.skip(detail)
    import cupy

    functions = list(KERNEL_TWINS)
    kernels = []
    for f in functions:
        args = list(inspect.signature(f).parameters)
        params = ", ".join(f"const double *{a}" for a in args)
        call = f"{f.__name__}({', '.join(f'{a}[i]' for a in args)})"
        body = _stores(f, call, f"{_returned(f)} * i")
        kernels.append(
            f'extern "C" __global__ void test_{f.__name__}({params}, double *out, '
            "long long n)\n{ long long i = blockIdx.x * (long long)blockDim.x + "
            f"threadIdx.x; if (i < n) {{ {body} }} }}"
        )
    module = cupy.RawModule(
        code=twin_source(functions) + "\n".join(kernels), options=COMPILE_OPTIONS
    )
    rng = np.random.default_rng(8)
    for f in functions:
        columns = _arguments(f, rng, 4000)
        expected = _expected(f, columns)
        out = cupy.zeros(expected.size)
        module.get_function(f"test_{f.__name__}")(
            (16,), (256,), tuple(cupy.asarray(c) for c in columns) + (out, np.int64(4000))
        )
        got = out.get().reshape(expected.shape)
        assert np.all(_same_bits(got, expected)), f.__name__


def test_translation_names_the_function_and_the_construct():
    def uses_a_loop(x):
        for _ in range(3):
            x = x + 1.0
        return x

    with pytest.raises(TranslationError, match=r"uses_a_loop, line \d+: the statement For"):
        twin_source([uses_a_loop])


def test_translation_writes_python_order_with_explicit_parentheses():
    def ordered(a, b, c):
        return a + b * c - a / b

    text = twin_source([ordered])
    assert "REFSIM_FN double ordered(double a, double b, double c)" in text
    assert "return ((a + (b * c)) - (a / b));" in text


def test_columns_for_the_gpu_gather_keep_the_cpus_order_of_addition():
    from refsim.backends.cupy.device import _csc

    rng = np.random.default_rng(3)
    # 50 rows of 0-24 entries each, columns unsorted and repeated within a row
    indptr = np.r_[0, np.cumsum(rng.integers(0, 25, 50))]
    indices = rng.integers(0, 40, indptr[-1]).astype(np.int32)
    weights = rng.normal(size=indptr[-1])
    assert any(
        np.unique(indices[a:b]).size < b - a for a, b in zip(indptr[:-1], indptr[1:], strict=True)
    )
    colptr, row_of, data = _csc(indptr, indices, weights, 40)
    fired = rng.random(50) < 0.4
    for j in range(40):
        # the CPU: rows that fired in index order, each row in storage order
        cpu = 0.0
        for r in np.flatnonzero(fired):
            for s in range(indptr[r], indptr[r + 1]):
                if indices[s] == j:
                    cpu += weights[s]
        gpu = 0.0
        for e in range(colptr[j], colptr[j + 1]):
            assert e == colptr[j] or row_of[e - 1] <= row_of[e]
            if fired[row_of[e]]:
                gpu = gpu + data[e]
        assert np.float64(gpu).view(np.int64) == np.float64(cpu).view(np.int64), j


NVCC = shutil.which("nvcc")


def _declared_models() -> tuple:
    """Two neuron models and two synapses declared outside refsim
    (tests/models/test_declared_models.py, test_declared_synapses.py)."""
    import test_declared_models
    import test_declared_synapses

    return (
        (test_declared_models.KickLIF, test_declared_models.RampIF),
        (test_declared_synapses.RiseSynapse, test_declared_synapses.Trace),
    )


@pytest.mark.skipif(NVCC is None, reason="no CUDA compiler (nvcc) on PATH")
@pytest.mark.parametrize("declared", [(), "two declared models and two synapses"])
def test_the_whole_kernel_source_compiles_for_the_gpu(tmp_path, declared):
    """NVCC (CUDA's compiler; no GPU needed) takes the source the cupy backend hands to
    NVRTC, with its options, without a warning: the kernels alone, and with the
    ``declared_neuron`` and ``declared_synapse`` of declared models."""
    from refsim.backends.cupy import kernel_source

    neurons, synapses = _declared_models() if declared else ((), ())
    source = kernel_source(neurons, synapses)
    if declared:  # a branch per model, by its slot
        assert "if (slot == 1) {  /* test_declared_synapses.Trace */" in source
        assert "const double p_tau_rise = par[0 * width + k];" in source
    (tmp_path / "kernels.cu").write_text(source)
    built = subprocess.run(
        [
            NVCC,
            "-arch=sm_80",
            "--ptx",
            *COMPILE_OPTIONS,
            "-Werror",
            "all-warnings",
            "-o",
            str(tmp_path / "kernels.ptx"),
            str(tmp_path / "kernels.cu"),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    ptx = (tmp_path / "kernels.ptx").read_text()
    for kernel in ("count_events", "gather_events", "population_step", "begin_populations"):
        assert f".entry {kernel}(" in ptx
    assert "fma.rn.f64" not in ptx  # --fmad=false: no contraction into fused multiply-adds
