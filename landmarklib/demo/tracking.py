"""Follow faces through a video by their keypoints; the detector only to find them.

``FaceTracker`` turns one frame into faces with 15 keypoints each, the way
MediaPipe's face mesh does, with one safeguard:

1. every tracked face is cropped from the framing of its keypoints in the
   previous frame (``photo.keypoint_framing``: centre, size and roll, the
   model's average offset taken out, ``inference.framing_bias``),
   moved by the image motion since then, and predicted (``passes`` > 1:
   re-cropped while the framing moves by at least ``photo.TOLERANCE`` crop px);
2. the safeguard: the image motion of the face square (Lucas-Kanade optical
   flow of a grid of points, a similarity transform fitted with RANSAC)
   also carries the *detector's* framing from frame to frame. Where the
   keypoints' framing strays from it by more than ``AGREE_MOVE`` crop px,
   the face is cropped from the motion-carried framing instead: a model
   whose keypoints are biased (a weak one reads every face a little too
   large) would otherwise feed its error back into the next crop and drift
   off the face within a few frames;
3. a face is lost when the flow fails; it is in doubt when its crop looks
   neither like its crop in the previous frame nor like the previous
   frame's square cut from this frame (normalised correlation below
   ``MIN_SIMILARITY``: a cut, a blank frame, the face leaving, or just a
   jumpy model), and then the detector decides on the same frame;
4. the face detector (``face_detectors``: MTCNN, slow: ~0.1-0.2 s per frame
   on 2 cores) runs only when a face was lost or is in doubt, every ``DETECT_EVERY`` frames
   while fewer than ``max_faces`` faces are tracked, and every
   ``CHECK_EVERY`` frames to confirm the tracks (a track the detector misses
   twice in a row ends; a confirmed one restarts its motion-carried framing
   from the detection, or its keypoints too if they had strayed) and pick
   up new faces;
5. each face keeps its id; its keypoints are smoothed over time by a
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
# Predictions per tracked face per frame. Tracking is itself a refinement (each
# frame is cropped from the last one's keypoints); 2: one re-crop if the framing
# moved by more than photo.TOLERANCE, at the cost of a crop and a prediction
# (~2 ms on 2 cores). On the validation people's videos (median NME, framing bias
# corrected): heatmap 6.48 % with 1, 6.17 % with 2; V3 9.05 / 8.85 %; V4 8.13 / 8.19 %.
VIDEO_PASSES = 2
MIN_SIMILARITY = 0.5  # correlation of a face's crop with its previous crop to keep tracking it
# crop px: keypoint framing this far from the motion-carried one is not used. On the
# validation people's scenario videos (cpu heatmap model, median NME / failures; measured
# before inference.framing_bias):
# this safeguard 7.46 % / 6 %; always the motion-carried detector framing (0) 7.26 % /
# 19 % (the carried box drifts between checks); the keypoints alone 8.38 % / 14 %.
AGREE_MOVE = 8.0
RESEED_MOVE = 12.0    # crop px: a confirming detection this far from a track re-seeds it
MAX_STRIKES = 2       # confirming detections a track may miss in a row
SIMILARITY_SIZE = 24  # the crops are compared at this size (the face's centre part)
SIMILARITY_REGION = (16, 92, 10, 86)  # rows, cols of the 96x96 crop compared (brows to chin)
FLOW_GRID = 5         # optical flow: a FLOW_GRID x FLOW_GRID grid of points ...
FLOW_SPAN = 0.6       # ... over this fraction of the face square
FLOW_WINDOW = 21      # px: Lucas-Kanade window
FLOW_LEVELS = 3       # pyramid levels (fast motion)
FLOW_MIN_POINTS = 8   # fewer points followed (or RANSAC inliers): the face is lost


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


def flow_points(framing):
    """A FLOW_GRID x FLOW_GRID grid (N, 1, 2) float32 over the middle of a framing's square."""
    u = (np.linspace(-0.5, 0.5, FLOW_GRID) * FLOW_SPAN * framing.side)
    gx, gy = np.meshgrid(u, u)
    a = np.radians(framing.roll)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1) @ rot.T + (framing.cx, framing.cy)
    return pts.astype(np.float32).reshape(-1, 1, 2)


def face_motion(previous, gray, framing):
    """The similarity transform (2x3) that moved `framing`'s square from `previous` to
    `gray` (optical flow of a point grid, RANSAC fit), or None if it cannot be followed."""
    start = flow_points(framing)
    moved, status, _ = cv2.calcOpticalFlowPyrLK(
        previous, gray, start, None, winSize=(FLOW_WINDOW, FLOW_WINDOW), maxLevel=FLOW_LEVELS)
    if moved is None:
        return None
    good = status.ravel() == 1
    if good.sum() < FLOW_MIN_POINTS:
        return None
    m, inliers = cv2.estimateAffinePartial2D(start[good], moved[good], method=cv2.RANSAC,
                                             ransacReprojThreshold=max(2.0, 0.03 * framing.side))
    if m is None or inliers is None or inliers.sum() < FLOW_MIN_POINTS:
        return None
    return m


