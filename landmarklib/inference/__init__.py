"""Using a trained model: predictions, face detection and framing, export.
May import ``core``, ``data`` and ``training`` (to open saved runs).

Public modules (``__all__``):

* ``predict``: predictions as arrays, CSV files and Kaggle submissions;
* ``face_detectors``: the face detectors (MTCNN, YuNet, Haar) behind one interface;
* ``framing``: from a detected face to the crop the models expect;
* ``framing_bias``: how far a model's framing of its keypoints is from the true one;
* ``measurements``: measurements derived from the 15 keypoints of a face;
* ``video_io``: reading and writing video files, with errors that name the file;
* ``photo``: the one photo pipeline, detector -> framing -> de-rotated crop ->
  predict -> re-crop, that ``predict-image``, the video demo and the inspector share;
* ``export``: TFLite / ONNX export, and the check of an export.
"""
from ..core._exports import lazy_modules

__all__ = ["export", "face_detectors", "framing", "framing_bias", "measurements", "photo",
           "predict", "video_io"]
__getattr__, __dir__ = lazy_modules(__name__, __all__)
