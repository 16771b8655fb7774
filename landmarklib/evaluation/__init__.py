"""Scoring models and showing the results.

Owns scoring on every split (``evaluate``), the detector-framed test crops
(``reframe``), the off-the-shelf detectors compared against (``offtheshelf``),
figures (``plots``), tables (``tables``) and the ipywidgets inspector
(``widgets``). May import ``core``, ``data``, ``training`` and ``inference``.
"""
