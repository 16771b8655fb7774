"""A model's framing bias: how far the framing of its keypoints is from the true one.

The video tracker crops each frame from the previous frame's keypoints, and
``photo.refine`` re-crops a photo from the predicted keypoints. Both use
``photo.framing_from_keypoints``, the framing the training crops were cut
with. A model's keypoints are a little off *on average*, though: given the
crop of a face's true framing, the framing of its predicted keypoints is
shifted, scaled and rolled by a small, systematic amount (measured on the cpu
runs: about -0.8 % of the side along the eye line, +1 to 1.5 % in size and
-0.5 degrees in roll). One pass does not suffer from it, but every pass or
frame cropped from keypoints adds it again, so tracking drifts off the face
and refinement walks away from the truth.

``measure_bias`` measures that bias once per model on photos of *training*
people (never validation or test people); ``FramingBias.correct`` takes it
out of a keypoint framing (``framing.calibrate`` is the detector's side of
the same question: how its five points map to the true framing).
``photo.predictor_for_run`` attaches the bias of the run to its predictor
(``run_bias``: measured once per model file and saved in the run folder as
``framing_bias.json``, so a copied run folder carries it and predicts the
same anywhere, offline, without the training data), so every path that
frames from keypoints (``photo.keypoint_framing``) uses it.

Measured on the validation people (cpu runs, median NME, without -> with the
correction): the heatmap model's videos 7.46 -> 6.48 % and its photos with 3
passes 6.51 -> 5.86 % (YouTube-Faces); V4's photos with 3 passes 7.16 -> 6.49 %.
The plain regressors track videos a little worse with it (V3 8.55 -> 9.05 %,
V4 7.58 -> 8.13 %): without it their keypoint framing strays so far that the
tracker falls back to the detector's framing (``tracking.AGREE_MOVE``), which
suits them better; the heatmap model follows a face across its crop and gains
from framing by its keypoints. The demo's version is chosen with it on
(04_evaluate). See 05_demo, "From a photo to our crop".
"""
import hashlib
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ..core import config
from ..core.files import read_json, write_json
from ..data.crop import read_image
from ..data.sources import find_root
from .framing import Framing, crop_framing, split_photos, to_photo, true_framing

CALIBRATION_PHOTOS = 300   # training people's photos measured per model
CALIBRATION_SEED = 1       # which ones (framing.split_photos)
CALIBRATION_SOURCE = "youtube-faces"   # all 15 keypoints labelled: a full true framing
CALIBRATION_FORMAT = 1     # bumped when what is measured changes (cache file name)
# What ``split_photos`` opens to find training people's photos: the faces15
# dataset (both its sources) and the calibration source's photos. Looked for
# locally only: measuring never downloads.
CALIBRATION_DATA = ("youtube-faces", "mtfl")
RUN_FILE = "framing_bias.json"   # in the run folder (see ``training.runs``)


@dataclass(frozen=True)
class FramingBias:
    """The median error of a model's keypoint framing, relative to the true framing.

    Args:
        dx, dy: centre offset along and across the true eye line, in
            fractions of the true side.
        scale: keypoint side / true side.
        roll: keypoint roll - true roll, degrees.
        photos: how many photos it was measured on (0: not measured).
    """

    dx: float = 0.0
    dy: float = 0.0
    scale: float = 1.0
    roll: float = 0.0
    photos: int = 0

    def correct(self, framing):
        """`framing` (of predicted keypoints) with the bias taken out: the true framing
        it most likely stands for."""
        side = framing.side / self.scale
        roll = framing.roll - self.roll
        a = math.radians(roll)
        ox = (self.dx * math.cos(a) - self.dy * math.sin(a)) * side
        oy = (self.dx * math.sin(a) + self.dy * math.cos(a)) * side
        return Framing(framing.cx - ox, framing.cy - oy, side, roll)

    def to_dict(self):
        return asdict(self)


NO_BIAS = FramingBias()


def framing_offset(framing, true):
    """(dx, dy, scale, roll) of `framing` relative to the `true` framing (see FramingBias)."""
    a = math.radians(true.roll)
    d = np.array([framing.cx - true.cx, framing.cy - true.cy]) / true.side
    return (d[0] * math.cos(a) + d[1] * math.sin(a), -d[0] * math.sin(a) + d[1] * math.cos(a),
            framing.side / true.side, framing.roll - true.roll)


