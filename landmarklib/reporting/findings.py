"""The report's findings, computed from the runs: macros and short sentences.

``write_findings(generated_dir, profile)`` writes ``generated/findings.tex``
(``\\newcommand`` per finding; the Discussion and Conclusion quote only these)
and ``generated/meta.tex`` (title and author, from settings). The findings:

* per test split, which version is best and by how much over the next one
  (``results.json`` of ``models/<version>-<profile>/``; the detector-crop
  split ``test_detector`` from ``build/comparison.csv``, 04_evaluate's table,
  used only when its numbers match this profile's runs);
* what augmentation does on landmark-framed and on detector-framed crops
  (V4 and V3 against V2, the same model without augmentation);
* test-time flip for the best version;
* per MTFL attribute, the group that fails clearly more, if any
  (``build/findings/<profile>/attributes.csv``, saved by ``save_attributes``);
* on video, the NME and the jitter with and without the One-Euro filter
  (``build/findings/<profile>/video.json``, saved by ``save_video``);
* the real pipeline per version: photos and test videos of test people
  through the detector (``build/findings/<profile>/realworld.csv``, saved by
  ``save_realworld``).

What was not measured says so in words, so the text compiles and stays true
for any profile. Numbers are formatted here; the .tex sections type none.
"""
import os
from pathlib import Path

import pandas as pd

from ..core.files import atomic_path
from ..evaluation.analysis import SIGNIFICANT_Z
from ..inference import photo
from ..training import versions
# The evidence (what the notebooks saved for the report) lives in .evidence;
# lm.findings.save_* is what the notebooks call.
from .evidence import EVIDENCE, collect, save_attributes, save_realworld, save_video  # noqa: F401
from .results import VERSION_LABELS

FINDINGS_TEX = "findings.tex"
META_TEX = "meta.tex"
SPLIT_NAMES = {"test": "the YouTube-Faces test faces", "test_detector": "detector crops",
               "test_mtfl": "the MTFL test faces"}
SPLIT_MACROS = {"test": "Test", "test_detector": "Detector", "test_mtfl": "Mtfl"}
PLAIN = "v2"                                   # no augmentation: what V3 and V4 are compared to
AUGMENTED = ("v3", "v4")
NOT_MEASURED = r"\emph{not measured}"
TITLE_ENV, AUTHOR_ENV = "LANDMARKLIB_REPORT_TITLE", "LANDMARKLIB_REPORT_AUTHOR"
NUMBER_WORDS = ("One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten")
# the count follows the registry (it said "Six" beside seven versions once)
DEFAULT_TITLE = (r"Facial Landmark Detection on $96\times96$ Faces:\\ "
                 f"Masked Losses, Augmentation and {NUMBER_WORDS[len(versions.REGISTRY) - 1]} Model Versions")
DEFAULT_AUTHOR = "The landmarklib contributors"


# --- findings as text -----------------------------------------------------------------


def version_label(version):
    """How the text names `version` (``results.VERSION_LABELS``: "v4" -> "V4"); other
    names (a detector's) stay as they are."""
    return VERSION_LABELS.get(version, version)


def points(value):
    """A difference of NME in percentage points, for the text ("0.20~points")."""
    return f"{abs(value):.2f}~points"


def percent(value):
    """An NME for the text ("4.60\\,\\%")."""
    return rf"{value:.2f}\,\%"


def best_on(nme, split):
    """Macros and a sentence: the best version on `split` and its lead over the next."""
    name = SPLIT_MACROS[split]
    scores = nme.get(split, {})
    if not scores:
        return {f"FindBest{name}": r"\notrun", f"FindBest{name}Nme": r"\notrun",
                f"FindBest{name}Lead": r"\notrun",
                f"FindBest{name}Sentence": f"No version was scored on {SPLIT_NAMES[split]}."}
    ranked = sorted(scores, key=scores.get)
    best = ranked[0]
    macros = {f"FindBest{name}": version_label(best), f"FindBest{name}Nme": percent(scores[best])}
    if len(ranked) == 1:
        macros[f"FindBest{name}Lead"] = r"\notrun"
        sentence = (f"On {SPLIT_NAMES[split]} only {version_label(best)} was scored "
                    f"(NME {percent(scores[best])}).")
    else:
        lead = scores[ranked[1]] - scores[best]
        macros[f"FindBest{name}Lead"] = points(lead)
        sentence = (f"On {SPLIT_NAMES[split]}, {version_label(best)} has the lowest NME, "
                    f"{percent(scores[best])}, {points(lead)} below "
                    f"{version_label(ranked[1])}.")
    macros[f"FindBest{name}Sentence"] = sentence
    return macros


