"""Test videos with known keypoint trajectories, made from real photos.

``make_test_video`` pastes real faces (YouTube-Faces photos of people in the
dataset's *test* split, ``youtube_faces_photos``) onto a textured background
and moves them: drift, zoom, roll, optionally blur, a brightness change and
blank frames (background only). Since every face is placed by a known
similarity transform, the true 15 keypoints of every frame are known, and
``evaluation.realworld`` scores a video CSV against them. ``SCENARIOS`` are
the videos of the real-pipeline evaluation (``evaluate_videos``: made,
annotated by the pipeline it is given, e.g. the ``video`` command's
``demo.video.annotate_video``, and scored); the defaults are the short video
of tests/test_video.py. (Until issue 23 this was ``demo.testvideo``;
``lm.testvideo`` still names it.)
"""
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..core import keypoints as kp
from ..core.files import atomic_path
from ..data import find_root, load_dataset
from ..data.crop import face_frame, read_image
from ..data.sources import youtube_faces_annotations
from ..inference import photo
from ..inference.measurements import measure
from ..inference.video_io import check_output, open_writer
from .realworld import pooled_video_scores, truth_path

TEST_FACE_SIDE = 0.4     # training-frame side of a face, as a fraction of the frame height
TEST_DRIFT = (0.12, 0.06)  # horizontal / vertical drift, fraction of width / height
TEST_ZOOM = 0.2          # face size varies by +-20 %
TEST_ROLL_DEG = 12.0     # head roll varies by +-12 degrees
TEST_NOISE = 3.0         # std of the per-frame sensor noise (grey levels)
PHOTO_MAX_ROLL = 8.0     # photos used: nearly level ...
PHOTO_MIN_RATIO = 0.8    # ... frontal (eye distance / eyes-to-mouth)
PHOTO_MIN_SIDE = 100     # ... and large enough (framing side, px) to be scaled down

# The evaluation videos (640x480, 30 fps; face side = the training framing's
# side in px, from side_px[0] to side_px[1] and back; blank frames at the end).
SCENARIOS = {
    "small": {"side_px": (60, 90), "roll_deg": 10.0, "drift": (0.25, 0.15)},
    "medium": {"side_px": (100, 150), "roll_deg": 20.0, "drift": (0.2, 0.1)},
    "large": {"side_px": (180, 250), "roll_deg": 15.0, "drift": (0.08, 0.05)},
    "blur+light": {"side_px": (90, 140), "roll_deg": 12.0, "drift": (0.2, 0.1), "blur": 2.0,
                   "brightness": (0.5, 1.4)},
    "fast": {"side_px": (100, 140), "roll_deg": 20.0, "drift": (0.25, 0.15), "cycles": 2},
}
SCENARIO_FRAMES = 150
SCENARIO_BLANK = 15      # blank frames at the end of each scenario video
VIDEO_PHOTO_SEED = 1     # which test-people photos the scenario videos show
# Videos per scenario, one test person each, the same people in every scenario:
# one person alone decides a video's error (measured with a cpu v5: the same
# person scores 10.4 % in "large" and 10.1 % in "medium", another 7.2 and 7.1 %),
# so scenarios are compared on the same few people, pooled.
SCENARIO_PEOPLE = 3


def youtube_faces_photos(count, split="test", seed=0):
    """`count` YouTube-Faces source photos (BGR) with their 15 keypoints (30,) in photo px.

    Taken from the default dataset's `split` (by identity, as ``data.registry``
    assigns it: "test" people are in no training split), keeping near-frontal,
    level, large enough faces (PHOTO_* constants).

    Args:
        count: photos wanted; split: "train", "val" or "test"; seed: which ones.
    """
    root = find_root("youtube-faces")
    meta = load_dataset("faces15", progress=False).meta
    files = set(meta.loc[(meta["source"] == "youtube-faces") & (meta["split"] == split), "file"])
    candidates = [(name, p) for name, p in youtube_faces_annotations(root).items()
                  if name in files]
    rng = np.random.default_rng(seed)
    photos = []
    for i in rng.permutation(len(candidates)):
        name, points = candidates[i]
        m = measure(points)
        if (abs(m["roll_deg"]) > PHOTO_MAX_ROLL or m["eye_mouth_ratio"] < PHOTO_MIN_RATIO
                or face_frame(points)[2] < PHOTO_MIN_SIDE):
            continue
        photos.append((read_image(root / name, color=True), points))
        if len(photos) == count:
            return photos
    raise ValueError(f"only {len(photos)} usable YouTube-Faces photos in split {split!r}")


