"""The inspector's pictures and tables (``landmarklib.widgets``), drawn with plain OpenCV.

A redraw is one ``cv2.resize`` of a 96 px crop, a few dozen circles, crosses
and lines, and a PNG encode: a few milliseconds (benchmarks/inspector_speed.py).
"""
import html

import cv2
import numpy as np

from ..core import keypoints as kp
from ..data import augment
from ..data.pipeline import to_model_input
from ..inference.photo import to_photo
from ..inference.predict import predict
from .drawing import model_colors

SCALE = 4                    # display pixels per crop pixel
PANEL_GAP = 8                # display pixels between the face and the augmented face
TRUTH_BGR = (75, 180, 60)    # ground truth: green (the report's TRUTH_COLOR)
BOX_BGR = (0, 140, 255)      # an uploaded photo's detector box: orange
FRAME_BGR = (255, 0, 255)    # ... and the square cropped from it: magenta
LABEL_BGR = (255, 255, 255)  # keypoint numbers
CIRCLE_RADIUS = 5            # display px
CROSS_HALF = 5               # display px, half the arm of a prediction's cross
LINE_WIDTH = 2
ERROR_LINE_WIDTH = 1
LABEL_SCALE = 0.35           # cv2 font scale of the keypoint numbers
LABEL_OFFSET = (6, -6)       # display px from the point to its number
THUMB_SCALE = 1              # grid thumbnails: display px per crop px
PHOTO_WIDTH = 480            # an uploaded photo is drawn at most this wide


def model_bgr(names):
    """Dict name -> BGR colour, the same as the report's figures (``drawing.model_colors``).

    Args:
        names: model names, in the order that fixes their colours.
    """
    return {n: tuple(int(round(255 * c)) for c in rgba[2::-1])
            for n, rgba in model_colors(list(names)).items()}


def to_display(points, scale=SCALE):
    """Crop pixel centres -> display pixel centres (pixel j covers [j*s, (j+1)*s))."""
    return (np.asarray(points, dtype=np.float64) + 0.5) * scale - 0.5


def _ints(point):
    return int(round(point[0])), int(round(point[1]))


def _cross(canvas, c, color, half=CROSS_HALF):
    cv2.line(canvas, (c[0] - half, c[1] - half), (c[0] + half, c[1] + half), color, LINE_WIDTH)
    cv2.line(canvas, (c[0] - half, c[1] + half), (c[0] + half, c[1] - half), color, LINE_WIDTH)


def render_face(image, layers, scale=SCALE, truth=None, lines=False, labels=False):
    """A BGR uint8 picture of a 96x96 crop, `scale` times larger, with keypoints.

    Args:
        image: (96, 96) uint8 grayscale crop.
        layers: list of (points (15, 2) in crop pixels, BGR colour, "circle" or
            "cross"); NaN points are skipped.
        scale: display pixels per crop pixel.
        truth: (15, 2) ground truth; with `lines`, a thin line in each layer's
            colour joins every true point to that layer's point.
        lines: draw the truth-to-prediction lines.
        labels: write each keypoint's number (1-15, the table's legend) beside
            the truth point (or the first layer's point where truth is missing).
    """
    big = cv2.resize(np.asarray(image, dtype=np.uint8), None, fx=scale, fy=scale,
                     interpolation=cv2.INTER_NEAREST)
    canvas = cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)
    truth_display = None if truth is None else to_display(truth, scale)
    if lines and truth_display is not None:
        for points, color, marker in layers:
            if marker == "circle":
                continue
            for t, p in zip(truth_display, to_display(points, scale)):
                if not (np.isnan(t).any() or np.isnan(p).any()):
                    cv2.line(canvas, _ints(t), _ints(p), color, ERROR_LINE_WIDTH, cv2.LINE_8)
    for points, color, marker in layers:
        for point in to_display(points, scale):
            if np.isnan(point).any():
                continue
            if marker == "circle":
                cv2.circle(canvas, _ints(point), CIRCLE_RADIUS, color, LINE_WIDTH, cv2.LINE_AA)
            else:
                _cross(canvas, _ints(point), color)
    if labels and layers:
        anchors = truth_display if truth_display is not None else to_display(layers[0][0], scale)
        for number, point in enumerate(anchors, start=1):
            if not np.isnan(point).any():
                x, y = _ints(point)
                cv2.putText(canvas, str(number), (x + LABEL_OFFSET[0], y + LABEL_OFFSET[1]),
                            cv2.FONT_HERSHEY_SIMPLEX, LABEL_SCALE, LABEL_BGR, 1, cv2.LINE_AA)
    return canvas


