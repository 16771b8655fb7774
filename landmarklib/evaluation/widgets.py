"""An ipywidgets inspector: look at a split image by image, with the ground
truth and the predictions of several models drawn on the face.

    inspector = lm.widgets.Inspector(faces, {"v2": pred_v2, "v4": pred_v4},
                                     models={"v4": model_v4})
    inspector.show()

Controls: a slider over the images, the order of the slider ("index" or
"error (worst first)", ranked by the first ticked model's NME), a "worst"
button, one checkbox per model, an optional augmentation recipe (the image
and its ground truth as ``landmarklib.augment`` would transform them in
training) and an upload button for your own photo (face found by
``landmarklib.detect``, cropped like the training data, predicted by the
given `models`).

Drawing is plain OpenCV into a PNG shown by an ``ipywidgets.Image``: no
matplotlib figure per change, so a redraw from cached prediction arrays takes
a few milliseconds (``redraw_ms``). Ground truth: green circles; each model:
a coloured cross (the colours of the report's figures).

Without a live frontend (papermill, nbconvert, GitHub) a widget cannot be
drawn. ``show`` therefore sends the widget *and* a static snapshot (PNG and an
HTML table) in one output: a Jupyter frontend draws the widget, a static
viewer shows the snapshot. ``show(interactive=False)`` (the notebook's
``interactive`` parameter) sends only the snapshot. In Colab, widgets need
``google.colab.output.enable_custom_widget_manager()`` (04_evaluate's setup
cell does it). See 04_evaluate, "Inspect the predictions".
"""
import base64
import html
import time

import cv2
import ipywidgets as widgets
import numpy as np

from ..core import keypoints as kp
from ..core import metrics

SCALE = 4                    # display pixels per crop pixel
PANEL_GAP = 8                # display pixels between the face and the augmented face
TRUTH_BGR = (75, 180, 60)    # ground truth: green (the report's TRUTH_COLOR)
CIRCLE_RADIUS = 5            # display px
CROSS_HALF = 5               # display px, half the arm of a prediction's cross
LINE_WIDTH = 2
ORDERS = ("index", "error (worst first)")
AUGMENT_OFF = "off"
UPLOAD_ACCEPT = "image/*"
STATIC_NOTE = ("Interactive inspector: open this notebook in JupyterLab, Jupyter Notebook or "
               "Colab to use it; below is a static snapshot of image {index}.")


# --- drawing ----------------------------------------------------------------------


def model_bgr(names):
    """Dict name -> BGR colour, the same as the report's figures (``plots.model_colors``)."""
    from .plots import model_colors

    return {n: tuple(int(round(255 * c)) for c in rgba[2::-1])
            for n, rgba in model_colors(list(names)).items()}


def to_display(points, scale=SCALE):
    """Crop pixel centres -> display pixel centres (pixel j covers [j*s, (j+1)*s))."""
    return (np.asarray(points, dtype=np.float64) + 0.5) * scale - 0.5


def render_face(image, layers, scale=SCALE):
    """A BGR uint8 picture of a 96x96 crop, `scale` times larger, with keypoints.

    `layers`: list of (points (15, 2) in crop pixels, BGR colour, "circle" or
    "cross"); NaN points are skipped.
    """
    big = cv2.resize(np.asarray(image, dtype=np.uint8), None, fx=scale, fy=scale,
                     interpolation=cv2.INTER_NEAREST)
    canvas = cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)
    for points, color, marker in layers:
        for x, y in to_display(points, scale):
            if np.isnan(x) or np.isnan(y):
                continue
            c = (int(round(x)), int(round(y)))
            if marker == "circle":
                cv2.circle(canvas, c, CIRCLE_RADIUS, color, LINE_WIDTH, cv2.LINE_AA)
            else:
                d = CROSS_HALF
                cv2.line(canvas, (c[0] - d, c[1] - d), (c[0] + d, c[1] + d), color, LINE_WIDTH)
                cv2.line(canvas, (c[0] - d, c[1] + d), (c[0] + d, c[1] - d), color, LINE_WIDTH)
    return canvas


def side_by_side(panels, gap=PANEL_GAP):
    """Concatenate BGR panels of equal height with white gaps."""
    spacer = np.full((panels[0].shape[0], gap, 3), 255, np.uint8)
    out = [panels[0]]
    for panel in panels[1:]:
        out += [spacer, panel]
    return np.concatenate(out, axis=1)


