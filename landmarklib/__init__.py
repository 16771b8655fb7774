"""landmarklib: facial landmark detection in the Kaggle format.

Import it as ``import landmarklib as lm``; submodules load on first use so
that ``import landmarklib`` stays fast and TensorFlow loads only when needed.
"""
import importlib

__version__ = "0.1.0"
_SUBMODULES = (
    "augment", "cli", "config", "datasets", "detect", "distribute", "evaluate", "export",
    "files", "keypoints", "measurements", "metrics", "models", "offtheshelf", "pipeline",
    "plots", "predict", "reframe", "report", "setup", "smoothing", "tables", "train",
    "video", "widgets",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
