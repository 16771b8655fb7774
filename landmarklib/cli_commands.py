"""How each command's parsed arguments reach the function that does its work.

``cli.COMMANDS`` names, for every command, that function ("module:function",
imported only once the arguments passed ``cli_checks``: most of those
modules import TensorFlow) and one of the functions here, which is called
with it and the parsed arguments. The commands whose function takes the
arguments as they are use ``pass_args``; the others unpack them here.
"""
import sys
import warnings

from .cli_checks import inputs_of
from .core.errors import LandmarkError
from .core.files import OutputSet
from .data.kaggle_csv import write_kaggle_csv
from .data.registry import dataset_split
from .data.sources import load_source


def pass_args(work, args):
    """Call `work` with the parsed arguments as they are (``video_cli(args)`` ...).

    Args:
        work: the command's function.
        args: the parsed and checked command line.
    """
    work(args)


def convert(args):
    """``convert``: a source, or a registered dataset's split, written as a Kaggle-format CSV.

    Args:
        args: the parsed and checked command line (``cli_checks.check_convert``
            has filled in the split).
    """
    if args.dataset is not None:
        faces = dataset_split(args.dataset, args.split, progress=not args.quiet)
        what = f"the {args.split} split of {args.dataset}"
    else:
        faces = load_source(args.source, args.root, args.split, progress=not args.quiet)
        what = f"{args.source}" + (f" ({args.split})" if args.split != "all" else "")
    if len(faces) == 0:
        raise LandmarkError(f"{what}: no faces to write")
    with OutputSet(inputs_of(args)) as outputs:
        write_kaggle_csv(faces, outputs.add(args.out, "--out"))
    print(f"wrote {len(faces)} faces to {args.out}")


def train(work, args):
    """``train``: `work` is ``training.train.train``; prints the run folder.

    Keras' UserWarnings (e.g. "shuffle=True ... ignored" for a tf.data input)
    are hidden unless ``--verbose``.
    """
    with warnings.catch_warnings():
        if not args.verbose:
            warnings.filterwarnings("ignore", category=UserWarning, module=r"keras(\.|$)")
        run = work(args.version, args.profile, retrain=args.retrain, strategy=args.strategy,
                   recipe=args.recipe, **args.overrides)
    print(f"run folder: {run.dir}")


def evaluate(work, args):
    """``evaluate``: `work` is ``evaluation.evaluate.evaluate_cli``."""
    work(args.model, args.csv, json_path=args.json, flip=args.flip)


def predict(work, args):
    """``predict``: `work` is ``inference.predict.predict_cli``."""
    work(args.model, args.csv, out=args.out, submission=args.submission, lookup=args.lookup,
         flip=args.flip)


def report(work, args):
    """``report``: `work` is ``reporting.report.make_report``; its exit code ends the process."""
    sys.exit(work(profile=args.profile, only=args.only))