def encode_png(bgr):
    ok, data = cv2.imencode(".png", bgr)
    if not ok:
        raise ValueError("could not encode the picture as PNG")
    return data.tobytes()


def errors_html(errors, nme, names, colors):
    """An HTML table: one row per keypoint, one column per model (error in px)."""
    head = "".join(f'<th style="color:{_css(colors[n])}">{html.escape(n)}</th>' for n in names)
    rows = []
    for i, name in enumerate(kp.NAMES):
        cells = "".join(f"<td>{_fmt(errors[n][i], '.2f')}</td>" for n in names)
        rows.append(f"<tr><td>{name.replace('_', ' ')}</td>{cells}</tr>")
    total = "".join(f"<td><b>{_fmt(nme[n], '.2f')}</b></td>" for n in names)
    rows.append(f"<tr><td><b>NME %</b></td>{total}</tr>")
    return ('<table class="lm-errors" style="font-size:12px">'
            f"<tr><th>error (px)</th>{head}</tr>{''.join(rows)}</table>")


def _fmt(value, spec):
    return "&ndash;" if value is None or np.isnan(value) else format(float(value), spec)


def _css(bgr):
    return "#{:02x}{:02x}{:02x}".format(bgr[2], bgr[1], bgr[0])


# --- finding and cropping a face in a photo -------------------------------------------


