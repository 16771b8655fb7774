"""landmarklib: facial landmark detection in the Kaggle format.

Import it as ``import landmarklib as lm``. The package is split by concern,
each layer importing only the layers below it (``tests/test_package.py``
checks this):

    core/        keypoint schema, configuration and profiles, masked metrics, files
    data/        sources and readers, crops, the dataset registry, augmentation, tf.data
    training/    model versions, the training loop, saved runs, distribution
    inference/   predictions, face detection, export (TFLite / ONNX)
    evaluation/  scoring on every split, plots, tables, the inspector widget
    demo/        video, webcam and photo demos, tracking and smoothing
    reporting/   the notebook runner, LaTeX and README generation, notebook setup

Every module is also reachable by its short name (``lm.train``, ``lm.plots``,
``lm.video`` ...), loaded on first use so that ``import landmarklib`` stays
fast and TensorFlow loads only when needed.
"""
import importlib

__version__ = "0.1.0"

SUBPACKAGES = ("core", "data", "training", "inference", "evaluation", "demo", "reporting")
# lm.<alias> -> module; the notebooks use these short names.
ALIASES = {
    "keypoints": "core.keypoints", "config": "core.config", "files": "core.files",
    "metrics": "core.metrics", "errors": "core.errors",
    "datasets": "data", "augment": "data.augment", "pipeline": "data.pipeline",
    "recipes": "data.recipes",
    "models": "training.models", "train": "training.train", "runs": "training.runs",
    "distribute": "training.distribute", "keras_compat": "training.keras_compat",
    "predict": "inference.predict", "export": "inference.export",
    "evaluate": "evaluation.evaluate", "reframe": "evaluation.reframe",
    "offtheshelf": "evaluation.offtheshelf", "plots": "evaluation.plots",
    "tables": "evaluation.tables", "widgets": "evaluation.widgets",
    "analysis": "evaluation.analysis", "comparison": "evaluation.comparison",
    "drawing": "evaluation.drawing", "model_plots": "evaluation.model_plots",
    "inspector_data": "evaluation.inspector_data", "inspector_draw": "evaluation.inspector_draw",
    "inspector_upload": "evaluation.inspector_upload",
    "video": "demo.video", "smoothing": "demo.smoothing", "measurements": "demo.measurements",
    "tracking": "demo.tracking", "draw": "demo.draw", "testvideo": "demo.testvideo",
    "realworld_versions": "demo.realworld_versions",
    "camera": "demo.camera", "stills": "demo.stills", "figures": "demo.figures",
    "photo": "inference.photo", "face_detectors": "inference.face_detectors",
    "framing": "inference.framing", "framing_bias": "inference.framing_bias",
    "realworld": "evaluation.realworld",
    "report": "reporting.report", "notebook": "reporting.notebook", "colablinks": "reporting.colablinks", "overleaf": "reporting.overleaf", "readme": "reporting.readme",
    "runner": "reporting.runner", "latex": "reporting.latex", "results": "reporting.results",
    "findings": "reporting.findings", "consistency": "reporting.consistency",
    "readme_blocks": "reporting.readme_blocks", "evidence": "reporting.evidence",
    "cli": "cli",
}


def __getattr__(name):
    if name in ALIASES:
        return importlib.import_module(f"{__name__}.{ALIASES[name]}")
    if name in SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(ALIASES) + list(SUBPACKAGES))
