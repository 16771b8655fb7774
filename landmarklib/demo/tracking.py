"""Follow faces through a video by their keypoints; the detector only to find them.

``FaceTracker`` turns one frame into faces with 15 keypoints each, the way
MediaPipe's face mesh does:

1. every tracked face is cropped from the framing of its keypoints in the
   previous frame (``photo.framing_from_keypoints``: centre, size and roll),
   predicted, and re-cropped once more if the framing moved by at least
   ``photo.TOLERANCE`` crop px (``passes``);
2. a face is lost when its crop looks neither like its crop in the previous
   frame (both framed by the keypoints: alike when the model frames it
   steadily) nor like the previous frame's square cut from this frame (alike
   when it moves slowly): normalised correlation below ``MIN_SIMILARITY``
   (a cut, a blank frame, the face leaving). The framing may change by at most
   ``MAX_*_STEP`` from one frame to the next (a weak model's keypoints can
   drift in size);
3. the face detector (``face_detectors``: MTCNN, slow: ~0.1 s per frame on
   2 cores) runs only when a face was lost, every ``DETECT_EVERY`` frames
   while fewer than ``max_faces`` faces are tracked, and every
   ``CHECK_EVERY`` frames to confirm the tracks (a track the detector misses
   twice in a row ends, one it finds far from where the track is re-starts
   from the detection) and pick up new faces;
4. each face keeps its id; its keypoints are smoothed over time by a
   One-Euro filter (``smoothing.Track``).

Photos use the same crop and refinement code (``inference.photo``).
"""
from dataclasses import dataclass

import cv2
import numpy as np

from ..data.crop import to_gray
from ..inference import photo
from . import smoothing

DETECT_EVERY = 2      # frames between detector runs while fewer than max_faces are tracked
CHECK_EVERY = 30      # frames between detector runs that confirm the tracks
VIDEO_PASSES = 2      # predictions per tracked face per frame (2: one re-crop if it moved)
MIN_SIMILARITY = 0.5  # correlation of a face's crop with its previous crop to keep tracking it
# A face moves little between frames: the next frame's framing may differ from
# this one's by at most these (a weak model's keypoints can drift in size).
MAX_SCALE_STEP = 1.1  # factor on the side
MAX_ROLL_STEP = 8.0   # degrees
MAX_SHIFT_STEP = 0.25  # fraction of the side
RESEED_MOVE = 12.0    # crop px: a confirming detection this far from a track re-seeds it
MAX_STRIKES = 2       # confirming detections a track may miss in a row
SIMILARITY_SIZE = 24  # the crops are compared at this size (the face's centre part)
SIMILARITY_REGION = (16, 92, 10, 86)  # rows, cols of the 96x96 crop compared (brows to chin)


@dataclass
class Face:
    """One face in one frame: keypoints in frame pixels (smoothed and raw).

    Args:
        face_id: stable id of the face across frames.
        box: (x, y, w, h) the axis-aligned square of its framing, frame px.
        keypoints: (30,) after smoothing; raw: (30,) as predicted.
        framing: the crop framing (``photo.Framing``) the keypoints came from.
        passes: predictions made for it in this frame.
    """

    face_id: int
    box: np.ndarray
    keypoints: np.ndarray
    raw: np.ndarray
    framing: photo.Framing = None
    passes: int = 1


def framing_box(framing):
    """(x, y, w, h) of the axis-aligned square of a framing."""
    half = framing.side / 2
    return np.array([framing.cx - half, framing.cy - half, framing.side, framing.side])


