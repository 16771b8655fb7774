"""landmarklib: facial landmark detection in the Kaggle format.

Import it as ``import landmarklib as lm``. The package is split by concern,
each layer importing only the layers below it (``tests/test_package.py``
checks this):

    core/        keypoint schema, configuration and profiles, masked metrics, files
    data/        sources and readers, crops, the dataset registry, augmentation, tf.data
    training/    model versions, the training loop, saved runs, distribution
    inference/   predictions, face detection and framing, video files, export (TFLite / ONNX)
    evaluation/  scoring on every split and through the real pipeline, plots, tables, the inspector
    demo/        video, webcam and photo demos, tracking and smoothing
    reporting/   the notebook runner, LaTeX and README generation, notebook setup

The public surface is what each subpackage lists in its ``__all__`` (its
docstring names every module, public or internal): ``lm.training.runs``,
``lm.evaluation.plots`` ... For the notebooks, the modules also have short
names (``ALIASES``: ``lm.train``, ``lm.plots``, ``lm.video`` ...); the notebooks
use only those (``tests/test_package.py`` checks that every ``lm.<alias>.<name>``
they use resolves). Everything loads on first use, so ``import landmarklib``
stays fast and TensorFlow loads only when a module that needs it is used.
"""
from .core._exports import lazy_modules

__version__ = "0.1.0"

SUBPACKAGES = ("core", "data", "training", "inference", "evaluation", "demo", "reporting")
# lm.<alias> -> module; the notebooks use these short names.
ALIASES = {
    "keypoints": "core.keypoints", "config": "core.config", "files": "core.files",
    "metrics": "core.metrics", "errors": "core.errors",
    "datasets": "data", "augment": "data.augment", "pipeline": "data.pipeline",
    "recipes": "data.recipes",
    "models": "training.models", "versions": "training.versions",
    "efficient": "training.efficient", "train": "training.train", "runs": "training.runs",
    "climb": "training.climb",
    "run_names": "training.run_names", "run_files": "training.run_files",
    "distribute": "training.distribute", "keras_compat": "training.keras_compat",
    "predict": "inference.predict", "export": "inference.export",
    "evaluate": "evaluation.evaluate", "reframe": "evaluation.reframe",
    "offtheshelf": "evaluation.offtheshelf", "plots": "evaluation.plots",
    "tables": "evaluation.tables", "widgets": "evaluation.widgets",
    "analysis": "evaluation.analysis", "comparison": "evaluation.comparison",
    "drawing": "evaluation.drawing", "model_plots": "evaluation.model_plots",
    "inspector_data": "evaluation.inspector_data", "inspector_draw": "evaluation.inspector_draw",
    "inspector_upload": "evaluation.inspector_upload",
    "video": "demo.video", "smoothing": "demo.smoothing", "measurements": "inference.measurements",
    "tracking": "demo.tracking", "draw": "demo.draw", "testvideo": "evaluation.realworld_videos",
    "realworld_versions": "evaluation.realworld_versions",
    "camera": "demo.camera", "stills": "demo.stills", "figures": "demo.figures",
    "photo": "inference.photo", "face_detectors": "inference.face_detectors",
    "framing": "inference.framing", "framing_bias": "inference.framing_bias",
    "realworld": "evaluation.realworld", "realworld_videos": "evaluation.realworld_videos",
    "video_io": "inference.video_io",
    "report": "reporting.report", "notebook": "reporting.notebook", "colablinks": "reporting.colablinks", "overleaf": "reporting.overleaf", "readme": "reporting.readme",
    "runner": "reporting.runner", "execute": "reporting.execute", "latex": "reporting.latex", "generated": "reporting.generated", "results": "reporting.results",
    "findings": "reporting.findings", "consistency": "reporting.consistency",
    "readme_blocks": "reporting.readme_blocks", "evidence": "reporting.evidence",
    "climb_tables": "reporting.climb_tables", "goals": "reporting.goals",
    "cli": "cli",
}


__all__ = list(SUBPACKAGES)
__getattr__, __dir__ = lazy_modules(__name__, {**{name: name for name in SUBPACKAGES}, **ALIASES})
