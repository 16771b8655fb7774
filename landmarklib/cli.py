"""Command line: ``python -m landmarklib COMMAND --help``.

    convert       a source (youtube-faces, mtfl, kaggle, csv), or a dataset's split
                  (faces15 train/val/test) -> Kaggle-format CSV
    train         train a model version with a profile (cached by config + data)
    evaluate      score a trained model on a Kaggle-format CSV
    predict       predictions CSV, or a Kaggle submission
    report        run the notebooks with papermill and build report/main.pdf
    video         landmarks on a video file -> annotated video + measurements CSV
    webcam        live landmarks from a local camera
    predict-image landmarks drawn on still images
    export        a trained model -> TFLite

The data flow of a command: ``build_parser`` parses it, ``cli_checks`` checks
its arguments and files without TensorFlow, then ``run_command`` imports the
module doing its work (``COMMANDS``; most import TensorFlow) and runs it,
through the small adapters of ``cli_commands``.

Errors: bad input (``LandmarkError``, a missing file, a refused permission or
download) prints one line and exits with 2, before any output is touched; an
output may not be one of the command's inputs, and all outputs of a command
are written under temporary names and renamed together when it succeeds
(``core.files.OutputSet``). Anything else is a bug and keeps its traceback.
TensorFlow's, TFLite's and FFmpeg's own logging is silenced unless ``--verbose``.
"""
import argparse
import importlib
import os
import re
import sys

from . import cli_commands as commands
from .cli_checks import DATASET_SPLITS, MODEL_FILES, SOURCE_SPLITS, check_arguments
from .core.errors import LandmarkError, ManyErrors
from .core.streams import without_stderr_lines
from .training.versions import CANDIDATES, REGISTRY

USAGE_ERROR = 2
# Exceptions that mean "the input is wrong", shown as one line without a traceback.
USER_ERRORS = (LandmarkError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
               PermissionError, ConnectionError)
# TF_CPP_MIN_LOG_LEVEL without --verbose: 2 hides TensorFlow's C++ INFO and WARNING
# lines (oneDNN notice, CPU-feature notice, absl's pre-init warning).
QUIET_TF_LOG_LEVEL = "2"
# Without --verbose: FFmpeg's own messages (OpenCV's video reader; a damaged video
# prints thousands) are off (-8 is FFmpeg's AV_LOG_QUIET), OpenCV's only for errors.
QUIET_OPENCV = {"OPENCV_FFMPEG_LOGLEVEL": "-8", "OPENCV_LOG_LEVEL": "ERROR"}
NO_TENSORFLOW = ("convert",)  # commands that never import TensorFlow
# What TensorFlow's C++ code writes to stderr while it is imported.
TF_START_UP_LINE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\)"
                              r"|[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\]"
                              r"|To enable the following instructions: )")
# command -> (the function doing its work, "module:function" below landmarklib/;
# the cli_commands function that passes it the parsed arguments). The module is
# imported by run_command, after the checks: most of these import TensorFlow.
COMMANDS = {
    "convert": ("cli_commands:convert", commands.pass_args),
    "train": ("training.train:train", commands.train),
    "evaluate": ("evaluation.evaluate:evaluate_cli", commands.evaluate),
    "predict": ("inference.predict:predict_cli", commands.predict),
    "report": ("reporting.report:make_report", commands.report),
    "video": ("demo.video:video_cli", commands.pass_args),
    "webcam": ("demo.camera:webcam_cli", commands.pass_args),
    "predict-image": ("demo.stills:predict_image_cli", commands.pass_args),
    "export": ("inference.export:export_cli", commands.pass_args),
}
MODEL_HELP = f"run folder holding {' and '.join(MODEL_FILES)}, e.g. models/v4-cpu"