def moved_framing(m, framing):
    """`framing` carried by the similarity transform `m` (2x3)."""
    cx, cy = m @ np.array([framing.cx, framing.cy, 1.0])
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    angle = float(np.degrees(np.arctan2(m[1, 0], m[0, 0])))
    return photo.Framing(float(cx), float(cy), framing.side * scale, framing.roll + angle)


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
        self.id, self.crop, self.keypoints = face_id, crop, keypoints
        self.used = framing     # the framing its last crop was cut from
        self.anchor = framing   # the detector's framing, carried by the image motion
        self.strikes = 0
        self.doubtful = False   # its crop changed too much: the detector must confirm it


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
        self.tracks, self._next_id, self._previous = [], 0, None
        self._since_detect = self.detect_every   # search the first frame
        self.detections = 0                       # detector runs so far

    def _follow(self, previous, gray):
        """Move every track to this frame; drop the lost ones. True if one was lost."""
        if not self.tracks or previous is None:
            return False
        moving, starts, lost = [], [], False
        for track in self.tracks:
            m = face_motion(previous, gray, track.anchor)
            if m is None:
                lost = True
                continue
            track.anchor = moved_framing(m, track.anchor)
            try:
                from_keypoints = moved_framing(m, photo.keypoint_framing(track.keypoints,
                                                                        self.predictor))
            except ValueError:      # degenerate keypoints
                from_keypoints = None
            agree = (from_keypoints is not None
                     and photo.framing_move(track.anchor, from_keypoints) < AGREE_MOVE)
            starts.append(from_keypoints if agree else track.anchor)
            moving.append(track)
        if not moving:
            self.tracks = []
            return lost
        points, framings, used, crops = photo.refine(gray, starts, self.predictor,
                                                     passes=self.passes)
        kept = []
        for track, p, f, n, c in zip(moving, points, framings, used, crops):
            # cropped by its keypoints, a face looks like its last crop; its last square
            # looks like the same square now if it moves slowly; a blank frame or
            # another scene looks like neither
            if not np.isfinite(p).all():
                lost = True
                continue
            alike = max(similarity(track.crop, c),
                        similarity(track.crop, photo.crop_framing(gray, track.used)))
            track.doubtful = alike < self.min_similarity   # the detector decides, this frame
            lost |= track.doubtful
            track.keypoints, track.crop, track.passes, track.used = p, c, int(n), f
            kept.append(track)
        self.tracks = kept
        return lost

    def _start(self, gray, framings, tracks=None):
        """Refine from detector framings; new tracks (or re-seed `tracks`, same ids)."""
        framings = list(framings)
        points, finals, used, crops = photo.refine(gray, framings, self.predictor)
        for k, (p, c, n, f) in enumerate(zip(points, crops, used, finals)):
            if tracks is None:
                track = _Track(self._next_id, finals[k], c, p, self.smooth, **self.filter_args)
                self._next_id += 1
                self.tracks.append(track)
            else:
                track = tracks[k]
                track.keypoints, track.crop = p, c
            track.anchor, track.passes, track.used = framings[k], int(n), f

    def _detect(self, gray, frame):
        """Run the detector: confirm tracks (re-seed drifted ones), start new ones."""
        self.detections += 1
        self._since_detect = 0
        found = [photo.first_framing(f) for f in self.detector.detect(frame)]
        found = [f for f in found if f.side >= photo.MIN_FACE]
        new, confirmed, reseed = [], set(), []
        for f in found:
            owner = next((t for t in self.tracks if t.id not in confirmed and np.hypot(
                f.cx - t.used.cx, f.cy - t.used.cy) < t.used.side / 2), None)
            if owner is None:
                new.append(f)
                continue
            confirmed.add(owner.id)
            if photo.framing_move(f, owner.used) > RESEED_MOVE:   # the track strayed
                reseed.append((owner, f))
            else:
                owner.anchor = f
        for track in self.tracks:
            track.strikes = 0 if track.id in confirmed else track.strikes + 1
        # a doubtful track the detector does not find here has gone
        self.tracks = [t for t in self.tracks
                       if t.strikes < MAX_STRIKES and not (t.doubtful and t.strikes)]
        for track in self.tracks:
            track.doubtful = False
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
        lost = self._follow(self._previous, gray)
        self._previous = gray
        self._since_detect += 1
        if (lost or self._since_detect >= self.check_every
                or (len(self.tracks) < self.max_faces and self._since_detect >= self.detect_every)):
            self._detect(gray, frame)
        out = []
        for track in self.tracks:
            smoothed = track.smoother.smooth(track.keypoints, t)
            box = framing_box(track.used)
            out.append(Face(track.id, box, smoothed, track.keypoints, track.used,
                            track.passes))
        return out


def faces_in_image(image, predictor, detector=None, max_faces=photo.MAX_FACES, passes=None):
    """The faces of one still image as ``Face`` rows (ids 0, 1, ...; no smoothing).

    Args:
        image: (H, W) or (H, W, 3) uint8.
        predictor: crops -> keypoints (or a keras model / run folder).
        detector: default ``photo.default_detector()``.
        max_faces: the largest faces kept.
        passes: predictions per face (default ``photo.MAX_PASSES``).
    """
    found = photo.landmarks_in_photo(image, predictor, detector=detector, max_faces=max_faces,
                                     passes=passes or photo.MAX_PASSES)
    return [Face(i, framing_box(f.framing), f.keypoints, f.keypoints, f.framing, f.passes)
            for i, f in enumerate(found)]