def blank_panel(text, scale=SCALE):
    """A grey 96 px panel with a line of text (no face matches the filters)."""
    side = kp.IMAGE_SIZE * scale
    canvas = np.full((side, side, 3), 230, np.uint8)
    cv2.putText(canvas, text, (8, side // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1,
                cv2.LINE_AA)
    return canvas


def side_by_side(panels, gap=PANEL_GAP):
    """Concatenate BGR panels side by side with white gaps, padded to the tallest."""
    height = max(p.shape[0] for p in panels)
    padded = [p if p.shape[0] == height else
              np.concatenate([p, np.full((height - p.shape[0], p.shape[1], 3), 255, np.uint8)])
              for p in panels]
    spacer = np.full((height, gap, 3), 255, np.uint8)
    out = [padded[0]]
    for panel in padded[1:]:
        out += [spacer, panel]
    return np.concatenate(out, axis=1)


def encode_png(bgr):
    """A BGR array as PNG bytes."""
    ok, data = cv2.imencode(".png", bgr)
    if not ok:
        raise ValueError("could not encode the picture as PNG")
    return data.tobytes()


def photo_panel(photo, box, corners, to_photo, points=None, colors=None, width=PHOTO_WIDTH):
    """The whole uploaded photo with the detector box, the square cropped and the points.

    Args:
        photo: grayscale photo (H, W) uint8.
        box: detector box (x, y, w, h) in photo pixels.
        corners: (4, 2) corners of the (possibly rotated) square cropped, in photo pixels.
        to_photo: maps (N, 2) crop pixels to photo pixels.
        points: dict model -> (15, 2) points in crop pixels (mapped back to the photo).
        colors: dict model -> BGR colour.
        width: the photo is shrunk to at most this many pixels wide.
    """
    scale = min(1.0, width / photo.shape[1])
    small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
    x, y, w, h = (np.asarray(box, dtype=np.float64) * scale)
    cv2.rectangle(canvas, _ints((x, y)), _ints((x + w, y + h)), BOX_BGR, LINE_WIDTH)
    square = np.round(np.asarray(corners, dtype=np.float64) * scale).astype(np.int32)
    cv2.polylines(canvas, [square.reshape(-1, 1, 2)], True, FRAME_BGR, LINE_WIDTH)
    for name, pts in (points or {}).items():
        for point in to_photo(pts) * scale:
            if not np.isnan(point).any():
                _cross(canvas, _ints(point), colors[name], half=3)
    return canvas


def photo_view(found, points, colors, scale=SCALE):
    """An uploaded photo whole (box, square, points) beside its 96 px crop with the points.

    Args:
        found: ``inspector_data.crop_photo``'s dict (photo, box, framing, corners, crop).
        points: dict model -> (15, 2) points in crop pixels.
        colors: dict model -> BGR colour.
        scale: display pixels per crop pixel of the crop panel.
    """
    layers = [(p, colors[n], "cross") for n, p in points.items()]
    whole = photo_panel(found["photo"], found["box"], found["corners"],
                        lambda pts: to_photo(pts, found["framing"]), points, colors)
    return side_by_side([whole, render_face(found["crop"], layers, scale)])


def augmented_view(faces, i, recipe, seed, models, colors, truth=True, scale=SCALE):
    """Face `i` as the augmentation `recipe` would transform it in training, with its points.

    Args:
        faces: a FaceSet.
        i: the row.
        recipe: a name of ``landmarklib.augment.RECIPES``.
        seed: the augmentation's seed (another seed, another draw).
        models: dict name -> keras.Model that predict on the augmented face.
        colors: dict model -> BGR colour.
        truth: draw the transformed ground truth.
        scale: display pixels per crop pixel.
    """
    x, y = augment.augment_batch(to_model_input(faces.images[i:i + 1]),
                                 faces.keypoints[i:i + 1].astype(np.float32),
                                 augment.get_recipe(recipe), [seed, i])
    image = np.round(np.asarray(x)[0, ..., 0] * 255).astype(np.uint8)
    layers = [(kp.as_points(np.asarray(y)[0]), TRUTH_BGR, "circle")] if truth else []
    layers += [(kp.as_points(predict(m, image[None])[0]), colors[n], "cross")
               for n, m in models.items()]
    return render_face(image, layers, scale)


def errors_html(errors, nme, names, colors):
    """An HTML table: one row per keypoint (numbered as on the picture), one column per model.

    Args:
        errors: dict model -> (15,) point errors in px of the face shown.
        nme: dict model -> NME (%) of the face shown.
        names: the models, in column order.
        colors: dict model -> BGR colour.
    """
    head = "".join(f'<th style="color:{css(colors[n])}">{html.escape(n)}</th>' for n in names)
    rows = []
    for i, name in enumerate(kp.NAMES):
        cells = "".join(f"<td>{fmt(errors[n][i], '.2f')}</td>" for n in names)
        rows.append(f"<tr><td>{i + 1}</td><td>{name.replace('_', ' ')}</td>{cells}</tr>")
    total = "".join(f"<td><b>{fmt(nme[n], '.2f')}</b></td>" for n in names)
    rows.append(f"<tr><td></td><td><b>NME %</b></td>{total}</tr>")
    return ('<table class="lm-errors" style="font-size:12px">'
            f"<tr><th>#</th><th>error (px)</th>{head}</tr>{''.join(rows)}</table>")


def fmt(value, spec):
    """A number for HTML, or a dash when it is missing."""
    return "&ndash;" if value is None or np.isnan(value) else format(float(value), spec)


def css(bgr):
    """A BGR tuple as a CSS colour."""
    return "#{:02x}{:02x}{:02x}".format(bgr[2], bgr[1], bgr[0])
