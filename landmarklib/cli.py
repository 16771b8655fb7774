"""Command line: ``python -m landmarklib COMMAND --help``.

    convert       a source (youtube-faces, mtfl, kaggle, csv) -> Kaggle-format CSV
    train         train a model version with a profile (cached by config + data)
    evaluate      score a trained model on a Kaggle-format CSV
    predict       predictions CSV, or a Kaggle submission
    report        run the notebooks with papermill and build report/main.pdf
    video         landmarks on a video file -> annotated video + measurements CSV
    webcam        live landmarks from a local camera
    predict-image landmarks drawn on still images
    export        a trained model -> TFLite

Each command's work lives in the module named after it; this file only parses
and checks the arguments and files it is given before TensorFlow is imported.

Errors: bad input (``LandmarkError``, a missing file, a refused permission or
download) prints one line and exits with 2; anything else is a bug and keeps
its traceback. TensorFlow's own start-up logging is silenced unless ``--verbose``.
"""
import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

from .core.errors import LandmarkError

USAGE_ERROR = 2
# Exceptions that mean "the input is wrong", shown as one line without a traceback.
USER_ERRORS = (LandmarkError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
               PermissionError, ConnectionError)
# TF_CPP_MIN_LOG_LEVEL without --verbose: 2 hides TensorFlow's C++ INFO and WARNING
# lines (oneDNN notice, CPU-feature notice, absl's pre-init warning).
QUIET_TF_LOG_LEVEL = "2"
MODEL_FILES = ("model.keras", "config.json")
NO_TENSORFLOW = ("convert",)  # commands that never import TensorFlow
# What TensorFlow's C++ code writes to stderr while it is imported.
TF_START_UP_LINE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\)"
                              r"|[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\]"
                              r"|To enable the following instructions: )")
# command -> options naming files it reads (video's --csv is an output, so not here)
INPUT_FILES = {"evaluate": ("--csv",), "predict": ("--csv", "--lookup"), "video": ("input",),
               "predict-image": ("images",), "export": ("--csv",)}


