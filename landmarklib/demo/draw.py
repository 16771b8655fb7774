"""Drawing landmarks on frames and photos: marks and text that scale with the face.

Marks (dots, the face box, the face id) are sized from the face's framing
side, so a 100 px face in a 227x275 photo and a 400 px face in a 1080p frame
look alike. Keypoint names are drawn only where they fit: ``place_labels``
tries a few spots beside each point and keeps a name only if its text box
overlaps no other name and stays inside the image; the marks are coloured by
face part, and a small legend of those colours is drawn when a name was left
out (so a small face gets a legend, not 15 overlapping names).
"""
import cv2
import numpy as np

from ..core import keypoints as kp

PART_COLOURS = {"eye": (80, 220, 80), "eyebrow": (220, 160, 60), "nose": (60, 200, 240),
                "mouth": (80, 80, 240)}     # BGR per face part
BOX_COLOUR = (200, 200, 200)
TEXT_COLOUR = (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX
DOT_PER_SIDE = 1 / 80       # dot radius per px of face side (at least 1 px)
NAME_SCALE_PER_SIDE = 1 / 700   # font scale of the names per px of face side ...
NAME_SCALE_RANGE = (0.28, 0.6)  # ... within these bounds
LABEL_GAP = 2               # px between a dot and its name
LEGEND_SCALE = 0.4
PARTS = ("eyebrow", "eye", "nose", "mouth")


def part(name):
    """The face part ("eye", "eyebrow", "nose", "mouth") of a keypoint name."""
    return next(p for p in PARTS if p in name)


def face_side(face):
    """The face's size in px (its box width, at least 1)."""
    return max(float(face.box[2]), 1.0)


def _overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(points, names, font_scale, image_shape, taken=(), gap=LABEL_GAP):
    """Where the names of `points` fit: [(name, (x0, y0, x1, y1) text box, origin)].

    Each name is tried right of, left of, above and below its point; the first
    spot whose text box is inside the image and clear of every box placed so
    far (and of `taken`) wins; names with no such spot are left out.

    Args:
        points: (K, 2) px; NaN points are skipped.
        names: K names.
        font_scale: cv2 font scale of the text.
        image_shape: (H, W, ...) of the image drawn on.
        taken: boxes already used (e.g. other faces' labels).
        gap: px between the point and the text.
    """
    height, width = image_shape[:2]
    placed, boxes = [], list(taken)
    for (x, y), name in zip(np.asarray(points, dtype=np.float64), names):
        if not np.isfinite([x, y]).all():
            continue
        (tw, th), base = cv2.getTextSize(name, FONT, font_scale, 1)
        candidates = ((x + gap, y + th / 2), (x - gap - tw, y + th / 2),
                      (x - tw / 2, y - gap - base), (x - tw / 2, y + gap + th))
        for ox, oy in candidates:
            box = (ox, oy - th, ox + tw, oy + base)
            if (box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height
                    and not any(_overlaps(box, b) for b in boxes)):
                placed.append((name, box, (round(ox), round(oy))))
                boxes.append(box)
                break
    return placed


def legend_size(scale=LEGEND_SCALE):
    """(width, height) px of the part-colour legend."""
    sizes = [cv2.getTextSize(name, FONT, scale, 1) for name in PART_COLOURS]
    th = max(h for (_, h), _ in sizes)
    row = th + max(b for _, b in sizes) + 4
    return max(w for (w, _), _ in sizes) + th + 12, row * len(PART_COLOURS)


def legend_corner(shape, avoid, scale=LEGEND_SCALE, margin=4):
    """Top-left (x, y) of the legend in the first image corner clear of the `avoid` boxes
    (x0, y0, x1, y1); the top-left corner if none is clear."""
    width, height = legend_size(scale)
    h, w = shape[:2]
    corners = [(margin, margin), (w - width - margin, margin),
               (margin, h - height - margin), (w - width - margin, h - height - margin)]
    for x, y in corners:
        box = (x, y, x + width, y + height)
        if x >= 0 and y >= 0 and not any(_overlaps(box, b) for b in avoid):
            return x, y
    return corners[0]


def draw_legend(out, origin=(6, 6), scale=LEGEND_SCALE):
    """The part colours as a small legend at `origin` (top-left), in place."""
    x, y = origin
    width, height = legend_size(scale)
    row = height // len(PART_COLOURS)
    cv2.rectangle(out, (x, y), (x + width, y + height), (0, 0, 0), -1)
    for i, (name, colour) in enumerate(PART_COLOURS.items()):
        (_, th), _ = cv2.getTextSize(name, FONT, scale, 1)
        top = y + i * row
        cv2.circle(out, (x + 4 + th // 2, top + 2 + th // 2), max(th // 2, 2), colour, -1,
                   cv2.LINE_AA)
        cv2.putText(out, name, (x + th + 8, top + th + 1), FONT, scale, TEXT_COLOUR, 1,
                    cv2.LINE_AA)


def draw(frame, faces, names=False, fps=None):
    """A copy of `frame` (BGR or gray) with each face's box, id and keypoints.

    Args:
        frame: (H, W) or (H, W, 3) uint8.
        faces: objects with ``face_id``, ``box`` (x, y, w, h) and ``keypoints`` (30,).
        names: draw keypoint names where they fit (and a part legend if some do not).
        fps: a frames-per-second figure for the corner, or None.

    Returns:
        (H, W, 3) uint8 BGR.
    """
    out = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame.copy()
    taken, left_out = [], False
    for face in faces:
        side = face_side(face)
        thick = max(1, round(side / 250))
        x, y, w, h = (round(v) for v in face.box)
        cv2.rectangle(out, (x, y), (x + w, y + h), BOX_COLOUR, thick, cv2.LINE_AA)
        id_scale = float(np.clip(side / 350, 0.3, 0.8))
        cv2.putText(out, f"face {face.face_id}", (x, max(y - 4, 10)), FONT, id_scale,
                    BOX_COLOUR, thick, cv2.LINE_AA)
        radius = max(1, round(side * DOT_PER_SIDE))
        points = kp.as_points(np.asarray(face.keypoints, dtype=np.float64))
        for name, (px, py) in zip(kp.NAMES, points):
            if np.isfinite([px, py]).all():
                cv2.circle(out, (round(px), round(py)), radius,
                           PART_COLOURS[part(name)], -1, cv2.LINE_AA)
        if names:
            scale = float(np.clip(side * NAME_SCALE_PER_SIDE, *NAME_SCALE_RANGE))
            dots = [(px - radius, py - radius, px + radius, py + radius)
                    for px, py in points if np.isfinite([px, py]).all()]
            placed = place_labels(points, kp.NAMES, scale, out.shape, taken=taken + dots,
                                  gap=radius + LABEL_GAP)
            for name, box, origin in placed:
                cv2.putText(out, name, origin, FONT, scale, TEXT_COLOUR, 1, cv2.LINE_AA)
                taken.append(box)
            left_out |= len(placed) < int(np.isfinite(points).all(axis=1).sum())
    if names and left_out:
        faces_boxes = [(f.box[0] - 20, f.box[1] - 20, f.box[0] + f.box[2], f.box[1] + f.box[3])
                       for f in faces]
        draw_legend(out, legend_corner(out.shape, faces_boxes + taken))
    if fps is not None:
        cv2.putText(out, f"{fps:.0f} FPS", (8, out.shape[0] - 10), FONT, 0.6, TEXT_COLOUR, 2,
                    cv2.LINE_AA)
    return out