def _change(nme, split, new, old):
    scores = nme.get(split, {})
    return scores[new] - scores[old] if new in scores and old in scores else None


def augmentation(nme):
    """Macros and sentences: what V3 and V4 change against V2 on framed and detector crops."""
    macros = {}
    for version in AUGMENTED:
        tag = version_label(version)
        word = versions.get_version(version).macro_word
        test = _change(nme, "test", version, PLAIN)
        detector = _change(nme, "test_detector", version, PLAIN)
        macros[f"Find{word}TestChange"] = _signed(test)
        macros[f"Find{word}DetChange"] = _signed(detector)
        if test is None:
            text = f"{tag} and {version_label(PLAIN)} were not both trained for this profile."
        elif detector is None:
            text = (f"Against {version_label(PLAIN)}, {tag} {_verb(test)} the landmark-framed "
                    f"NME by {points(test)}; the detector-crop split was not scored for these "
                    "runs (04\\_evaluate writes it).")
        else:
            joint = "and" if (test < 0) == (detector < 0) else "but"
            text = (f"Against {version_label(PLAIN)}, {tag} {_verb(detector)} the detector-crop "
                    f"NME by {points(detector)} {joint} {_verb(test)} the landmark-framed NME "
                    f"by {points(test)}.")
        macros[f"Find{word}AugmentSentence"] = text
    return macros


def _signed(diff):
    if diff is None:
        return r"\notrun"
    return "unchanged" if abs(diff) < 0.005 else f"{points(diff)} {'lower' if diff < 0 else 'higher'}"


def _verb(diff):
    return "lowers" if diff < 0 else "raises"


def flip(nme):
    """A sentence: does test-time flip help the best version on the test faces?"""
    scores, flipped = nme.get("test", {}), nme.get("test_flip", {})
    if not scores:
        return {"FindFlipSentence": "No version was trained for this profile."}
    best = min(scores, key=scores.get)
    if best not in flipped:
        return {"FindFlipSentence": f"Test-time flip was not scored for {version_label(best)}."}
    diff = flipped[best] - scores[best]
    verdict = "helps" if diff < -0.005 else "does not help" if diff > 0.005 else "changes nothing for"
    return {"FindFlipSentence": (f"Test-time flip {verdict} {version_label(best)}: "
                                 f"{percent(scores[best])} without, {percent(flipped[best])} "
                                 "with it.")}


def attributes(table, nme):
    """Sentences: per MTFL attribute, the group the best MTFL version fails clearly more on."""
    if table is None or table.empty:
        return {"FindAttributeSentence": ("The error by MTFL attribute was not recorded for "
                                          "this profile."), "FindHardestGroup": NOT_MEASURED}
    scores = nme.get("test_mtfl", {})
    model = min(scores, key=scores.get) if scores else table["model"].iloc[0]
    part = table[(table["model"] == model) & table["z"].notna()]
    if part.empty:
        part = table[table["z"].notna()]
        model = part["model"].iloc[0] if len(part) else model
    clear, quiet = [], []
    for attribute, rows in part.groupby("attribute", sort=False):
        worst = rows.loc[rows["z"].idxmax()]
        if worst["z"] > SIGNIFICANT_Z:
            clear.append(f"{worst['group']} faces ({percent(worst['nme'])} against "
                         f"{percent(worst['nme_rest'])} for the others)")
        else:
            quiet.append(str(attribute))
    label = version_label(str(model))
    parts = []
    if clear:
        parts.append(f"{label} fails clearly more on " + "; on ".join(clear) + ".")
    if quiet:
        parts.append(f"By {', '.join(quiet)} no group of MTFL faces is clearly worse for {label} "
                     "than the rest (within two standard errors).")
    hardest = part.loc[part["z"].idxmax()] if len(part) else None
    return {"FindAttributeSentence": " ".join(parts) or "No attribute could be compared.",
            "FindHardestGroup": (str(hardest["group"]) if hardest is not None and
                                 hardest["z"] > SIGNIFICANT_Z else "none")}