def check_model_folder(path):
    """A LandmarkError/FileNotFoundError unless `path` holds a trained run (no TF needed).

    Args:
        path: the --model argument.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such model folder (train one with "
                                f"`python -m landmarklib train --version v4`)")
    for name in MODEL_FILES:
        if not (path / name).exists():
            raise FileNotFoundError(f"{path}: not a model folder, {name} is missing")


def check_input_file(path, option):
    """FileNotFoundError unless `path` (given as `option`) is an existing file.

    Args:
        path: the file named on the command line (None: not given, nothing checked).
        option: how the user gave it, e.g. "--csv" (a positional's name is not shown).
    """
    if path is not None and not Path(path).is_file():
        what = "a folder, not a file" if Path(path).is_dir() else "no such file"
        named = f"{option} " if option.startswith("--") else ""
        raise FileNotFoundError(f"{named}{path}: {what}")


def check_arguments(args):
    """Check what can be checked without TensorFlow: model folders, input files,
    profile names and ``--set`` values, so that bad input fails fast and alone."""
    from .core import config

    if args.command == "export" and not (args.tflite or args.onnx):
        raise LandmarkError("give --tflite OUT.tflite and/or --onnx OUT.onnx")
    if getattr(args, "model", None) is not None:
        check_model_folder(args.model)
    for option in INPUT_FILES.get(args.command, ()):
        given = getattr(args, option.lstrip("-").replace("-", "_"), None)
        for path in given if isinstance(given, list) else [given]:
            check_input_file(path, option)
    profile = getattr(args, "profile", None)
    if profile not in (None, "auto") and profile not in config.PROFILES:
        raise LandmarkError(f"--profile {profile}: unknown profile; choose auto or one of "
                            f"{sorted(config.PROFILES)}")
    if args.command == "train":
        args.overrides = config.parse_overrides(args.set)
        if profile not in (None, "auto"):
            config.get_profile(profile, **args.overrides)  # the values' ranges


def quiet_tensorflow(verbose=False):
    """Import TensorFlow without its C++ start-up lines unless `verbose`.

    TF_CPP_MIN_LOG_LEVEL (set here unless the user set it) hides the lines
    TensorFlow logs once running (CPU-feature notice, warnings). TensorFlow
    2.20/2.21 print the oneDNN notice and absl's pre-initialisation warning
    while being imported, whatever that level says, so the import runs with
    the process's stderr captured, and what is not such a line is passed on.

    Args:
        verbose: the --verbose flag (then nothing is hidden).
    """
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_TF_LOG_LEVEL)
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not TF_START_UP_LINE.match(line):
                    sys.stderr.write(line)


def _convert(args):
    from .data import load_source, write_kaggle_csv

    faces = load_source(args.source, args.root, args.split, progress=not args.quiet)
    write_kaggle_csv(faces, args.out)
    print(f"wrote {len(faces)} faces to {args.out}")


def _train(args):
    from .training import train

    run = train.train(args.version, args.profile, retrain=args.retrain,
                      strategy=args.strategy, recipe=args.recipe, **args.overrides)
    print(f"run folder: {run.dir}")


def _evaluate(args):
    from .evaluation import evaluate

    evaluate.evaluate_cli(args.model, args.csv, json_path=args.json, flip=args.flip)


def _predict(args):
    from .inference import predict

    predict.predict_cli(args.model, args.csv, out=args.out, submission=args.submission,
                        lookup=args.lookup, flip=args.flip)


def _report(args):
    from .reporting import report

    sys.exit(report.make_report(profile=args.profile, only=args.only))


def _video(args):
    from .demo import video

    video.video_cli(args)


def _webcam(args):
    from .demo import camera

    camera.webcam_cli(args)


def _predict_image(args):
    from .demo import stills

    stills.predict_image_cli(args)


def _export(args):
    from .inference import export

    export.export_cli(args)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m landmarklib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own log lines and progress")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_parser = sub.add_parser

    def with_common(name, **kwargs):
        return add_parser(name, parents=[common], **kwargs)

    sub.add_parser = with_common  # every subcommand gets --verbose

    p = sub.add_parser("convert", help="convert a face source to a Kaggle-format CSV")
    p.add_argument("--source", required=True, choices=["youtube-faces", "mtfl", "kaggle", "csv"])
    p.add_argument("--root", help="folder of the source's files (found automatically if omitted); "
                                  "for --source csv, the CSV file")
    p.add_argument("--split", default="all", choices=["train", "test", "all"],
                   help="the source's own split (default: all)")
    p.add_argument("--out", required=True, help="output CSV (Kaggle training.csv layout)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_convert)

    p = sub.add_parser("train", help="train a model version (cached: reruns load the saved model)")
    p.add_argument("--version", required=True,
                   help="v1, v2, v3, v4, heatmap or transfer (see landmarklib.models)")
    p.add_argument("--profile", default="auto", help="smoke, cpu, full or auto (default)")
    p.add_argument("--retrain", action="store_true", help="train even if a cached run matches")
    p.add_argument("--strategy", default="auto",
                   help="auto, default, mirrored, tpu or multi-worker (tf.distribute)")
    p.add_argument("--recipe", help="augmentation recipe instead of the version's own "
                                    "(an ablation; see landmarklib.augment.RECIPES)")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE",
                   help="override a profile field, e.g. --set epochs=5 (repeatable)")
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="score a trained model on a Kaggle-format CSV")
    p.add_argument("--model", required=True, help="run folder, e.g. models/v4-cpu")
    p.add_argument("--csv", required=True, help="Kaggle-format CSV with keypoints (missing allowed)")
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.add_argument("--flip", action="store_true", help="test-time flip augmentation")
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("predict", help="predict keypoints for a Kaggle-format CSV")
    p.add_argument("--model", required=True, help="run folder, e.g. models/v4-cpu")
    p.add_argument("--csv", required=True, help="Kaggle test.csv layout (ImageId, Image)")
    p.add_argument("--out", help="predictions CSV (ImageId + 30 keypoint columns)")
    p.add_argument("--submission", help="write a Kaggle submission (RowId,Location)")
    p.add_argument("--lookup", help="IdLookupTable.csv, needed with --submission")
    p.add_argument("--flip", action="store_true", help="test-time flip augmentation")
    p.set_defaults(func=_predict)

    p = sub.add_parser("report", help="run the notebooks and build report/main.pdf")
    p.add_argument("--profile", default="auto", help="smoke, cpu, full or auto (default)")
    p.add_argument("--only", action="append", help="run only notebooks whose name contains this")
    p.set_defaults(func=_report)

    p = sub.add_parser("video", help="landmarks on a video file")
    p.add_argument("input", help="input video file")
    p.add_argument("--model", required=True, help="run folder, e.g. models/v4-cpu")
    p.add_argument("--out", required=True, help="annotated output video (.mp4, mp4v codec)")
    p.add_argument("--csv", help="per-frame landmarks and measurements CSV")
    p.add_argument("--smooth", default="one-euro", choices=["one-euro", "none"])
    p.add_argument("--max-faces", type=int, default=1)
    p.add_argument("--names", action="store_true", help="draw keypoint names")
    p.set_defaults(func=_video)

    p = sub.add_parser("webcam", help="live landmarks from a local camera (q quits)")
    p.add_argument("--model", required=True, help="run folder, e.g. models/v4-cpu")
    p.add_argument("--camera", type=int, default=0, help="camera index (default 0)")
    p.add_argument("--smooth", default="one-euro", choices=["one-euro", "none"])
    p.add_argument("--max-faces", type=int, default=1)
    p.add_argument("--names", action="store_true", help="draw keypoint names")
    p.set_defaults(func=_webcam)

    p = sub.add_parser("predict-image", help="draw landmarks on still images")
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--model", required=True, help="run folder, e.g. models/v4-cpu")
    p.add_argument("--out", required=True,
                   help="output folder: <image>_landmarks.png per image + landmarks.csv")
    p.add_argument("--max-faces", type=int, default=5)
    p.add_argument("--passes", type=int, default=1, choices=(1, 2, 3),
                   help="predictions per face: 1 crops from the face detector's points; "
                        "2-3 re-crop from the predicted keypoints (default 1)")
    p.set_defaults(func=_predict_image)

    p = sub.add_parser("export", help="export a trained model to TFLite and/or ONNX")
    p.add_argument("--model", required=True, help="run folder, e.g. models/v4-cpu")
    p.add_argument("--tflite", help="output .tflite file")
    p.add_argument("--onnx", help="output .onnx file")
    p.add_argument("--csv", help="Kaggle-format CSV whose first faces check the export "
                                 "(default: synthetic images)")
    p.set_defaults(func=_export)
    return parser


def main(argv=None):
    """Parse `argv`, check it, run the command; one line and exit 2 on bad input."""
    args = build_parser().parse_args(argv)
    try:
        check_arguments(args)
        if args.command not in NO_TENSORFLOW:
            quiet_tensorflow(args.verbose)
        args.func(args)
    except USER_ERRORS as err:
        # Clear one-line errors for bad input; tracebacks are for bugs.
        print(f"error: {str(err).splitlines()[0] if str(err) else type(err).__name__}",
              file=sys.stderr)
        sys.exit(USAGE_ERROR)


if __name__ == "__main__":
    main()
