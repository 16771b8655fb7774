"""Regenerating the report: running notebooks, writing LaTeX and README tables.
The top layer: may import all others.

Public modules (``__all__``):

* ``notebook``: the one setup call every notebook makes, its setup cell, Colab helpers;
* ``report``: ``make report``: the notebooks in order, the report's numbers, the PDF;
* ``runner``: the course's notebooks run in order, saying which one failed;
* ``readme``: the README's tables of numbers (``make readme``);
* ``overleaf``: the report packed for Overleaf (``make overleaf``);
* ``colablinks``: the repository's address as one setting (``make colab-links``);
* ``findings``: the report's findings, computed from the runs;
* ``latex``: the one LaTeX writer (booktabs tabulars, escaping, ``\\newcommand``
  names) and the tables the notebooks save for the report.

Internal, the parts behind them: ``execute`` (one notebook under papermill that
cannot hang), ``results`` (a profile's results read from its run folders),
``generated`` (``report/generated/*.tex`` from a profile's runs),
``consistency`` (do the figures come from one profile?), ``evidence`` (what the
notebooks save for the findings), ``readme_blocks`` (the README's generated
Markdown blocks), ``climb_tables`` (V6's climb, one change per row, from its runs)
and ``goals`` (V6's goals beside what was measured).
"""
from ..core._exports import lazy_modules

__all__ = ["colablinks", "findings", "latex", "notebook", "overleaf", "readme", "report", "runner"]
__getattr__, __dir__ = lazy_modules(__name__, __all__)