def positive_int(text):
    """argparse type: an integer >= 1 (``--max-faces 0`` is refused while parsing)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value



def quiet_opencv(verbose=False):
    """Keep FFmpeg and OpenCV quiet (unless `verbose`): set before cv2 opens a video.

    Args:
        verbose: the --verbose flag (then nothing is hidden).
    """
    if not verbose:
        for name, value in QUIET_OPENCV.items():
            os.environ.setdefault(name, value)


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
    with without_stderr_lines(TF_START_UP_LINE):
        import tensorflow  # noqa: F401



def build_parser():
    """The argument parser of every command (parsing only: nothing is checked or run)."""
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

    p = sub.add_parser(
        "convert", help="convert a face source, or a dataset's split, to a Kaggle-format CSV",
        description="Write faces as a Kaggle-format CSV: all of a source (--source), or one "
                    "split of a registered dataset (--dataset faces15 --split test: the "
                    "faces the README's tables score).")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--source", choices=["youtube-faces", "mtfl", "kaggle", "csv"],
                      help="a source, with its own split (train, test or all)")
    what.add_argument("--dataset", help="a registered dataset (faces15, kaggle), split by "
                                        "identity into train, val, test, test_mtfl")
    p.add_argument("--root", help="folder of the source's files (found automatically if omitted); "
                                  "for --source csv, the CSV file")
    p.add_argument("--split", choices=sorted(set(SOURCE_SPLITS + DATASET_SPLITS)),
                   help="with --source: the source's own split, train, test or all (default; "
                        "a CSV has none); with --dataset (required): train, val, test or "
                        "test_mtfl, the splits training and the README use")
    p.add_argument("--out", required=True, help="output CSV (Kaggle training.csv layout)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("train", help="train a model version (cached: reruns load the saved model)")
    p.add_argument("--version", required=True,
                   help=", ".join(REGISTRY)
                   + (f", or a candidate: {', '.join(CANDIDATES)}" if CANDIDATES else "")
                   + " (see landmarklib.training.versions)")
    p.add_argument("--profile", default="auto", help="smoke, cpu, full or auto (default)")
    p.add_argument("--retrain", action="store_true", help="train even if a cached run matches")
    p.add_argument("--strategy", default="auto",
                   help="auto, default, mirrored, tpu or multi-worker (tf.distribute)")
    p.add_argument("--recipe", help="augmentation recipe instead of the version's own "
                                    "(an ablation; see landmarklib.augment.RECIPES)")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE",
                   help="override a profile field, e.g. --set epochs=5 (repeatable)")

    p = sub.add_parser("evaluate", help="score a trained model on a Kaggle-format CSV")
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--csv", required=True, help="Kaggle-format CSV with keypoints (missing allowed)")
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.add_argument("--flip", action="store_true", help="test-time flip augmentation")

    p = sub.add_parser("predict", help="predict keypoints for a Kaggle-format CSV")
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--csv", required=True, help="Kaggle test.csv layout (ImageId, Image)")
    p.add_argument("--out", help="predictions CSV (ImageId + 30 keypoint columns)")
    p.add_argument("--submission", help="write a Kaggle submission (RowId,Location)")
    p.add_argument("--lookup", help="IdLookupTable.csv, needed with --submission")
    p.add_argument("--flip", action="store_true", help="test-time flip augmentation")

    p = sub.add_parser("report", help="run the notebooks and build report/main.pdf")
    p.add_argument("--profile", default="auto", help="smoke, cpu, full or auto (default)")
    p.add_argument("--only", action="append", help="run only notebooks whose name contains this")

    p = sub.add_parser("video", help="landmarks on a video file")
    p.add_argument("input", help="input video file")
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--out", required=True, help="annotated output video (.mp4, mp4v codec)")
    p.add_argument("--csv", help="per-frame landmarks and measurements CSV")
    p.add_argument("--smooth", default="one-euro", choices=["one-euro", "none"])
    p.add_argument("--max-faces", type=positive_int, default=1, help="faces followed (>= 1)")
    p.add_argument("--names", action="store_true", help="draw keypoint names")

    p = sub.add_parser("webcam", help="live landmarks from a local camera (q quits)")
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--camera", type=int, default=0, help="camera index (default 0)")
    p.add_argument("--smooth", default="one-euro", choices=["one-euro", "none"])
    p.add_argument("--max-faces", type=positive_int, default=1, help="faces followed (>= 1)")
    p.add_argument("--names", action="store_true", help="draw keypoint names")

    p = sub.add_parser(
        "predict-image", help="draw landmarks on still images",
        description="Landmarks drawn on each image: --out gets <image>_landmarks.png per "
                    "image and landmarks.csv (one row per face), written together at the "
                    "end. Rerun into the same folder, it replaces what its last run wrote "
                    "there (other files are kept). An image that cannot be read is named "
                    "on one error line and skipped: the others are still drawn and the "
                    "command then exits with 2.")
    p.add_argument("images", nargs="+", help="image files (JPEG or PNG)")
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--out", required=True,
                   help="output folder: <image>_landmarks.png per image + landmarks.csv")
    p.add_argument("--max-faces", type=positive_int, default=5, help="largest faces kept (>= 1)")
    p.add_argument("--passes", type=int, default=1, choices=(1, 2, 3),
                   help="predictions per face: 1 crops from the face detector's points; "
                        "2-3 re-crop from the predicted keypoints (default 1)")

    p = sub.add_parser("export", help="export a trained model to TFLite and/or ONNX")
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--tflite", help="output .tflite file")
    p.add_argument("--onnx", help="output .onnx file")
    p.add_argument("--csv", help="Kaggle-format CSV whose first faces check the export "
                                 "(default: synthetic images)")
    return parser


def run_command(args):
    """Import the function doing `args.command`'s work (``COMMANDS``) and run it.

    Args:
        args: the parsed command line, already checked by ``check_arguments``.
    """
    target, call = COMMANDS[args.command]
    module, function = target.split(":")
    work = getattr(importlib.import_module(f"{__package__}.{module}"), function)
    call(work, args)


def main(argv=None):
    """Parse `argv`, check it, run the command; one line and exit 2 on bad input."""
    args = build_parser().parse_args(argv)
    quiet_opencv(args.verbose)
    if not args.verbose:  # also read by inference.export (TFLite's INFO line)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_TF_LOG_LEVEL)
    try:
        check_arguments(args)
        if args.command not in NO_TENSORFLOW:
            quiet_tensorflow(args.verbose)
        run_command(args)
    except USER_ERRORS as err:
        # Clear one-line errors for bad input (one per bad input); tracebacks are for bugs.
        messages = err.messages if isinstance(err, ManyErrors) else [
            str(err).splitlines()[0] if str(err) else type(err).__name__]
        for message in messages:
            print(f"error: {message}", file=sys.stderr)
        sys.exit(USAGE_ERROR)


if __name__ == "__main__":
    main()
