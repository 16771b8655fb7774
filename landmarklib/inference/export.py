"""Export a trained model to TensorFlow Lite or ONNX, and check the export.

``python -m landmarklib export --model models/v4-cpu --tflite v4.tflite [--onnx v4.onnx]``
converts the Keras model (float32, no quantisation), then checks *parity*:
the exported and Keras outputs must agree within ``PARITY_TOLERANCE_PX`` on
``PARITY_IMAGES`` images: the first faces of ``--csv FILE`` (a Kaggle-format
CSV) when given, else smooth synthetic images (no dataset needed); it prints
the file size and the latency of one face.

TFLite uses TensorFlow's own converter and interpreter. ONNX uses Keras'
``model.export(format="onnx")`` (tf2onnx underneath) and onnxruntime.
The TFLite interpreter is also what the video pipeline runs: on one face it
is faster than calling Keras (see benchmarks/video_speed.py).
"""
import contextlib
import hashlib
import io
import os
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ..core import config
from ..core import keypoints as kp
from ..core.errors import LandmarkError
from ..core.files import OutputSet, atomic_path
from ..core.streams import without_stderr_lines
from ..data import load_splits
from ..data.kaggle_csv import read_kaggle_csv
from ..data.pipeline import check_images, to_model_input
from ..training.runs import load_run

PARITY_TOLERANCE_PX = 1e-3   # largest allowed |TFLite - Keras| on any coordinate
PARITY_IMAGES = 64           # images used for the check
SYNTHETIC_GRID = 12          # synthetic parity images: random 12x12 grids, upscaled
LATENCY_REPEATS = 100
CACHE = config.BUILD / "tflite"  # conversions of saved runs, keyed by model.keras
# TFLite's own C++ logger writes this INFO line when an interpreter first allocates
# its tensors (whatever TensorFlow's log level); hidden when TF_CPP_MIN_LOG_LEVEL
# asks for no INFO lines (the command line sets it unless --verbose).
TFLITE_INFO_LINE = re.compile(r"^INFO: Created TensorFlow Lite XNNPACK delegate")


def tflite_info_hidden():
    """True if TF_CPP_MIN_LOG_LEVEL (>= 1) says INFO lines are not wanted."""
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0").strip() not in ("", "0")


def check_landmark_model(model, where="model"):
    """ValueError unless `model` maps (B, 96, 96, 1) images to (B, 30) keypoints."""
    want_in = (None, kp.IMAGE_SIZE, kp.IMAGE_SIZE, 1)
    want_out = (None, 2 * kp.NUM_KEYPOINTS)
    got_in, got_out = tuple(model.input_shape), tuple(model.output_shape)
    if got_in != want_in or got_out != want_out:
        raise LandmarkError(f"{where}: not a landmark model: expected input {want_in} -> output "
                         f"{want_out}, got {got_in} -> {got_out}")


def to_tflite(model):
    """The model as a TFLite flatbuffer (bytes), float32 weights."""
    import tensorflow as tf

    check_landmark_model(model)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    with contextlib.redirect_stdout(io.StringIO()):  # the converter lists every variable
        return converter.convert()


def export_tflite(model, path):
    """Write the TFLite conversion of `model` to `path` (atomically)."""
    blob = to_tflite(model)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(blob)
    return Path(path)


def cached_tflite(run):
    """Path of the TFLite conversion of a saved run, converted once per model file."""
    digest = hashlib.sha256(Path(run.dir, "model.keras").read_bytes()).hexdigest()[:16]
    path = CACHE / f"{digest}.tflite"
    if not path.exists():
        export_tflite(run.model, path)
    return path


def export_onnx(model, path):
    """Write the ONNX conversion of `model` to `path` (atomically)."""
    check_landmark_model(model)
    model(np.zeros((1, kp.IMAGE_SIZE, kp.IMAGE_SIZE, 1), np.float32))  # Keras exports only
    # models that have been called once
    with atomic_path(path) as tmp, contextlib.redirect_stdout(io.StringIO()):
        with warnings.catch_warnings():  # tf2onnx's numpy deprecation notices
            warnings.simplefilter("ignore")
            model.export(str(tmp), format="onnx", verbose=False)
    return Path(path)


class ONNXPredictor:
    """Keypoints from an ONNX file with onnxruntime: uint8 (N, 96, 96) -> (N, 30) px."""

    def __init__(self, path, num_threads=None):
        import onnxruntime

        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such ONNX file")
        options = onnxruntime.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        self.session = onnxruntime.InferenceSession(str(path), options,
                                                    providers=["CPUExecutionProvider"])
        self._in = self.session.get_inputs()[0].name

    def __call__(self, images):
        x = to_model_input(np.asarray(check_images(images), dtype=np.uint8))
        return self.session.run(None, {self._in: x})[0]


