"""Using a trained model: predictions, face detection and framing, export.

Owns predictions as arrays, CSV files and Kaggle submissions (``predict``),
the face detectors (``face_detectors``: MTCNN, YuNet, Haar behind one
interface), the crop framing they give (``framing``), the one photo pipeline
detector -> framing -> de-rotated crop -> predict -> re-crop (``photo``) that
``predict-image``, the video demo and the inspector share, and TFLite / ONNX
export (``export``). May import ``core``, ``data`` and ``training`` (to open
saved runs).
"""
