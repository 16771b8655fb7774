"""Package machinery: modules that load on first use (``lm.train``, ``lm.training.runs``).

Internal: the package ``__init__`` files use it; nothing else should. A package
lists its public modules once (its ``__all__``) and gets a module-level
``__getattr__`` (PEP 562) that imports one of them the first time it is read,
so that ``import landmarklib`` stays fast and TensorFlow loads only when a
module that needs it is used.
"""
import importlib
import sys


def lazy_modules(package, targets):
    """``(__getattr__, __dir__)`` for `package` whose names load modules on first use.

    Args:
        package: the package's ``__name__``, e.g. ``"landmarklib.training"``.
        targets: the names to load: a sequence of submodule names (each loads
            ``package.name``), or a dict name -> module path relative to
            `package` (``{"train": "training.train"}``).
    Returns the two functions to assign to the package's ``__getattr__`` and
    ``__dir__``; reading any other missing name raises AttributeError as usual.
    """
    targets = dict(targets) if isinstance(targets, dict) else {name: name for name in targets}
    module = sys.modules[package]   # the package being initialised

    def __getattr__(name):
        if name in targets:
            return importlib.import_module(f"{package}.{targets[name]}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(vars(module)) | set(targets))

    return __getattr__, __dir__
