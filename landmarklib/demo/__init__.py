"""Landmarks on the user's own video, webcam and photos. May import every layer but ``reporting``.

Public modules (``__all__``):

* ``video``: landmarks on a video file (``python -m landmarklib video``);
* ``camera``: live landmarks, a webcam window or one browser frame on Colab;
* ``stills``: landmarks on still images (``python -m landmarklib predict-image``);
* ``smoothing``: the One-Euro filter that steadies keypoints over time;
* ``figures``: the figures and widgets of 05_demo.

Internal: ``tracking`` (``FaceTracker``: faces followed by their keypoints, the
detector only to find them) and ``draw`` (marks and text that scale with the
face), the parts that ``video``, ``camera`` and ``stills`` share.
"""
from ..core._exports import lazy_modules

__all__ = ["camera", "figures", "smoothing", "stills", "video"]
__getattr__, __dir__ = lazy_modules(__name__, __all__)
