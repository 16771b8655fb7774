"""The command line's checks of its arguments and files, made before TensorFlow loads.

``cli.main`` calls ``check_arguments`` before it imports the module that does
a command's work, so that bad input fails fast and alone, with one line
(``LandmarkError``, FileNotFoundError, PermissionError ...). Every module
imported here imports only NumPy, pandas and OpenCV (``training.versions``, the
model versions, imports neither Keras nor TensorFlow); the strategies are read
from ``training/distribute.py``'s source text (``constant_names``) because that
module imports TensorFlow.
"""
import ast
import json
import os
import zipfile
from pathlib import Path

from .core import config
from .core.errors import LandmarkError, ManyErrors
from .core.files import check_outputs, writable_folder
from .data.kaggle_csv import read_kaggle_csv, read_lookup
from .data.recipes import RECIPES
from .data.registry import DATASETS
from .data.sources import find_root
from .demo import camera, stills
from .inference import video_io
from .training.versions import CANDIDATES, REGISTRY

MODEL_FILES = ("model.keras", "config.json")
# command -> options naming files it reads (video's --csv is an output, so not here)
INPUT_FILES = {"evaluate": ("--csv",), "predict": ("--csv", "--lookup"), "video": ("input",),
               "predict-image": ("images",), "export": ("--csv",)}
# command -> options naming files it writes (predict-image's --out is a folder)
OUTPUT_FILES = {"convert": ("--out",), "evaluate": ("--json",),
                "predict": ("--out", "--submission"), "video": ("--out", "--csv"),
                "export": ("--tflite", "--onnx")}
# Kaggle-format CSV inputs: their header and first rows are checked before TensorFlow.
CSV_INPUTS = {"evaluate": "--csv", "predict": "--csv", "export": "--csv"}
CHECK_ROWS = 5
EXPORT_SUFFIXES = {"--tflite": ".tflite", "--onnx": ".onnx"}
# The splits `convert` can write: a source's own, and a registered dataset's.
SOURCE_SPLITS = ("train", "test", "all")
DATASET_SPLITS = ("train", "val", "test", "test_mtfl")
PACKAGE = Path(__file__).resolve().parent


def constant_names(module_file, name):
    """The keys of the dict (or items of the tuple) assigned to `name` in a module's
    source, read without importing it (training/ imports TensorFlow).

    Args:
        module_file: path of the module below landmarklib/, e.g. "training/models.py".
        name: the module-level constant, e.g. "REGISTRY".
    """
    tree = ast.parse((PACKAGE / module_file).read_text())
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == name):
            items = node.value.keys if isinstance(node.value, ast.Dict) else node.value.elts
            return [item.value for item in items if isinstance(item, ast.Constant)]
    raise RuntimeError(f"landmarklib/{module_file} has no constant {name}")