def _background(height, width, rng):
    """A smooth random texture (BGR), so the face is not on a flat colour."""
    coarse = rng.uniform(40, 200, (height // 40 + 2, width // 40 + 2, 3)).astype(np.float32)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 255)


def _pose(i, frames, motion, slot, count, size, side_px, roll_deg, drift, cycles):
    """(centre x, centre y, framing side px, roll degrees) of a face in frame i."""
    width, height = size
    cx, cy = (slot + 0.5) * width / count, height / 2
    lo, hi = side_px
    if motion == "static":
        return cx, cy, (lo + hi) / 2, 0.0
    u = cycles * i / max(frames - 1, 1)
    return (cx + drift[0] * width / count * np.sin(2 * np.pi * u),
            cy + drift[1] * height * np.sin(4 * np.pi * u),
            lo + (hi - lo) * (0.5 + 0.5 * np.sin(2 * np.pi * u + 1.0)),
            roll_deg * np.sin(3 * np.pi * u))


def make_test_video(path, photos, frames=60, size=(640, 480), fps=30.0, motion="moving",
                    blank_frames=(), noise=TEST_NOISE, seed=0, side_px=None,
                    roll_deg=TEST_ROLL_DEG, drift=TEST_DRIFT, cycles=1.0, blur=0.0,
                    brightness=(1.0, 1.0)):
    """Write a video of real faces pasted on a background; return the true keypoints.

    Args:
        path: output video (.mp4, mp4v codec).
        photos: list of (image uint8 BGR or gray, keypoints (30,) in image px),
            e.g. ``youtube_faces_photos(2)``; one face per photo, side by side.
        frames, size (width, height), fps: of the video.
        motion: "moving" (drift, zoom, roll) or "static" (the same pose every
            frame: only sensor noise changes).
        blank_frames: frame indices showing the background only.
        noise: std of the Gaussian noise added to every frame (grey levels).
        seed: of the background and the noise.
        side_px: (smallest, largest) training-framing side of a face in px;
            default TEST_FACE_SIDE of the frame height +-TEST_ZOOM.
        roll_deg: largest |roll| of the heads; drift: (x, y) amplitude of the
            motion in fractions of the width (per face) and height.
        cycles: how many times the motion repeats over the video.
        blur: largest Gaussian blur sigma (px), varying over the video (0: none).
        brightness: (lowest, highest) factor on the frame's brightness, varying
            over the video.

    Returns:
        true keypoints (frames, len(photos), 30) in frame px, NaN where a
        frame shows no face.
    """
    if motion not in ("moving", "static"):
        raise ValueError(f"motion must be 'moving' or 'static', got {motion!r}")
    width, height = size
    if side_px is None:
        side = TEST_FACE_SIDE * height / len(photos) ** 0.5
        side_px = (side * (1 - TEST_ZOOM), side * (1 + TEST_ZOOM))
    rng = np.random.default_rng(seed)
    background = _background(height, width, rng)
    truth = np.full((frames, len(photos), 2 * kp.NUM_KEYPOINTS), np.nan)
    blank = set(blank_frames)
    with atomic_path(check_output(path, "path")) as tmp:
        writer = open_writer(tmp, width, height, fps)
        try:
            for i in range(frames):
                frame = background.copy()
                for slot, (image, points) in enumerate(photos):
                    if i in blank:
                        continue
                    pose = _pose(i, frames, motion, slot, len(photos), size, side_px, roll_deg,
                                 drift, cycles)
                    truth[i, slot] = _paste(frame, image, points, pose)
                phase = 0.5 - 0.5 * np.cos(2 * np.pi * i / max(frames - 1, 1))
                if blur:
                    frame = cv2.GaussianBlur(frame, (0, 0), 0.3 + (blur - 0.3) * phase)
                frame *= brightness[0] + (brightness[1] - brightness[0]) * (1 - phase)
                frame += rng.normal(0, noise, frame.shape)
                writer.write(frame.clip(0, 255).astype(np.uint8))
        finally:
            writer.release()
    return truth


def scenario_video(path, name, photos, frames=SCENARIO_FRAMES, blank=SCENARIO_BLANK, seed=0):
    """One of SCENARIOS as a video at `path` (blank frames at its end); its true keypoints."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose one of {sorted(SCENARIOS)}")
    return make_test_video(path, photos, frames=frames, blank_frames=range(frames - blank, frames),
                           seed=seed, **SCENARIOS[name])


def _paste(frame, image, points, pose):
    """Paste `image` into `frame` (float, in place) at `pose`; its keypoints there."""
    image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
    x0, y0, side = face_frame(points)
    cx, cy, target_side, roll = pose
    m = cv2.getRotationMatrix2D((x0 + side / 2, y0 + side / 2), roll, target_side / side)
    m[:, 2] += (cx - (x0 + side / 2), cy - (y0 + side / 2))
    h, w = frame.shape[:2]
    source = image.astype(np.float32)
    if target_side < side:   # shrinking: blur to the new sampling rate first (no aliasing)
        source = cv2.GaussianBlur(source, (0, 0), 0.5 * side / target_side)
    warped = cv2.warpAffine(source, m, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.ones(image.shape[:2], np.float32), m, (w, h))[..., None]
    frame *= 1 - mask
    frame += warped * mask
    pts = kp.as_points(np.asarray(points, dtype=np.float64))
    return (pts @ m[:, :2].T + m[:, 2]).reshape(-1)


def scenario_videos(folder, scenarios=None, people=SCENARIO_PEOPLE, photo_seed=VIDEO_PHOTO_SEED,
                    split="test"):
    """Make the test videos of `scenarios` in `folder`; {scenario: [(video, truth)]}.

    Video ``<scenario>_<j>.mp4`` shows test person j (``youtube_faces_photos``,
    the same people in every scenario); its true keypoints (frames, 1, 30) are
    saved beside it as ``<scenario>_<j>_truth.npy``, so tools outside this
    environment (``benchmarks/compare_detectors.py --videos``) can be scored on
    the same frames. Everything is seeded: the same call makes the same videos.

    Args:
        folder: where the videos go.
        scenarios: names of SCENARIOS (default all).
        people: videos per scenario.
        photo_seed: which test-people photos.
        split: whose photos: "test" people (to report) or "val" people (to
            choose settings on, e.g. the demo's version).
    """
    names = list(scenarios or SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario {unknown[0]!r}; choose one of {sorted(SCENARIOS)}")
    photos = youtube_faces_photos(people, split=split, seed=photo_seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for name in names:
        for j, person in enumerate(photos):
            src = folder / f"{name.replace('+', '_')}_{j}.mp4"
            truth = scenario_video(src, name, [person], seed=100 * list(SCENARIOS).index(name) + j)
            with atomic_path(truth_path(src)) as tmp, open(tmp, "wb") as f:
                np.save(f, truth)
            made.setdefault(name, []).append((src, truth))
    return made


def evaluate_videos(model, folder, annotate=None, scenarios=None, smooth="one-euro",
                    detector=None, photo_seed=VIDEO_PHOTO_SEED, people=SCENARIO_PEOPLE,
                    videos=None, **tracker_args):
    """Annotate the scenario videos with a video pipeline and score them.

    The real pipeline as the ``video`` command runs it: pass
    ``annotate=lm.video.annotate_video`` (detector, keypoint tracking,
    refinement, smoothing, drawing, encoding); scored by
    ``evaluation.realworld.pooled_video_scores``. The pipeline is an argument
    because it lives in ``demo``, a layer above this one.

    Args:
        model: a predictor, keras model or run folder.
        folder: where the annotated videos and CSVs go (kept, to look at).
        annotate: the pipeline, called as ``annotate(src, predictor, out,
            csv_path=..., smooth=..., detector=..., **tracker_args)``; it writes
            the ``video`` command's CSV and returns a dict with "fps" and
            "detections" (as ``demo.video.annotate_video`` does).
        scenarios, photo_seed, people: of ``scenario_videos`` (made in `folder`
            unless `videos` is given).
        smooth: the demo's smoothing ("one-euro") or "none".
        detector: default ``photo.default_detector()``.
        videos: ``scenario_videos``' result, to annotate videos made before.
        **tracker_args: of ``tracking.FaceTracker`` (e.g. passes).

    Returns:
        DataFrame, one row per scenario (``video_scores``' columns over its
        videos' frames, fps their mean, + detector runs in all).
    """
    check_pipeline(annotate)
    predictor = photo.as_predictor(model)
    detector = detector or photo.default_detector()
    detector.detect(np.zeros((480, 640, 3), np.uint8))    # warm up: fps counts steady work
    predictor(np.zeros((1, 96, 96), np.uint8))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if videos is None:
        videos = scenario_videos(folder, scenarios, people, photo_seed)
    rows = {}
    for name, made in videos.items():
        scored, fps, detections = [], [], 0
        for src, truth in made:
            out, csv_path = folder / f"{src.stem}_out.mp4", folder / f"{src.stem}.csv"
            stats = annotate(src, predictor, out, csv_path=csv_path, smooth=smooth,
                             detector=detector, **tracker_args)
            scored.append((pd.read_csv(csv_path), truth))
            fps.append(stats["fps"])
            detections += stats["detections"]
        rows[name] = {**pooled_video_scores(scored), "fps": float(np.mean(fps)),
                      "detector runs": detections}
    return pd.DataFrame(rows).T


def check_pipeline(annotate):
    """A clear error unless `annotate` is a video pipeline (a callable).

    Args:
        annotate: what ``evaluate_videos`` was given, e.g. ``lm.video.annotate_video``.
    """
    if not callable(annotate):
        raise TypeError("annotate: expected the video pipeline to score, e.g. "
                        f"annotate=lm.video.annotate_video; got {annotate!r}")
