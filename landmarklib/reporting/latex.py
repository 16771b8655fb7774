"""LaTeX, written in one place: escaping, booktabs tabulars of DataFrames, TeX macro
names and ``\\newcommand`` lines, number formats, and the tables the notebooks write
into ``report/generated/`` (01_explore's dataset sizes, 04_evaluate's comparison,
detectors and real-pipeline tables).

A table file holds only the ``tabular``: the report wraps it in its own
``table`` with a caption (``\\input{generated/dataset_sizes.tex}``), and needs
``\\usepackage{booktabs}``. The report's files made from a profile's runs
(results tables and macros) are written by ``reporting.generated`` with these.
"""
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import config
from ..core.files import atomic_path
from ..evaluation.evaluate import SPLIT_LABELS
from ..evaluation.offtheshelf import SPLITS as DETECTOR_SPLITS
from ..evaluation.tables import TOTAL
from ..training import versions
from .results import VERSION_LABELS
from .runner import format_duration

NOT_RUN = r"\emph{not run}"
MISSING = "--"
LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}
COMPARISON_TEX = config.GENERATED / "comparison.tex"
# 04_evaluate's comparison: column -> (LaTeX header, formatter, lower is better?)
COMPARISON_COLUMNS = {
    "rmse": ("RMSE", lambda v: f"{v:.2f}", True),
    "mae": ("MAE", lambda v: f"{v:.2f}", True),
    "nme": (r"NME\,\%", lambda v: f"{v:.2f}", True),
    "pck": (r"PCK\,\%", lambda v: f"{100 * v:.1f}", False),
    "failure_rate": (r"fail\,\%", lambda v: f"{100 * v:.1f}", True),
    "parameters": ("params", lambda v: f"{v / 1e6:.2f}\\,M", None),
    "ms_b256": (r"ms\,/\,face b256", lambda v: f"{v:.3f}", None),
    "ms_b1": (r"ms\,/\,face b1", lambda v: f"{v:.2f}", None),
}
# The real pipeline per version (04_evaluate's realworld_table.tex): column groups
# over ``realworld_versions.compare_versions``' columns (short headers fit the page).
REALWORLD_GROUPS = (("framed", {"framed YTF": "YTF", "framed MTFL": "MTFL"}),
                    ("photos", {"photos YTF 1p": "YTF 1p", "photos YTF 3p": "YTF 3p",
                                "photos MTFL 1p": "MTFL 1p", "photos MTFL 3p": "MTFL 3p",
                                "photo failures %": "failed"}),
                    ("videos", {"videos": "NME", "video failures %": "failed"}))


# --- writing LaTeX ----------------------------------------------------------------------


def latex_escape(text):
    """`text` with LaTeX's special characters escaped."""
    return "".join(LATEX_SPECIALS.get(c, c) for c in str(text))


def _cell(value, decimals, escape=True):
    """A table cell: 1,234 / 2.5 / "--" for NaN / escaped text (raw LaTeX without `escape`)."""
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if isinstance(value, (float, np.floating)):
        return "--" if np.isnan(value) else f"{value:,.{decimals}f}"
    return latex_escape(value) if escape else str(value)


def to_latex(table, decimals=1, index=True, escape=True):
    """A booktabs ``tabular`` of a DataFrame (``Styler.to_latex(hrules=True)``).

    Args:
        table: the DataFrame; its index becomes the first column (named by
            ``table.index.name``) unless `index` is False.
        decimals: digits after the point for floats (NaN: "--").
        index: write the index as the first column.
        escape: escape text cells and headers; False for cells already in LaTeX.

    Numbers are right-aligned with thousands separators, text is escaped
    (``latex_escape``); a last row named ``total`` gets a rule of its own above it.
    """
    frame = table.reset_index() if index else table.reset_index(drop=True)
    if index:
        frame = frame.rename(columns={frame.columns[0]: table.index.name or ""})
    text_columns = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    styler = (frame.style.hide(axis="index")
              .format(lambda v: _cell(v, decimals, escape))
              .format_index(latex_escape if escape else str, axis=1))
    latex = styler.to_latex(hrules=True, column_format="".join(
        "l" if c in text_columns else "r" for c in frame.columns))
    lines = latex.splitlines()
    last = len(lines) - 3   # the last row, before \bottomrule and \end{tabular}
    if len(frame) > 1 and lines[last].startswith(f"{TOTAL} &"):
        lines.insert(last, r"\midrule")
    return "\n".join(lines) + "\n"


