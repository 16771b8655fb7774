"""The report packed for Overleaf: ``make overleaf`` or ``lm.overleaf.pack(out_zip)``.

The zip holds what ``latexmk -pdf main.tex`` needs and nothing else: main.tex,
references.bib, sections/*.tex, the figures (PDF, PNG) and the generated tables
and macros. Upload it to Overleaf with "New project > Upload project".

    python -m landmarklib.reporting.overleaf [OUT.zip]
"""
import sys
import zipfile
from pathlib import Path

from ..core import config, files

REPORT_DIR = config.ROOT / "report"
ZIP_NAME = "landmarklib-report.zip"  # written to build/overleaf/ (under LANDMARKLIB_HOME)
# (folder relative to the report, glob): what goes in the zip
CONTENTS = (("", "main.tex"), ("", "references.bib"), ("sections", "*.tex"),
            ("figures", "*.pdf"), ("figures", "*.png"), ("generated", "*.tex"))
# The figures and generated tables live under LANDMARKLIB_HOME when it is set.
OUTPUT_FOLDERS = {"figures": lambda: config.FIGURES, "generated": lambda: config.GENERATED}


def report_files(report_dir=None):
    """Sorted list of (name in the zip, path on disk) of the report's files.

    Args:
        report_dir: the LaTeX sources (default ``report/``); figures/ and
            generated/ come from ``config.FIGURES``/``GENERATED`` when it is the default.
    """
    report_dir = Path(report_dir or REPORT_DIR)
    entries = {}
    for folder, pattern in CONTENTS:
        bases = [report_dir / folder if folder else report_dir]
        if folder in OUTPUT_FOLDERS and report_dir == REPORT_DIR:
            bases.append(Path(OUTPUT_FOLDERS[folder]()))  # LANDMARKLIB_HOME's copy wins
        for base in bases:
            for path in sorted(base.glob(pattern)):
                if path.is_file():
                    entries[f"{folder}/{path.name}" if folder else path.name] = path
    for required in ("main.tex", "references.bib"):
        if required not in entries:
            raise FileNotFoundError(f"{report_dir / required}: missing, cannot pack the report")
    return sorted(entries.items())


def pack(out_zip=None, report_dir=None):
    """Write the Overleaf zip (atomically); returns (its path, the names in it).

    Args:
        out_zip: where to write (default ``build/overleaf/landmarklib-report.zip``).
        report_dir: the report's folder (default ``report/``).
    """
    out_zip = Path(out_zip or config.BUILD / "overleaf" / ZIP_NAME)
    entries = report_files(report_dir)
    with files.atomic_path(out_zip) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, path in entries:
                archive.write(path, name)
    return out_zip, [name for name, _ in entries]


def main(argv=None):
    """Command line: pack into the given zip (or the default) and say what is in it."""
    argv = sys.argv[1:] if argv is None else argv
    out, names = pack(argv[0] if argv else None)
    figures = sum(n.startswith("figures/") for n in names)
    generated = sum(n.startswith("generated/") for n in names)
    print(f"{out}: {len(names)} files ({figures} figures, {generated} generated tables); "
          "upload to Overleaf: New project > Upload project")
    if not generated:
        print("note: no generated tables yet; run `make report` (or `make pdf`) first")
    return 0


if __name__ == "__main__":
    sys.exit(main())