def crop_photo(data):
    """Encoded image bytes -> (96x96 uint8 crop of the largest face, detector box).

    Raises ValueError when the bytes are not an image or no face is found.
    """
    from ..data.crop import crop_face, to_gray
    from ..inference.detect import FaceDetector, box_to_frame

    image = cv2.imdecode(np.frombuffer(bytes(data), np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError("not a readable image (JPEG or PNG expected)")
    gray = to_gray(image)
    boxes = FaceDetector().detect(gray, max_faces=1)
    if len(boxes) == 0:
        raise ValueError("no face found (the detector looks for frontal faces)")
    unlabelled = np.full(2 * kp.NUM_KEYPOINTS, np.nan, np.float32)
    crop, _ = crop_face(gray, unlabelled, box=box_to_frame(boxes[0]))
    return crop, boxes[0]


# --- the inspector ----------------------------------------------------------------------


class Inspector:
    """Browse `faces` with ground truth and predictions; see the module docstring.

    Args:
        faces: a FaceSet (images, keypoints with NaN for unlabelled, meta).
        predictions: dict model name -> (N, 30) predicted keypoints (pixels).
        models: optional dict name -> keras.Model, used to predict on the
            augmented view and on uploaded photos.
        recipes: augmentation recipe names offered (default: all of
            ``landmarklib.augment.RECIPES``; none if that module is missing).
        scale: display pixels per crop pixel.
        title: a line above the controls.
    """

    def __init__(self, faces, predictions, models=None, recipes=None, scale=SCALE, title=""):
        if len(faces) == 0:
            raise ValueError("Inspector needs at least one face")
        self.faces = faces
        self.predictions = {}
        for name, pred in predictions.items():
            pred = np.asarray(pred, dtype=np.float32)
            if pred.shape != faces.keypoints.shape:
                raise ValueError(f"predictions of {name!r} have shape {pred.shape}, "
                                 f"expected {faces.keypoints.shape} (one row per face)")
            self.predictions[name] = pred
        self.models = dict(models or {})
        self.scale = scale
        self.colors = model_bgr(list(self.predictions) + list(self.models))
        self.point_errors = {n: metrics.point_errors(faces.keypoints, p)
                             for n, p in self.predictions.items()}
        self.nme = {n: metrics.nme_per_image(faces.keypoints, p)
                    for n, p in self.predictions.items()}
        self.order = np.arange(len(faces))
        self.drawn = {}        # what the last redraw drew (for tests and curious readers)
        self.upload_result = {}
        self._build(recipes if recipes is not None else _recipe_names(), title)
        self.redraw()

    # --- widgets ---
    def _build(self, recipes, title):
        self.title = widgets.HTML(f"<b>{html.escape(title)}</b>" if title else "")
        self.order_box = widgets.Dropdown(options=ORDERS, value=ORDERS[0], description="order")
        self.slider = widgets.IntSlider(value=0, min=0, max=len(self.faces) - 1,
                                        description="image", continuous_update=True)
        self.worst_button = widgets.Button(description="worst", tooltip="jump to the worst image")
        self.checks = {n: widgets.Checkbox(value=i == 0, description=n, indent=False,
                                           layout={"width": "auto"})
                       for i, n in enumerate(self.predictions)}
        self.augment_box = widgets.Dropdown(options=[AUGMENT_OFF, *recipes], value=AUGMENT_OFF,
                                            description="augment")
        self.seed_box = widgets.IntText(value=0, description="seed", layout={"width": "160px"})
        self.image = widgets.Image(format="png")
        self.info = widgets.HTML()
        self.table = widgets.HTML(layout={"margin": "0 0 0 12px"})
        self.upload = widgets.FileUpload(accept=UPLOAD_ACCEPT, multiple=False,
                                         description="your photo")
        self.upload_image = widgets.Image(format="png", layout={"display": "none"})
        self.upload_info = widgets.HTML()

        self.slider.observe(lambda _: self.redraw(), names="value")
        self.order_box.observe(lambda _: self._reorder(), names="value")
        self.worst_button.on_click(lambda _: self.go_to_worst())
        for box in self.checks.values():
            box.observe(lambda _: self._reorder(), names="value")
        self.augment_box.observe(lambda _: self.redraw(), names="value")
        self.seed_box.observe(lambda _: self.redraw(), names="value")
        self.upload.observe(self._on_upload, names="value")

        controls = widgets.VBox([self.title, self.order_box,
                                 widgets.HBox([self.slider, self.worst_button]),
                                 widgets.HBox(list(self.checks.values())),
                                 widgets.HBox([self.augment_box, self.seed_box]),
                                 self.info])
        self.widget = widgets.VBox([
            controls, widgets.HBox([self.image, self.table]),
            widgets.HBox([self.upload, self.upload_info]), self.upload_image])
        self.widget.add_class("lm-inspector")

    # --- state ---
    @property
    def index(self):
        """Row of `faces` shown now."""
        return int(self.order[self.slider.value])

    @property
    def selected(self):
        """Names of the ticked models, in the order given."""
        return [n for n, box in self.checks.items() if box.value]

    @property
    def ranking_model(self):
        """The model whose per-image NME orders "error (worst first)"."""
        selected = self.selected
        return selected[0] if selected else next(iter(self.predictions), None)

    def ranking(self):
        """Rows from the worst to the best NME of the ranking model (undefined last)."""
        name = self.ranking_model
        if name is None:
            return np.arange(len(self.faces))
        nme = self.nme[name]
        return np.argsort(np.where(np.isnan(nme), -np.inf, -nme), kind="stable")

    def _reorder(self):
        """Recompute the slider order, keeping the same image on screen."""
        current = self.index
        self.order = (self.ranking() if self.order_box.value == ORDERS[1]
                      else np.arange(len(self.faces)))
        position = int(np.flatnonzero(self.order == current)[0])
        if position != self.slider.value:
            self.slider.value = position  # triggers a redraw
        else:
            self.redraw()

    def go_to_worst(self):
        """Show the image with the largest NME of the ranking model."""
        worst = int(self.ranking()[0])
        self.slider.value = int(np.flatnonzero(self.order == worst)[0])

    def show_index(self, index):
        """Show row `index` of `faces` (whatever the order)."""
        self.slider.value = int(np.flatnonzero(self.order == index)[0])

    # --- drawing ---
    def redraw(self):
        """Draw the current image, its points and its error table."""
        i = self.index
        names = self.selected
        truth = kp.as_points(self.faces.keypoints[i])
        points = {n: kp.as_points(self.predictions[n][i]) for n in names}
        layers = [(truth, TRUTH_BGR, "circle")]
        layers += [(points[n], self.colors[n], "cross") for n in names]
        panels = [render_face(self.faces.images[i], layers, self.scale)]
        augmented = self._augmented_panel(i, names)
        if augmented is not None:
            panels.append(augmented)
        self.image.value = encode_png(side_by_side(panels))
        self.table.value = errors_html({n: self.point_errors[n][i] for n in names},
                                       {n: self.nme[n][i] for n in names}, names, self.colors)
        self.info.value = self._info_html(i, names)
        self.drawn = {"index": i, "truth": truth, "points": points,
                      "augmented": augmented is not None}

    def _info_html(self, i, names):
        meta = self.faces.meta.iloc[i]
        where = ", ".join(f"{k} {meta[k]}" for k in ("source", "person", "file")
                          if k in meta and isinstance(meta[k], str))
        legend = " ".join(f'<span style="color:{_css(self.colors[n])}">&#10005; {html.escape(n)}'
                          f" NME {_fmt(self.nme[n][i], '.2f')} %</span>" for n in names)
        return (f'<span class="lm-index">image {i}</span> '
                f"({self.slider.value + 1} of {len(self.faces)}, order: {self.order_box.value})"
                f"<br>{html.escape(where)}<br>"
                f'<span style="color:{_css(TRUTH_BGR)}">&#9711; ground truth</span> {legend}')

    def _augmented_panel(self, i, names):
        """The face under the chosen augmentation recipe, or None when off."""
        recipe = self.augment_box.value
        if recipe == AUGMENT_OFF:
            return None
        from ..data import augment
        from ..data.pipeline import to_model_input
        from ..inference.predict import predict

        x, y = augment.augment_batch(to_model_input(self.faces.images[i:i + 1]),
                                     self.faces.keypoints[i:i + 1].astype(np.float32),
                                     augment.get_recipe(recipe), [self.seed_box.value, i])
        image = np.round(np.asarray(x)[0, ..., 0] * 255).astype(np.uint8)
        layers = [(kp.as_points(np.asarray(y)[0]), TRUTH_BGR, "circle")]
        layers += [(kp.as_points(predict(self.models[n], image[None])[0]), self.colors[n],
                    "cross") for n in names if n in self.models]
        return render_face(image, layers, self.scale)

    def redraw_ms(self, repeats=20):
        """Mean milliseconds of one slider step (redraw included)."""
        start = time.perf_counter()
        for k in range(repeats):
            self.slider.value = (self.slider.value + 1) % len(self.faces)
        return 1000 * (time.perf_counter() - start) / repeats

    # --- your own photo ---
    def _on_upload(self, change):
        for item in change["new"] or ():
            self.inspect_photo(item["content"], item.get("name", "upload"))

    def inspect_photo(self, data, name="photo"):
        """Find the face in an encoded photo, crop it, predict with `models`, draw it."""
        try:
            crop, box = crop_photo(data)
        except ValueError as err:
            self.upload_info.value = f"<b>{html.escape(name)}</b>: {html.escape(str(err))}"
            self.upload_result = {"error": str(err)}
            return self.upload_result
        from ..inference.predict import predict

        points = {n: predict(m, crop[None])[0] for n, m in self.models.items()}
        layers = [(kp.as_points(p), self.colors[n], "cross") for n, p in points.items()]
        self.upload_image.value = encode_png(render_face(crop, layers, self.scale))
        self.upload_image.layout.display = None  # shown from the first photo on
        note = ("" if self.models else
                " (no models given: pass models=... to the Inspector to predict)")
        self.upload_info.value = (f"<b>{html.escape(name)}</b>: face at x={box[0]:.0f}, "
                                  f"y={box[1]:.0f}, {box[2]:.0f} px wide{note}")
        self.upload_result = {"crop": crop, "box": box, "points": points}
        return self.upload_result

    # --- display ---
    def snapshot_html(self):
        """The static form: a note, the current picture and its error table."""
        png = base64.b64encode(self.image.value).decode("ascii")
        return (f"<p>{html.escape(STATIC_NOTE.format(index=self.index))}</p>"
                f"<div>{self.info.value}</div>"
                f'<div style="display:flex;gap:12px"><img src="data:image/png;base64,{png}"/>'
                f"{self.table.value}</div>")

    def _repr_mimebundle_(self, **kwargs):
        """Widget for live frontends, snapshot (HTML, PNG, text) for static viewers."""
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        return {**bundle, "text/html": self.snapshot_html(),
                "image/png": base64.b64encode(self.image.value).decode("ascii"),
                "text/plain": STATIC_NOTE.format(index=self.index)}

    def show(self, interactive=True):
        """Display the inspector; with ``interactive=False`` only its static snapshot."""
        from IPython.display import HTML, display

        display(self if interactive else HTML(self.snapshot_html()))


def _recipe_names():
    """Augmentation recipes to offer: those of landmarklib.augment, if it is there."""
    try:
        from ..data import augment
    except ImportError:
        return []
    return [r for r in augment.RECIPES if r != "none"]
