"""Scoring models and showing the results.
May import ``core``, ``data``, ``training`` and ``inference``.

Public modules (``__all__``):

* ``evaluate``: scoring one run on one CSV, or every run of a profile on every split;
* ``reframe``: the test faces cropped from a face detector, as the demo crops them;
* ``offtheshelf``: off-the-shelf detectors (dlib, MediaPipe) scored on our crops;
* ``realworld``: the real pipeline scored on photos and videos of unseen people;
* ``realworld_videos``: test videos with known keypoint trajectories, made from real photos;
* ``realworld_versions``: every version through the real pipeline, and the demo's choice;
* ``analysis``: the analyses behind the figures, as plain functions on arrays;
* ``comparison``: the comparison table of 04_evaluate (with and without test-time flips);
* ``plots``: the report's figures of the data;
* ``model_plots``: the report's figures of trained models;
* ``tables``: the report's tables as DataFrames (their LaTeX: ``reporting.latex``);
* ``widgets``: the ipywidgets inspector (``Inspector``).

Internal: ``drawing`` (how the figures look and are saved: colours, faces,
files; shared by the figure modules) and the inspector's parts behind
``widgets``: ``inspector_data`` (what it shows), ``inspector_draw`` (its
pictures and tables) and ``inspector_upload`` (the panel for your own photo).
"""
from ..core._exports import lazy_modules

__all__ = ["analysis", "comparison", "evaluate", "model_plots", "offtheshelf", "plots",
           "realworld", "realworld_versions", "realworld_videos", "reframe", "tables", "widgets"]
__getattr__, __dir__ = lazy_modules(__name__, __all__)
