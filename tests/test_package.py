"""The package's lazy attribute access (``lm.<module>``) knows every module."""
from pathlib import Path

import landmarklib as lm


def test_every_module_is_reachable_as_an_attribute():
    package = Path(lm.__file__).parent
    modules = {p.stem for p in package.glob("*.py") if not p.stem.startswith("_")}
    modules |= {p.parent.name for p in package.glob("*/__init__.py")}
    assert modules == set(lm._SUBMODULES)