class TFLitePredictor:
    """Keypoints from a TFLite model: uint8 crops (N, 96, 96) -> (N, 30) pixels.

    Args:
        model: a .tflite path or the flatbuffer bytes.
        num_threads: interpreter threads (None = TFLite's default).
    """

    def __init__(self, model, num_threads=None):
        import tensorflow as tf

        source = {"model_content": model} if isinstance(model, bytes) else {
            "model_path": str(model)}
        if "model_path" in source and not Path(model).is_file():
            raise FileNotFoundError(f"{model}: no such TFLite file")
        with warnings.catch_warnings():  # "use ai_edge_litert": the same interpreter
            warnings.simplefilter("ignore")
            try:
                self.interpreter = tf.lite.Interpreter(**source, num_threads=num_threads)
            except ValueError as err:
                raise LandmarkError(f"{model if 'model_path' in source else 'model'}: "
                                 f"not a TFLite model ({err})") from None
        self._in = self.interpreter.get_input_details()[0]["index"]
        self._out = self.interpreter.get_output_details()[0]["index"]
        self._batch = None

    def __call__(self, images):
        x = to_model_input(np.asarray(check_images(images), dtype=np.uint8))
        if len(x) == 0:
            return np.zeros((0, 2 * kp.NUM_KEYPOINTS), np.float32)
        if len(x) != self._batch:
            self.interpreter.resize_tensor_input(self._in, list(x.shape))
            quiet = without_stderr_lines(TFLITE_INFO_LINE) if (
                self._batch is None and tflite_info_hidden()) else contextlib.nullcontext()
            with quiet:  # the first allocation logs the XNNPACK line
                self.interpreter.allocate_tensors()
            self._batch = len(x)
        self.interpreter.set_tensor(self._in, x)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._out).copy()


def parity(model, predictor, images):
    """Largest |exported - Keras| coordinate difference (px) on `images` (N, 96, 96)."""
    keras_out = np.asarray(model(to_model_input(check_images(images)), training=False))
    return float(np.max(np.abs(predictor(images) - keras_out)))


def latency_ms(predictor, image, repeats=LATENCY_REPEATS):
    """Median milliseconds of one call on one image (96, 96), after a warm-up."""
    batch = np.asarray(image)[None]
    predictor(batch)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predictor(batch)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def real_crops(count=PARITY_IMAGES):
    """The first `count` test-split crops of the default dataset (uint8)."""
    return load_splits("faces15")["test"].images[:count]


def synthetic_images(count=PARITY_IMAGES, seed=0):
    """`count` smooth random 96x96 uint8 images: inputs for a parity check that
    need no dataset (the outputs differ between them, so the check is not trivial).

    Args:
        count: how many images.
        seed: the random generator's seed.
    """
    import cv2

    rng = np.random.default_rng(seed)
    grids = rng.uniform(0, 255, (count, SYNTHETIC_GRID, SYNTHETIC_GRID)).astype(np.float32)
    size = (kp.IMAGE_SIZE, kp.IMAGE_SIZE)
    return np.stack([np.clip(cv2.resize(g, size, interpolation=cv2.INTER_CUBIC), 0, 255)
                     for g in grids]).round().astype(np.uint8)


def parity_images(csv_path=None, count=PARITY_IMAGES):
    """(images, what they are) for the parity check: the first `count` faces of
    a Kaggle-format CSV, or synthetic images when `csv_path` is None.

    Args:
        csv_path: a Kaggle-format CSV (keypoints optional), or None.
        count: how many images at most.
    """
    if csv_path is None:
        return synthetic_images(count), "synthetic images"
    faces = read_kaggle_csv(csv_path)
    if len(faces) == 0:
        raise LandmarkError(f"{csv_path}: no faces to check the export on")
    return faces.images[:count], f"faces of {csv_path}"


_FORMATS = {  # CLI option -> (file suffix, writer, predictor)
    "tflite": (".tflite", export_tflite, TFLitePredictor),
    "onnx": (".onnx", export_onnx, ONNXPredictor),
}


def export_checked(model, path, fmt, crops, staging=None):
    """Export `model` as `fmt`, check parity on `crops`; returns a summary dict.

    Args:
        model: the Keras model; path: the file the user named; fmt: "tflite" or "onnx".
        crops: (N, 96, 96) uint8 images for the parity check.
        staging: where to write instead of `path` (a temporary file of an
            ``OutputSet``, renamed by it when the whole command succeeds).

    A file that fails the parity check is removed and a ValueError raised.
    """
    suffix, write, predictor_class = _FORMATS[fmt]
    path = Path(path)
    if path.suffix != suffix:
        raise LandmarkError(f"{path}: a {fmt} export should end in {suffix}")
    written = Path(staging or path)
    write(model, written)
    predictor = predictor_class(written)
    diff = parity(model, predictor, crops)
    if diff > PARITY_TOLERANCE_PX:
        written.unlink()
        raise ValueError(f"{path}: {fmt} output differs from Keras by {diff:.2g} px "
                         f"(tolerance {PARITY_TOLERANCE_PX}); export removed")
    return {"format": fmt, "path": str(path), "megabytes": written.stat().st_size / 1e6,
            "max_diff_px": diff, "crops": len(crops),
            "latency_ms": latency_ms(predictor, crops[0])}


def export_cli(args):
    """``python -m landmarklib export --model RUN [--tflite OUT] [--onnx OUT]``."""
    targets = {fmt: getattr(args, fmt) for fmt in _FORMATS if getattr(args, fmt, None)}
    if not targets:
        raise LandmarkError("give --tflite OUT.tflite and/or --onnx OUT.onnx")
    crops, what = parity_images(getattr(args, "csv", None))
    run = load_run(args.model)
    check_landmark_model(run.model, where=str(run.dir))
    inputs = [("--csv", getattr(args, "csv", None))]
    lines = []
    with OutputSet(inputs) as outputs:  # both files, or neither
        for fmt, path in targets.items():
            s = export_checked(run.model, path, fmt, crops, outputs.add(path, f"--{fmt}"))
            lines.append(f"wrote {path}: {s['megabytes']:.1f} MB; parity on {s['crops']} "
                         f"{what}: max |{fmt} - Keras| = {s['max_diff_px']:.1e} px (tolerance "
                         f"{PARITY_TOLERANCE_PX}); latency {s['latency_ms']:.2f} ms per face "
                         f"(batch 1)")
    print("\n".join(lines))
