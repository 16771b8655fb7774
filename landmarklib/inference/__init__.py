"""Using a trained model: predictions, face detection, export.

Owns predictions as arrays, CSV files and Kaggle submissions (``predict``),
finding faces in photos and framing them as the models expect (``detect``),
and TFLite / ONNX export (``export``). May import ``core``, ``data`` and
``training`` (to open saved runs).
"""
