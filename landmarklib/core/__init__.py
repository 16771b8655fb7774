"""The bottom layer: what every other part agrees on.

Owns the keypoint schema (``keypoints``), every tunable number and path
(``config``), the masked losses and metrics (``metrics``) and atomic file
writes (``files``). Imports nothing else from landmarklib.
"""