def video(record):
    """Sentences: NME on the synthetic video and the jitter with and without smoothing."""
    if not record:
        return {"FindVideoNme": NOT_MEASURED, "FindJitterRaw": NOT_MEASURED,
                "FindJitterSmoothed": NOT_MEASURED,
                "FindVideoSentence": "The video demo's numbers were not recorded for this profile."}
    cut = 1 - record["jitter_smoothed"] / record["jitter_raw"] if record["jitter_raw"] else 0.0
    return {"FindVideoNme": percent(record["nme"]),
            "FindJitterRaw": rf"{record['jitter_raw']:.2f}\,px",
            "FindJitterSmoothed": rf"{record['jitter_smoothed']:.2f}\,px",
            "FindVideoSentence": (
                f"On the test video, {version_label(record['version'])} tracks the faces with an "
                f"NME of {percent(record['nme'])}; on a still face the One-Euro filter "
                f"{'cuts' if cut > 0 else 'does not cut'} the frame-to-frame jitter from "
                rf"{record['jitter_raw']:.2f}\,px to {record['jitter_smoothed']:.2f}\,px"
                + (rf" ({100 * cut:.0f}\,\% less)." if cut > 0 else "."))}


NO_CHOICE = "the evaluation notebook has not chosen one for this profile yet."


def realworld(table, choice=None):
    """Sentences: the best version on framed crops, photos and videos; then the detectors;
    then the demo's version (chosen on validation people, `choice`) on the test people."""
    ours = None if table is None else table[table.index.isin(list(versions.REGISTRY))]
    if ours is None or ours.empty:
        return {"FindRealSentence": "The real pipeline was not scored for this profile.",
                "FindRealDetectorsSentence": "", "FindDemoChoiceSentence": NO_CHOICE}
    photos = f"photos YTF {photo.MAX_PASSES}p"    # as predict-image runs it
    photos = photos if photos in ours else [c for c in ours if c.startswith("photos YTF")][-1]
    columns = {"framed": "framed YTF", "photos": photos, "videos": "videos"}
    best = {name: version_label(ours[col].idxmin()) for name, col in columns.items()}
    low = {name: percent(ours[col].min()) for name, col in columns.items()}
    out = {"FindRealSentence": (
        f"Through the face detector, the best version on the test people's photos, "
        f"{best['photos']}, has a median NME of {low['photos']} and the best on the test videos, "
        f"{best['videos']}, {low['videos']}; on crops framed from the true landmarks "
        f"{best['framed']} reaches a mean NME of {low['framed']}."),
           "FindRealDetectorsSentence": "", "FindDemoChoiceSentence": NO_CHOICE}
    if choice and choice["version"] in ours.index:
        v = choice["version"]
        out["FindDemoChoiceSentence"] = (
            f"The demos run {version_label(v)}: on the validation people its worst median NME "
            f"over photos and videos, {percent(choice['worst_median_nme'][v])}, was the lowest; "
            f"on the test people it has {percent(ours.loc[v, photos])} on photos and "
            f"{percent(ours.loc[v, 'videos'])} on videos.")
    others = table[~table.index.isin(list(versions.REGISTRY))]
    col = "photos YTF 1p"                   # the detectors' own framing: one pass
    if col in others and others[col].notna().any():
        name = others[col].idxmin()
        value, ours_best = others.loc[name, col], ours[photos].min()
        out["FindRealDetectorsSentence"] = (
            f"{name}, which finds the face itself, reaches {percent(value)} on the same photos"
            + (f" and {percent(others.loc[name, 'videos'])} on the videos"
               if "videos" in others and pd.notna(others.loc[name, "videos"]) else "")
            + f": {'less' if value < ours_best else 'more'} error than our best version there.")
    return out