def check_model_folder(path, files_only=False):
    """A LandmarkError/FileNotFoundError unless `path` holds a trained run (no TF needed).

    Cheap checks of what loading would trip over later: both files present, a
    run still training (checkpoint/ but no model.keras yet), a model.keras
    that is empty or not a zip archive (what a .keras file is), a config.json
    that is not a JSON object.

    Args:
        path: the --model argument.
        files_only: check only that the folder and its files are there.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such model folder (train one with "
                                f"`python -m landmarklib train --version v4`)")
    if not (path / "model.keras").exists() and (path / "checkpoint").is_dir():
        raise LandmarkError(f"{path}: training in progress or interrupted (checkpoint/ but no "
                            f"model.keras yet); wait for it to finish, or rerun the same "
                            f"`python -m landmarklib train` command to resume it")
    for name in MODEL_FILES:
        if not (path / name).exists():
            raise FileNotFoundError(f"{path}: not a model folder, {name} is missing")
    if files_only:
        return
    model = path / "model.keras"
    if model.stat().st_size == 0:
        raise LandmarkError(f"{model}: the file is empty (0 bytes), a copy or save cut "
                            f"short; copy the run folder again or retrain")
    if not zipfile.is_zipfile(model):
        raise LandmarkError(f"{model}: not a Keras model file (a .keras file is a zip "
                            f"archive), damaged or truncated; copy the run folder again or "
                            f"retrain")
    check_config_json(path / "config.json")


def check_config_json(path):
    """A LandmarkError, naming line and column, unless `path` holds a JSON object.

    Args:
        path: a run's config.json.
    """
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8", errors="replace"))
    except json.JSONDecodeError as err:
        raise LandmarkError(f"{path}, line {err.lineno}, column {err.colno}: not valid JSON "
                            f"({err.msg}); copy the run folder again or retrain") from None
    if not isinstance(value, dict):
        raise LandmarkError(f"{path}: expected a JSON object {{...}}, got "
                            f"{type(value).__name__}")


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


def _given(args, option):
    """[paths] the user gave for `option` ("--csv", "images", ...), without Nones."""
    value = getattr(args, option.lstrip("-").replace("-", "_"), None)
    return [v for v in (value if isinstance(value, list) else [value]) if v is not None]


def inputs_of(args):
    """(option, path) of every input file of the command (for ``check_outputs``)."""
    pairs = [(option, path) for option in INPUT_FILES.get(args.command, ())
             for path in _given(args, option)]
    if args.command == "convert" and args.source == "csv" and args.root:
        pairs.append(("--root", args.root))
    return pairs


def outputs_of(args):
    """(option, path) of every output file of the command."""
    return [(option, path) for option in OUTPUT_FILES.get(args.command, ())
            for path in _given(args, option)]


def check_convert(args):
    """--source/--dataset and --split agree, and the source's files are there (no TF)."""
    if args.dataset is not None:
        if args.dataset not in DATASETS:
            raise LandmarkError(f"--dataset {args.dataset}: unknown dataset; choose one of "
                                f"{', '.join(DATASETS)}")
        if args.split not in DATASET_SPLITS:
            got = "none" if args.split is None else args.split
            raise LandmarkError(f"--split {got}: --dataset {args.dataset} needs one of its "
                                f"splits: {', '.join(DATASET_SPLITS)}")
        if args.root is not None:
            raise LandmarkError("--root: goes with --source; --dataset finds its sources itself "
                                "(LANDMARKLIB_YOUTUBE_FACES, LANDMARKLIB_MTFL, ...)")
        return
    split = args.split or "all"
    if args.source == "csv":
        if args.split not in (None, "all"):
            raise LandmarkError(f"--split {args.split}: a CSV file has no splits (every row is "
                                f"written); leave --split out, or use --dataset faces15 "
                                f"--split {args.split} for the dataset's own split")
        if args.root is None:
            raise LandmarkError("the csv source needs --root pointing at a Kaggle-format CSV file")
        check_input_file(args.root, "--root")
        check_csv_start(args.root)
    elif split not in SOURCE_SPLITS:
        raise LandmarkError(f"--split {split}: --source {args.source} has the splits "
                            f"{', '.join(SOURCE_SPLITS)} (val is a split of --dataset faces15)")
    args.split = split


def check_csv_start(path):
    """The header and first CHECK_ROWS rows of a Kaggle-format CSV parse (a cheap check)."""
    read_kaggle_csv(path, max_rows=CHECK_ROWS)


def check_train(args, profile):
    """Version, recipe, strategy, --set values and the dataset's files (no TF)."""
    versions = list(REGISTRY) + list(CANDIDATES)
    if args.version not in versions:
        raise LandmarkError(f"--version {args.version}: unknown model version; choose one of "
                            f"{', '.join(versions)}")
    if args.recipe is not None and args.recipe not in RECIPES:
        raise LandmarkError(f"--recipe {args.recipe}: unknown augmentation recipe; choose one "
                            f"of {', '.join(sorted(RECIPES))}")
    strategies = constant_names("training/distribute.py", "STRATEGIES")
    if args.strategy not in strategies:
        raise LandmarkError(f"--strategy {args.strategy}: unknown strategy; choose one of "
                            f"{', '.join(strategies)}")
    args.overrides = config.parse_overrides(args.set)
    # "auto" is cpu or full (a GPU decides, which needs TensorFlow): check both now
    if profile not in (None, "auto"):
        config.get_profile(profile, **args.overrides)  # the values' ranges
    else:
        for name in ("cpu", "full"):
            try:
                config.get_profile(name, **args.overrides)
            except LandmarkError as err:  # not "profile 'cpu'": the user named none
                raise LandmarkError(str(err).replace(f"profile {name!r}, ", "--set: ")) from None
    dataset = args.overrides.get("dataset", config.DEFAULT_DATASET)
    if dataset not in DATASETS:
        raise LandmarkError(f"--set dataset={dataset}: unknown dataset; choose one of "
                            f"{', '.join(DATASETS)}")
    if dataset == "kaggle":
        check_kaggle_reachable()


