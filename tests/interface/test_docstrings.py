"""The examples in refsim's docstrings (``>>>`` lines) run and print what they show."""

import doctest
import importlib
import pkgutil
import warnings

import pytest

import refsim


def _modules_with_examples() -> list[str]:
    names = ["refsim"] + [m.name for m in pkgutil.walk_packages(refsim.__path__, "refsim.")]
    found = []
    for name in names:
        spec = importlib.util.find_spec(name)
        origin = getattr(spec, "origin", None)
        if origin and origin.endswith(".py") and ">>> " in open(origin).read():
            found.append(name)
    return found


MODULES = _modules_with_examples()


def test_the_examples_are_found():
    assert {"refsim", "refsim.init", "refsim.neurons.lif"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run_as_shown(name):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    # an example that runs a step function warns on a compiled backend that it runs the
    # NumPy code (on stderr, which the example does not show; the warning has its own test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", refsim.backends.BackendFallbackWarning)
        for test in doctest.DocTestFinder().find(module, name):
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} differ"