def conclusion(nme):
    """One sentence: which version to use for which crops."""
    test, detector = nme.get("test", {}), nme.get("test_detector", {})
    if not test:
        return {"FindConclusionSentence": "No model was trained for this profile yet."}
    best_test = version_label(min(test, key=test.get))
    if not detector:
        return {"FindConclusionSentence": (
            f"For faces cropped from their landmarks, use {best_test}; which version suits "
            "detector crops was not measured for this profile.")}
    best_det = version_label(min(detector, key=detector.get))
    if best_det == best_test:
        return {"FindConclusionSentence": (f"{best_test} is the version to use, on landmark-framed "
                                           "crops and on detector crops alike.")}
    return {"FindConclusionSentence": (
        f"The version to use depends on the crops: {best_test} on faces framed from their "
        f"landmarks, {best_det} on faces framed by a detector, as in real use.")}


# --- writing ------------------------------------------------------------------------------


def findings_macros(evidence):
    """Dict macro name -> LaTeX value, from ``collect``'s evidence."""
    nme = evidence["nme"]
    macros = {}
    for split in SPLIT_MACROS:
        macros.update(best_on(nme, split))
    macros.update(augmentation(nme))
    macros.update(flip(nme))
    macros.update(attributes(evidence["attributes"], nme))
    macros.update(video(evidence["video"]))
    macros.update(realworld(evidence.get("realworld"), evidence.get("demo_choice")))
    macros.update(conclusion(nme))
    stale = evidence["comparison_profile_ok"] is False
    macros["FindComparisonNote"] = (
        "The comparison table of 04\\_evaluate on disk belongs to other runs than this "
        "profile's; rerun 04\\_evaluate." if stale else "")
    return macros


def meta_tex(title=None, author=None):
    """``\\ReportTitle`` and ``\\ReportAuthor`` from arguments, the environment or defaults.

    Args:
        title: the report's title (default: $LANDMARKLIB_REPORT_TITLE, else DEFAULT_TITLE).
        author: its author (default: $LANDMARKLIB_REPORT_AUTHOR, else DEFAULT_AUTHOR).
    """
    title = title or os.environ.get(TITLE_ENV) or DEFAULT_TITLE
    author = author or os.environ.get(AUTHOR_ENV) or DEFAULT_AUTHOR
    return ("% Generated by landmarklib.findings: set LANDMARKLIB_REPORT_TITLE and "
            "LANDMARKLIB_REPORT_AUTHOR to change. Do not edit.\n"
            f"\\renewcommand{{\\ReportTitle}}{{{title}}}\n"
            f"\\renewcommand{{\\ReportAuthor}}{{{author}}}\n")


def write_findings(generated_dir, profile, models_dir=None, comparison_csv=None,
                   evidence_dir=None, title=None, author=None):
    """Write ``findings.tex`` and ``meta.tex`` into `generated_dir`; returns their paths.

    Args:
        generated_dir: the report's ``generated/`` folder.
        profile: the profile whose runs the report shows.
        models_dir, comparison_csv, evidence_dir: where the evidence is (see ``collect``).
        title, author: override the settings (see ``meta_tex``).
    """
    generated_dir = Path(generated_dir)
    evidence = collect(profile, models_dir, comparison_csv, evidence_dir)
    lines = [f"% Generated by landmarklib.findings for profile {profile}. Do not edit."]
    lines += [f"\\newcommand{{\\{name}}}{{{value}}}"
              for name, value in findings_macros(evidence).items()]
    written = []
    for name, text in ((FINDINGS_TEX, "\n".join(lines) + "\n"), (META_TEX, meta_tex(title, author))):
        path = generated_dir / name
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        written.append(path)
    return written