def measure_bias(predictor, photos=None, count=CALIBRATION_PHOTOS, seed=CALIBRATION_SEED):
    """The framing bias of `predictor` on photos of training people.

    Each photo is cropped at its true framing (``framing.true_framing`` of its
    labels, de-rotated as the pipeline does), the model predicts, and
    the framing of the predicted keypoints is compared with the true one; the
    bias is the median offset.

    Args:
        predictor: crops (N, 96, 96) uint8 -> keypoints (N, 30) in crop px.
        photos: [(source, path, keypoints (30,))], default `count` photos of
            the training split's ``CALIBRATION_SOURCE`` people
            (``framing.split_photos``).
        count, seed: of that default.

    Returns:
        FramingBias.
    """
    if photos is None:
        check_calibration_data()
        photos = split_photos("train", limit=count, seed=seed, sources=(CALIBRATION_SOURCE,))
    trues, crops = [], []
    for _, path, keypoints in photos:
        true = true_framing(keypoints)
        trues.append(true)
        crops.append(crop_framing(read_image(path), true))
    if not crops:
        raise ValueError("no photos to measure the framing bias on")
    predicted = np.asarray(predictor(np.stack(crops)), dtype=np.float64)
    offsets = []
    for true, points in zip(trues, predicted):
        try:
            framed = true_framing(to_photo(points.reshape(-1, 2), true).reshape(-1))
        except ValueError:          # degenerate keypoints: no framing
            continue
        offsets.append(framing_offset(framed, true))
    dx, dy, scale, roll = np.median(np.array(offsets), axis=0)
    return FramingBias(float(dx), float(dy), float(scale), float(roll), len(offsets))


def check_calibration_data():
    """FileNotFoundError unless the training photos ``measure_bias`` uses are here
    (found locally: never downloaded, so a model used away from its data stays
    offline)."""
    for source in CALIBRATION_DATA:
        find_root(source, download=False)


def _legacy_path(model_digest, folder=None):
    """Where the bias was cached before runs kept it: ``build/tflite/<digest>.bias-N.json``."""
    return Path(folder or config.BUILD / "tflite") / f"{model_digest}.bias-{CALIBRATION_FORMAT}.json"


def _measured(predictor):
    """``measure_bias(predictor)``, or None (and one line) without the training photos."""
    try:
        return measure_bias(predictor)
    except (FileNotFoundError, ValueError) as error:
        print(f"framing bias not measured (keypoint framing uncorrected): {error}")
        return None


def _from_dict(saved):
    return FramingBias(**{f.name: saved[f.name] for f in fields(FramingBias) if f.name in saved})


def cached_bias(model_digest, predictor, folder=None):
    """``measure_bias(predictor)``, measured once per model file and kept in `folder`.

    Without the training photos (a model used away from its data), no
    correction is made and one line says so. A run's predictor uses
    ``run_bias`` (kept in the run folder) instead.

    Args:
        model_digest: identifies the model (e.g. a hash of its model.keras).
        predictor: the model's predictor.
        folder: default the TFLite cache (``build/tflite``).
    """
    path = _legacy_path(model_digest, folder)
    if path.exists():
        return _from_dict(read_json(path))
    bias = _measured(predictor)
    if bias is None:
        return NO_BIAS
    write_json(bias.to_dict(), path)
    return bias


def model_digest(run_dir):
    """Short sha256 of a run's model.keras (what its saved bias belongs to)."""
    h = hashlib.sha256()
    with open(Path(run_dir) / "model.keras", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def saved_bias(run_dir, digest=None):
    """The bias saved in `run_dir`'s framing_bias.json, or None when there is none
    for this model (none saved, another format, or the model was retrained since).

    Args:
        run_dir: a run folder.
        digest: ``model_digest(run_dir)`` if already known.
    """
    path = Path(run_dir) / RUN_FILE
    if not path.exists():
        return None
    saved = read_json(path)
    if saved.get("format") != CALIBRATION_FORMAT or saved.get("model") != (digest or model_digest(run_dir)):
        return None
    return _from_dict(saved)


def save_bias(run_dir, bias, digest=None):
    """Write `bias` to `run_dir`/framing_bias.json (atomically), with the model it belongs to."""
    record = {"format": CALIBRATION_FORMAT, "model": digest or model_digest(run_dir), **bias.to_dict()}
    return write_json(record, Path(run_dir) / RUN_FILE)


def run_bias(run_dir, predictor, digest=None):
    """The framing bias of the run in `run_dir`, kept in the run folder.

    Read from its framing_bias.json when that belongs to this model file;
    else taken over from the old cache (``build/tflite``) or measured on
    training people's photos (``measure_bias``), and saved there. Without a
    saved bias and without the training photos, no correction is made, one
    line says so, and nothing is downloaded.

    Args:
        run_dir: a run folder (``models/v4-cpu``).
        predictor: the run's predictor (what is measured).
        digest: ``model_digest(run_dir)`` if already known.
    """
    digest = digest or model_digest(run_dir)
    bias = saved_bias(run_dir, digest)
    if bias is not None:
        return bias
    legacy = _legacy_path(digest)
    bias = _from_dict(read_json(legacy)) if legacy.exists() else _measured(predictor)
    if bias is None:
        return NO_BIAS
    try:
        save_bias(run_dir, bias, digest)
    except PermissionError as error:  # a read-only run folder: keep it in the build cache
        if not legacy.exists():
            print(f"framing bias not saved in the run folder ({error}); kept in {legacy}")
            write_json(bias.to_dict(), legacy)
    return bias
