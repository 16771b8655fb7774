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

Each command's work lives in the module named after it; this file only parses.
"""
import argparse
import sys


def _convert(args):
    from .data import load_source, write_kaggle_csv

    faces = load_source(args.source, args.root, args.split, progress=not args.quiet)
    write_kaggle_csv(faces, args.out)
    print(f"wrote {len(faces)} faces to {args.out}")


def _train(args):
    from .training import train

    overrides = dict(kv.split("=", 1) for kv in args.set or [])
    run = train.train(args.version, args.profile, retrain=args.retrain,
                      strategy=args.strategy, recipe=args.recipe,
                      **train.parse_overrides(overrides))
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
    from .demo import video

    video.webcam_cli(args)


def _predict_image(args):
    from .demo import video

    video.predict_image_cli(args)


def _export(args):
    from .inference import export

    export.export_cli(args)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m landmarklib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    p.set_defaults(func=_predict_image)

    p = sub.add_parser("export", help="export a trained model to TFLite and/or ONNX")
    p.add_argument("--model", required=True, help="run folder, e.g. models/v4-cpu")
    p.add_argument("--tflite", help="output .tflite file")
    p.add_argument("--onnx", help="output .onnx file")
    p.set_defaults(func=_export)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError, PermissionError, ConnectionError, KeyError) as err:
        # Clear one-line errors for bad input; tracebacks are for bugs.
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