def next_framing(previous, proposed):
    """`proposed` (from this frame's keypoints) with its change from `previous` bounded
    by MAX_SCALE_STEP, MAX_ROLL_STEP and MAX_SHIFT_STEP."""
    side = float(np.clip(proposed.side, previous.side / MAX_SCALE_STEP,
                         previous.side * MAX_SCALE_STEP))
    roll = float(np.clip(proposed.roll, previous.roll - MAX_ROLL_STEP,
                         previous.roll + MAX_ROLL_STEP))
    shift = np.array([proposed.cx - previous.cx, proposed.cy - previous.cy])
    limit = MAX_SHIFT_STEP * previous.side
    norm = float(np.hypot(*shift))
    if norm > limit:
        shift *= limit / norm
    return photo.Framing(previous.cx + shift[0], previous.cy + shift[1], side, roll)


def _signature(crop):
    """The crop's central part, small, zero-mean and unit-norm (for ``similarity``)."""
    r0, r1, c0, c1 = SIMILARITY_REGION
    small = cv2.resize(crop[r0:r1, c0:c1], (SIMILARITY_SIZE, SIMILARITY_SIZE),
                       interpolation=cv2.INTER_AREA).astype(np.float64).ravel()
    small -= small.mean()
    norm = np.linalg.norm(small)
    return small / norm if norm > 1e-6 else small


def similarity(crop_a, crop_b):
    """Normalised correlation (-1..1) of two 96x96 face crops' central parts.

    Insensitive to brightness and contrast; near 1 for the same face in
    consecutive frames, near 0 for a face against the background.
    """
    return float(_signature(crop_a) @ _signature(crop_b))


class _Track:
    def __init__(self, face_id, framing, crop, keypoints, smooth, **filter_args):
        self.smoother = smoothing.Track(face_id, framing_box(framing), smooth, **filter_args)
        self.id, self.framing, self.crop, self.keypoints = face_id, framing, crop, keypoints
        self.used = framing     # the framing its last crop was cut from
        self.strikes = 0


