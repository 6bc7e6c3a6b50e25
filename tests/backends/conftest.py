"""The ``backend`` fixture of the cross-backend tests (``test_backends.COMPILED``)."""

import host_cupy
import pytest


@pytest.fixture
def backend(request):
    """The backend a test runs on (a ``COMPILED`` entry, by ``indirect=True``):
    ``cupy-host`` is ``cupy`` with its kernels run on the CPU (``tests/support/host_cupy.py``)."""
    if request.param == "cupy-host":
        with host_cupy.installed():
            yield "cupy"
    else:
        yield request.param