def _has_kaggle_credentials():
    """True if the Kaggle client would find an API token (file or environment)."""
    folders = [Path.home() / ".kaggle", Path(os.environ.get("KAGGLE_CONFIG_DIR", "/nonexistent"))]
    return (any((f / "kaggle.json").exists() for f in folders)
            or bool(os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY")))


def check_kaggle_reachable():
    """A PermissionError saying what works for `train` unless Kaggle's training.csv
    is on disk or can be downloaded (`train` has no --root: the folder is given
    by LANDMARKLIB_KAGGLE, or lies in data/raw/kaggle/)."""
    try:
        find_root("kaggle", download=False)
        return
    except FileNotFoundError:
        pass
    if not _has_kaggle_credentials():
        raise PermissionError(
            f"--set dataset=kaggle: no copy of Kaggle's training.csv and no Kaggle credentials; "
            f"set LANDMARKLIB_KAGGLE=DIR (a folder holding training.csv), or put your API token "
            f"in ~/.kaggle/kaggle.json and accept the rules at "
            f"https://www.kaggle.com/c/facial-keypoints-detection/rules")


def check_images(args):
    """Decode every image of predict-image now (before TensorFlow).

    Sets ``args.decoded`` {path: BGR image} for the readable ones and
    ``args.unreadable`` [one line per image that is not]; raises ManyErrors
    if none is readable. The folder --out must not be a file, and no output
    image may be an input or be shared by two inputs.
    """
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise LandmarkError(f"--out {out}: is a file; expected a folder (it gets "
                            f"<image>_landmarks.png per image and landmarks.csv)")
    targets = {}
    for path in args.images:
        target = out / stills.output_name(path)
        for other in args.images:
            if Path(other).exists() and Path(target).exists() and os.path.samefile(other, target):
                raise LandmarkError(f"--out {out}: would overwrite the input image {other} "
                                    f"with {target}; choose another folder")
        if target in targets and not os.path.samefile(targets[target], path):
            raise LandmarkError(f"{path} and {targets[target]} would both be drawn to "
                                f"{target}; rename one or run them separately")
        targets[target] = path
    writable_folder(out / "landmarks.csv", "--out")
    args.decoded, args.unreadable = stills.read_images(args.images)
    if not args.decoded:
        raise ManyErrors(args.unreadable)


def check_arguments(args):
    """Check what can be checked without TensorFlow, cheapest first, so that bad
    input fails fast and alone: option values, output files (writable, none an
    input), input files (present, and their contents: CSV header and first
    rows, videos, images), profiles and ``--set`` values, then the model folder.
    """
    if args.command == "export" and not (args.tflite or args.onnx):
        raise LandmarkError("give --tflite OUT.tflite and/or --onnx OUT.onnx")
    if args.command == "predict":
        if not args.out and not args.submission:
            raise LandmarkError("give --out predictions.csv and/or --submission submission.csv")
        if args.submission and not args.lookup:
            raise LandmarkError("--submission needs --lookup IdLookupTable.csv")
    if args.command == "export":
        for option, suffix in EXPORT_SUFFIXES.items():
            for path in _given(args, option):
                if Path(path).suffix != suffix:
                    raise LandmarkError(f"{option} {path}: expected a file name ending in {suffix}")
    if args.command == "video":
        video_io.check_output(args.out)
    if args.command == "webcam":
        try:
            camera.check_display()  # say so before loading a model
        except camera.NoDisplayError as err:
            raise LandmarkError(str(err)) from None
    if args.command == "convert":
        check_convert(args)
    if getattr(args, "model", None) is not None:
        check_model_folder(args.model, files_only=True)
    for option in INPUT_FILES.get(args.command, ()):
        for path in _given(args, option):
            check_input_file(path, option)
    check_outputs(outputs_of(args), inputs_of(args))
    if args.command in CSV_INPUTS:
        for path in _given(args, CSV_INPUTS[args.command]):
            check_csv_start(path)
    if args.command == "predict" and args.lookup:
        read_lookup(args.lookup)
    if args.command == "video":
        video_io.open_video(args.input)[0].release()
    if args.command == "predict-image":
        check_images(args)
    profile = getattr(args, "profile", None)
    if hasattr(config, "check_profile"):
        config.check_profile(profile, "--profile")
    elif profile not in (None, "auto") and profile not in config.PROFILES:
        raise LandmarkError(f"--profile {profile}: unknown profile; choose auto or one of "
                            f"{sorted(config.PROFILES)}")
    if args.command == "train":
        check_train(args, profile)
    if getattr(args, "model", None) is not None:
        check_model_folder(args.model)