class FaceTracker:
    """Frames in, tracked and smoothed faces with keypoints out.

    Args:
        predictor: crops (N, 96, 96) uint8 -> (N, 30), e.g. ``photo.make_predictor(model)``.
        detector: a face detector (``face_detectors``); default ``photo.default_detector()``.
        max_faces: the largest faces followed.
        smooth: "one-euro" or "none".
        detect_every: frames between detector runs while fewer than
            `max_faces` faces are tracked (1 = every such frame).
        check_every: frames between detector runs that confirm the tracks.
        passes: predictions per tracked face per frame; a new face gets
            ``photo.MAX_PASSES``.
        min_similarity: see ``similarity``; below it a track is lost.
        **filter_args: min_cutoff, beta, d_cutoff of the One-Euro filters.
    """

    def __init__(self, predictor, detector=None, max_faces=1, smooth="one-euro",
                 detect_every=DETECT_EVERY, check_every=CHECK_EVERY, passes=VIDEO_PASSES,
                 min_similarity=MIN_SIMILARITY, **filter_args):
        if max_faces < 1:
            raise ValueError(f"max_faces must be at least 1, got {max_faces}")
        if smooth not in smoothing.SMOOTHERS:
            raise ValueError(f"unknown smoothing {smooth!r}; choose one of {smoothing.SMOOTHERS}")
        self.predictor, self.max_faces, self.smooth = predictor, max_faces, smooth
        self.detector = detector or photo.default_detector()
        self.detect_every, self.check_every = max(int(detect_every), 1), max(int(check_every), 1)
        self.passes, self.min_similarity = passes, min_similarity
        self.filter_args = filter_args
        self.tracks, self._next_id = [], 0
        self._since_detect = self.detect_every   # search the first frame
        self.detections = 0                       # detector runs so far

    def _follow(self, gray):
        """Move every track to this frame; drop the lost ones. True if one was lost."""
        if not self.tracks:
            return False
        points, framings, used, crops = photo.refine(
            gray, [t.framing for t in self.tracks], self.predictor, passes=self.passes)
        kept, lost = [], False
        for track, p, f, n, c in zip(self.tracks, points, framings, used, crops):
            # cropped by its keypoints, a face looks like its last crop (if the model
            # frames it steadily), and its last square looks like the same square now
            # (if it moves slowly); a blank frame or another scene does neither
            alike = max(similarity(track.crop, c),
                        similarity(track.crop, photo.crop_framing(gray, track.used)))
            if alike < self.min_similarity or not np.isfinite(p).all():
                lost = True
                continue
            track.keypoints, track.crop, track.passes, track.used = p, c, int(n), f
            track.framing = next_framing(track.framing, photo.framing_from_keypoints(p))
            kept.append(track)
        self.tracks = kept
        return lost

    def _start(self, gray, framings, tracks=None):
        """Refine from detector framings; new tracks (or re-seed `tracks`, same ids)."""
        points, finals, used, crops = photo.refine(gray, framings, self.predictor)
        for k, (p, c, n, f) in enumerate(zip(points, crops, used, finals)):
            if tracks is None:
                track = _Track(self._next_id, finals[k], c, p, self.smooth, **self.filter_args)
                self._next_id += 1
                self.tracks.append(track)
            else:
                track = tracks[k]
                track.keypoints, track.crop = p, c
            track.framing, track.passes, track.used = photo.framing_from_keypoints(p), int(n), f

    def _detect(self, gray, frame):
        """Run the detector: confirm tracks (re-seed drifted ones), start new ones."""
        self.detections += 1
        self._since_detect = 0
        found = [photo.first_framing(f) for f in self.detector.detect(frame)]
        found = [f for f in found if f.side >= photo.MIN_FACE]
        new, confirmed, reseed = [], set(), []
        for f in found:
            owner = next((t for t in self.tracks if t.id not in confirmed and np.hypot(
                f.cx - t.framing.cx, f.cy - t.framing.cy) < t.framing.side / 2), None)
            if owner is None:
                new.append(f)
                continue
            confirmed.add(owner.id)
            if photo.framing_move(f, owner.framing) > RESEED_MOVE:   # the track drifted
                reseed.append((owner, f))
        for track in self.tracks:
            track.strikes = 0 if track.id in confirmed else track.strikes + 1
        self.tracks = [t for t in self.tracks if t.strikes < MAX_STRIKES]
        if reseed:
            self._start(gray, [f for _, f in reseed], [t for t, _ in reseed])
        new = new[:max(self.max_faces - len(self.tracks), 0)]
        if new:
            self._start(gray, new)

    def __call__(self, frame, t):
        """Faces of one frame (BGR or gray) at time `t` seconds.

        Args:
            frame: (H, W) or (H, W, 3) uint8.
            t: seconds since the start (for the smoothing filter).
        """
        gray = to_gray(frame)
        for track in self.tracks:
            track.passes = 0
        lost = self._follow(gray)
        self._since_detect += 1
        if (lost or self._since_detect >= self.check_every
                or (len(self.tracks) < self.max_faces and self._since_detect >= self.detect_every)):
            self._detect(gray, frame)
        out = []
        for track in self.tracks:
            smoothed = track.smoother.smooth(track.keypoints, t)
            box = framing_box(photo.framing_from_keypoints(track.keypoints))
            out.append(Face(track.id, box, smoothed, track.keypoints, track.framing,
                            track.passes))
        return out


def faces_in_image(image, predictor, detector=None, max_faces=photo.MAX_FACES):
    """The faces of one still image as ``Face`` rows (ids 0, 1, ...; no smoothing).

    Args:
        image: (H, W) or (H, W, 3) uint8.
        predictor: crops -> keypoints (or a keras model / run folder).
        detector: default ``photo.default_detector()``.
        max_faces: the largest faces kept.
    """
    found = photo.landmarks_in_photo(image, predictor, detector=detector, max_faces=max_faces)
    return [Face(i, framing_box(photo.framing_from_keypoints(f.keypoints)), f.keypoints,
                 f.keypoints, f.framing, f.passes) for i, f in enumerate(found)]