def write_tex(text, path):
    """Write LaTeX `text` to `path` atomically (nothing half-written); returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def write_latex(table, path, **kwargs):
    """Write ``to_latex(table, **kwargs)`` to `path` atomically; returns the path.

    Args:
        table: a DataFrame (e.g. ``tables.dataset_sizes(faces)``, 01_explore).
        path: the .tex file.
        **kwargs: of ``to_latex`` (decimals, index, escape).
    """
    return write_tex(to_latex(table, **kwargs), path)


def macro_name(*parts):
    """``("v4", "test", "rmse")`` -> ``"VfourTestRmse"``: letters only, as TeX needs."""
    words = []
    for part in parts:
        for piece in re.split(r"[_\W]+", str(part)):
            if piece:
                words.append(versions.tex_word(piece))
    name = "".join(words)
    if not re.fullmatch(r"[A-Za-z]+", name):
        raise ValueError(f"cannot make a TeX macro name from {parts!r} (got {name!r})")
    return name


def newcommand(name, value, comment=None):
    """``\\newcommand{\\name}{value}``, with a ``% comment`` if given."""
    line = f"\\newcommand{{\\{name}}}{{{value}}}"
    return f"{line}  % {comment}" if comment else line


def format_count(n):
    """3541822 -> '3.54\\,M'; 12345 -> '12.3\\,k'."""
    if n >= 1e6:
        return f"{n / 1e6:.2f}\\,M"
    if n >= 1e3:
        return f"{n / 1e3:.1f}\\,k"
    return str(int(n))


def format_seconds(seconds):
    """Training time in the unit that reads best (s, min or h)."""
    return format_duration(seconds).replace(" ", r"\,")


# --- the notebooks' tables ----------------------------------------------------------------


def comparison_table(table):
    """04_evaluate's comparison (``comparison.comparison_table``) as a booktabs tabular:
    a block per split, best value per split in bold."""
    cols = list(COMPARISON_COLUMNS)
    header = " & ".join(["model", "flip"] + [COMPARISON_COLUMNS[c][0] for c in cols])
    lines = [r"\begin{tabular}{ll" + "r" * len(cols) + "}", r"\toprule", header + r" \\"]
    for split, part in table.groupby("split", sort=False):
        label = latex_escape(SPLIT_LABELS.get(split, split))
        lines += [r"\midrule",
                  rf"\multicolumn{{{len(cols) + 2}}}{{l}}{{\emph{{{label}"
                  rf" ({part['images'].iloc[0]} faces)}}}} \\"]
        best = {c: (part[c].min() if low else part[c].max())
                for c, (_, _, low) in COMPARISON_COLUMNS.items() if low is not None}
        for _, row in part.iterrows():
            cells = [latex_escape(row["model"]), "yes" if row["flip"] else "no"]
            for c in cols:
                value = row[c]
                text = MISSING if pd.isna(value) else COMPARISON_COLUMNS[c][1](value)
                if c in best and value == best[c]:
                    text = rf"\textbf{{{text}}}"
                cells.append(text)
            lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_comparison_table(table, generated_dir=None):
    """``comparison_table(table)`` as ``comparison.tex`` in `generated_dir`; returns its path.

    Args:
        table: ``comparison.comparison_table``'s DataFrame.
        generated_dir: the report's generated folder (default ``config.GENERATED``).
    """
    path = Path(generated_dir) / COMPARISON_TEX.name if generated_dir else COMPARISON_TEX
    return write_tex(comparison_table(table), path)


def detectors_table(table):
    """The report's detector table: methods as rows, RMSE and NME per split as columns.

    Args:
        table: ``offtheshelf.comparison``'s DataFrame, or None when the detectors'
            predictions were never made (a one-row table says how to make them).
    """
    if table is None:
        note = pd.DataFrame({"": ["not run: make detectors-venv, then "
                                  "python benchmarks/compare_detectors.py"]},
                            index=pd.Index(["detectors"], name="method"))
        return to_latex(note)
    table = table[table["split"].isin(DETECTOR_SPLITS)]
    wide = table.pivot(index="method", columns="split", values=["rmse", "nme"])
    out = pd.DataFrame(index=pd.Index(table["method"].unique(), name="method"))
    for split, short in (("test", "YTF"), ("test_mtfl", "MTFL")):
        out[f"{short} RMSE (px)"] = wide[("rmse", split)]
        out[f"{short} NME (%)"] = wide[("nme", split)]
    return to_latex(out, decimals=2)


def write_detectors_table(table, path):
    """``detectors_table(table)`` to `path`, atomically; returns the path."""
    return write_tex(detectors_table(table), path)


def realworld_table(table):
    """``realworld_versions.compare_versions``' table as a booktabs tabular with grouped
    headers (one decimal; "--" where a number is missing)."""
    groups = [(name, {c: h for c, h in cols.items() if c in table})
              for name, cols in REALWORLD_GROUPS]
    groups = [(name, cols) for name, cols in groups if cols]
    columns = [c for _, cols in groups for c in cols]
    lines = [r"\begin{tabular}{l" + "".join("r" * len(cols) for _, cols in groups) + "}",
             r"\toprule",
             " & ".join([""] + [rf"\multicolumn{{{len(cols)}}}{{c}}{{{name}}}"
                                for name, cols in groups]) + r" \\"]
    first, rules = 2, []
    for _, cols in groups:
        rules.append(rf"\cmidrule(lr){{{first}-{first + len(cols) - 1}}}")
        first += len(cols)
    lines += ["".join(rules),
              " & ".join(["version"] + [h for _, cols in groups for h in cols.values()]) + r" \\",
              r"\midrule"]
    for version, row in table.iterrows():
        cells = [MISSING if math.isnan(row[c]) else f"{row[c]:.1f}" for c in columns]
        lines.append(" & ".join([VERSION_LABELS.get(version, version)] + cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_realworld_table(table, path):
    """``realworld_table(table)`` to `path`, atomically; returns the path.

    Args:
        table: ``realworld_versions.compare_versions``' table (04_evaluate).
        path: the .tex file (the report inputs ``generated/realworld_table.tex``).
    """
    return write_tex(realworld_table(table), path)
