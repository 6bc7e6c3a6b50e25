#!/usr/bin/env bash
# The checks that need an NVIDIA GPU, in one run of a few minutes, for a machine lent through
# the device tool: its python3 has CuPy, NumPy, SciPy, Numba and pytest but not quantities,
# so carry `.whl/` with that wheel (`pip download quantities --no-deps -d .whl`).
#   1. the GPU and the versions;  2. the tests marked gpu;  3. each kernel's registers and
#   local memory;  4. refsim bench on cupy: COBA and CUBA 4000 (median of 3), COBA 1M (1 s).
# Everything printed also goes to $OUT/gpu_check.txt (a temporary folder without $OUT), and
# the bench's measurements to $OUT/bench_4000.json and $OUT/bench_1M.json.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-$(mktemp -d)}"
exec > >(tee "$out/gpu_check.txt") 2>&1
if ! python3 -c "import quantities" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/quantities-*.whl
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
python3 -c "import refsim.validation" 2>/dev/null \
    || python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . || exit 1
echo "== 1. the machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import cupy, numba, numpy; print('CuPy', cupy.__version__, 'NumPy', numpy.__version__, 'Numba', numba.__version__)"
echo "== 2. pytest -m gpu"
python3 -m pytest -q -m gpu -p no:cacheprovider 2>&1 | tail -30
echo "== 3. the kernels"
python3 - <<'PY'
from refsim.backends.cupy.source import _module

for name, kernel in _module().items():
    print(f"{name:18s} {kernel.num_regs:3d} registers a thread, {kernel.local_size_bytes:5d} "
          f"bytes of local memory, at most {kernel.max_threads_per_block} threads a block")
PY
echo "== 4. refsim bench on cupy"
python3 -m refsim.validation.bench --model all --N 4000 --backend cupy --repeats 3 \
    --json "$out/bench_4000.json"
python3 -m refsim.validation.bench --model coba --N 1000000 --backend cupy --repeats 1 \
    --json "$out/bench_1M.json"
