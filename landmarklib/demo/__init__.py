"""Landmarks on the user's own video, webcam and photos.

Owns the video pipeline and its command-line entry points (``video``), face
tracking and One-Euro smoothing (``smoothing``) and the measurements derived
from keypoints (``measurements``). May import every layer but ``reporting``.
"""
