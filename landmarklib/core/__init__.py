"""The bottom layer: what every other part agrees on. Imports nothing else from landmarklib.

Public modules (``__all__``; ``lm.<name>`` for each):

* ``keypoints``: the 15 Kaggle keypoints, their left/right pairs and mappings
  from other landmark schemes;
* ``config``: every tunable number and path, the profiles and their one check;
* ``metrics``: the masked losses and metrics (numpy and Keras);
* ``files``: atomic writes and the checks on output files;
* ``errors``: ``LandmarkError``, the one error class for bad input;
* ``streams``: native code's stderr lines filtered (TensorFlow's, TFLite's).

Internal: ``_exports``, the lazy loading of every package's public modules.
"""
from ._exports import lazy_modules

__all__ = ["config", "errors", "files", "keypoints", "metrics", "streams"]
__getattr__, __dir__ = lazy_modules(__name__, __all__)
