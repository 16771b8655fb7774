"""An ipywidgets inspector: where and why do the models fail, face by face.

    inspector = lm.widgets.Inspector.from_evaluation(evaluation, splits=("test", "test_mtfl"))
    inspector = lm.widgets.Inspector(faces, {"v2": pred_v2, "v4": pred_v4}, models={"v4": m})
    inspector.show()

Controls (anchors: FiftyOne's sample browser, TensorBoard's image dashboard):
the split; filters by MTFL attribute (pose, glasses, smile, gender) and
"failures only" (NME of the ranking model, the first ticked one, above a
threshold); the order of the slider (index, NME, one keypoint's error, the
gap between two models; reversible); a "worst" button; one checkbox per
model; ground truth on/off, lines from truth to prediction, keypoint numbers
(the table is their legend); a grid of the N worst / best / most
disagreeing faces whose buttons open a face; an augmentation preview; and an
upload of your own photo, shown whole with the detector box and the square
cropped from it, beside the 96 px crop the models see.

Drawing is plain OpenCV into PNGs (``inspector_draw``); which faces are shown
and in which order is plain numpy (``inspector_data``). A slider step
redraws in a few milliseconds (``redraw_ms``; benchmarks/inspector_speed.py).
Works with ipywidgets 7.7 (Colab) and 8.

Static viewers (papermill, GitHub) get a snapshot along with the widget
(``show(interactive=False)``: only the snapshot). Colab needs
``google.colab.output.enable_custom_widget_manager()``. See 04_evaluate.
"""
import base64
import html
import time

import ipywidgets as widgets
import numpy as np

from ..core import keypoints as kp
from ..data import augment
from . import inspector_data as data
from .inspector_upload import UPLOAD_ACCEPT, UploadPanel  # noqa: F401
from .inspector_draw import (CIRCLE_RADIUS, PANEL_GAP, SCALE, TRUTH_BGR,  # noqa: F401
                             augmented_view, blank_panel, css, encode_png, errors_html, fmt,
                             model_bgr, render_face, side_by_side, to_display)

ORDERS = ("index", "error (worst first)", "keypoint error", "model gap (A - B)")
AUGMENT_OFF = "off"
GRID_COUNT = 6               # faces in the grid
GRID_MAX = 24
THUMB_SCALE = 2              # grid thumbnails: display px per crop px
THUMB_WIDTH = "120px"
SPLIT = "faces"              # the split's name when a single FaceSet is given
STATIC_NOTE = ("Interactive inspector: open this notebook in JupyterLab, Jupyter Notebook or "
               "Colab to use it; below is a static snapshot of image {index}.")
NOTHING = "no face passes the filters"


class Inspector(UploadPanel):
    """Browse faces with ground truth and predictions; see the module docstring.

    Args:
        faces: a FaceSet, or a dict split name -> FaceSet (the split is then
            chosen in the UI).
        predictions: dict model name -> (N, 30) predicted keypoints (pixels);
            with a dict of splits, dict split -> dict model -> (N, 30).
        models: optional dict name -> keras.Model, used to predict on the
            augmented view and on uploaded photos.
        recipes: augmentation recipe names offered (default: all of
            ``landmarklib.augment.RECIPES``; none if that module is missing).
        scale: display pixels per crop pixel.
        title: a line above the controls.
    """

    def __init__(self, faces, predictions, models=None, recipes=None, scale=SCALE, title=""):
        if not isinstance(faces, dict):
            faces, predictions = {SPLIT: faces}, {SPLIT: predictions}
        self.splits = {s: data.prepare_split(s, f, predictions[s]) for s, f in faces.items()}
        names = list(next(iter(self.splits.values()))["predictions"])
        if any(list(part["predictions"]) != names for part in self.splits.values()):
            raise ValueError(f"every split needs predictions of the same models, {names}")
        self.models, self.scale = dict(models or {}), scale
        self.colors = model_bgr(names + [n for n in self.models if n not in names])
        self.drawn = {}         # what the last redraw drew (for tests and curious readers)
        self.upload_result = {}
        self.grid = []          # rows shown in the grid
        self._quiet = False
        self._use(next(iter(self.splits)))
        self._build(recipes if recipes is not None else _recipe_names(), title)
        self.select_split(self.split)

    @classmethod
    def from_evaluation(cls, evaluation, splits=("test", "test_mtfl"), **kwargs):
        """An inspector over several splits of an ``evaluate.Evaluation``, with its models."""
        kwargs.setdefault("models", evaluation.models())
        return cls({s: evaluation.faces(s) for s in splits},
                   {s: evaluation.predictions(s) for s in splits}, **kwargs)

    def _use(self, split):
        part = self.splits[split]
        self.split = split
        self.faces, self.predictions = part["faces"], part["predictions"]
        self.point_errors, self.nme = part["errors"], part["nme"]
        self.order = np.arange(len(self.faces))

    # --- widgets ---
    def _build(self, recipes, title):
        names = list(self.predictions)
        self.title = widgets.HTML(f"<b>{html.escape(title)}</b>" if title else "")
        self.split_box = widgets.Dropdown(options=list(self.splits), value=self.split,
                                          description="split", disabled=len(self.splits) == 1)
        self.filter_boxes = {a: widgets.Dropdown(options=[data.ALL], value=data.ALL,
                                                 description=a, layout={"width": "220px"})
                             for a in data.ATTRIBUTES}
        self.failures_box = widgets.Checkbox(value=False, description="failures only, NME >",
                                             indent=False, layout={"width": "auto"})
        self.threshold_box = widgets.FloatText(value=data.failure_threshold_default(),
                                               layout={"width": "70px"})
        self.order_box = widgets.Dropdown(options=ORDERS, value=ORDERS[0], description="order")
        self.keypoint_box = widgets.Dropdown(options=list(kp.NAMES), value=kp.NAMES[0],
                                             description="keypoint")
        self.gap_a = widgets.Dropdown(options=names, value=names[0] if names else None,
                                      description="A")
        self.gap_b = widgets.Dropdown(options=names, value=names[-1] if names else None,
                                      description="B")
        self.reverse_box = widgets.Checkbox(value=False, description="reverse", indent=False,
                                            layout={"width": "auto"})
        self.slider = widgets.IntSlider(value=0, min=0, max=len(self.faces) - 1,
                                        description="image", continuous_update=True)
        self.worst_button = widgets.Button(description="worst", tooltip="jump to the worst image")
        self.checks = {n: widgets.Checkbox(value=i == 0, description=n, indent=False,
                                           layout={"width": "auto"})
                       for i, n in enumerate(names)}
        self.truth_box = widgets.Checkbox(value=True, description="ground truth", indent=False,
                                          layout={"width": "auto"})
        self.lines_box = widgets.Checkbox(value=False, description="error lines", indent=False,
                                          layout={"width": "auto"})
        self.labels_box = widgets.Checkbox(value=False, description="keypoint numbers",
                                           indent=False, layout={"width": "auto"})
        self.augment_box = widgets.Dropdown(options=[AUGMENT_OFF, *recipes], value=AUGMENT_OFF,
                                            description="augment")
        self.seed_box = widgets.IntText(value=0, description="seed", layout={"width": "160px"})
        self.image = widgets.Image(format="png")
        self.info = widgets.HTML()
        self.table = widgets.HTML(layout={"margin": "0 0 0 12px"})
        self.grid_kind = widgets.Dropdown(options=data.GRID_KINDS, value=data.GRID_KINDS[0],
                                          description="grid")
        self.grid_count = widgets.BoundedIntText(value=GRID_COUNT, min=1, max=GRID_MAX,
                                                 description="faces", layout={"width": "160px"})
        self.grid_box = widgets.HBox()
        self._build_upload()
        self._connect()
        self.widget = widgets.VBox([
            self.title, widgets.HBox([self.split_box, self.failures_box, self.threshold_box]),
            widgets.HBox(list(self.filter_boxes.values())),
            widgets.HBox([self.order_box, self.keypoint_box, self.reverse_box]),
            widgets.HBox([self.gap_a, self.gap_b]),
            widgets.HBox([self.slider, self.worst_button]),
            widgets.HBox(list(self.checks.values())
                         + [self.truth_box, self.lines_box, self.labels_box]),
            widgets.HBox([self.augment_box, self.seed_box]), self.info,
            widgets.HBox([self.image, self.table]),
            widgets.HBox([self.grid_kind, self.grid_count]), self.grid_box,
            widgets.HBox([self.upload, self.upload_info]), self.upload_image])
        self.widget.add_class("lm-inspector")
        for widget, name in self._css_names():   # for browser tests and custom styles
            widget.add_class(f"lm-{name}")

    def _css_names(self):
        return [(self.split_box, "split"), (self.failures_box, "failures"),
                (self.threshold_box, "threshold"), (self.order_box, "order"),
                (self.keypoint_box, "keypoint"), (self.gap_a, "gap-a"), (self.gap_b, "gap-b"),
                (self.reverse_box, "reverse"), (self.worst_button, "worst"),
                (self.truth_box, "truth"), (self.lines_box, "lines"),
                (self.labels_box, "labels"), (self.augment_box, "augment"),
                (self.grid_kind, "grid-kind"), (self.grid_count, "grid-count"),
                (self.image, "picture"), (self.info, "info"), (self.upload, "upload-button"),
                (self.upload_image, "upload-picture"), (self.upload_info, "upload-info"),
                *[(box, f"filter-{a}") for a, box in self.filter_boxes.items()],
                *[(box, f"model-{n}") for n, box in self.checks.items()]]

    def _connect(self):
        def on(box, action):
            box.observe(lambda _: None if self._quiet else action(), names="value")

        on(self.slider, self.redraw)
        on(self.split_box, lambda: self.select_split(self.split_box.value))
        for box in (*self.filter_boxes.values(), self.failures_box, self.threshold_box,
                    self.order_box, self.keypoint_box, self.gap_a, self.gap_b, self.reverse_box,
                    *self.checks.values()):
            on(box, self._refilter)
        for box in (self.truth_box, self.lines_box, self.labels_box, self.augment_box,
                    self.seed_box):
            on(box, self.redraw)
        for box in (self.grid_kind, self.grid_count):
            on(box, self.regrid)
        self.worst_button.on_click(lambda _: self.go_to_worst())

    # --- state ---
    @property
    def index(self):
        """Row of the current split's faces shown now (None when the filters leave none)."""
        position = self.slider.value
        return int(self.order[position]) if position < len(self.order) else None

    @property
    def selected(self):
        """Names of the ticked models, in the order given."""
        return [n for n, box in self.checks.items() if box.value]

    @property
    def ranking_model(self):
        """The model whose per-image NME orders by error and decides failures."""
        selected = self.selected
        return selected[0] if selected else next(iter(self.predictions), None)

    def ranking(self):
        """Rows from the worst to the best NME of the ranking model (undefined last)."""
        name = self.ranking_model
        return np.arange(len(self.faces)) if name is None else data.descending(self.nme[name])

    def sort_values(self):
        """One value per face that orders the slider (largest first), None for index order."""
        order = self.order_box.value
        if self.ranking_model is None:
            return None
        if order == ORDERS[1]:
            return self.nme.get(self.ranking_model)
        if order == ORDERS[2]:
            return self.point_errors[self.ranking_model][:, kp.INDEX[self.keypoint_box.value]]
        if order == ORDERS[3]:
            return data.model_gap(self.nme[self.gap_a.value], self.nme[self.gap_b.value])
        return None

    def visible_rows(self):
        """Rows that pass the attribute and failure filters, in index order."""
        threshold = self.threshold_box.value if self.failures_box.value else None
        mask = data.filter_mask(self.faces.meta, {a: b.value for a, b in self.filter_boxes.items()},
                                self.nme.get(self.ranking_model), threshold)
        return np.flatnonzero(mask)

    def _refilter(self):
        """Recompute the filtered, sorted slider order, keeping the face on screen if it stays."""
        current = self.index
        self.order = data.ordered(self.visible_rows(), self.sort_values(), self.reverse_box.value)
        self._quiet = True
        try:
            self.slider.max = max(len(self.order) - 1, 0)
            kept = np.flatnonzero(self.order == current) if current is not None else []
            self.slider.value = int(kept[0]) if len(kept) else 0
            self.slider.disabled = len(self.order) == 0
        finally:
            self._quiet = False
        self.redraw()
        self.regrid()

    def select_split(self, split):
        """Show `split` (one of the names given); filters offer that split's attributes."""
        self._use(split)
        options = data.attribute_options(self.faces.meta)
        self._quiet = True
        try:
            self.split_box.value, self.slider.value = split, 0   # from the split's first face
            for attribute, box in self.filter_boxes.items():
                box.options = [data.ALL, *options.get(attribute, [])]
                box.value = data.ALL
                box.disabled = attribute not in options
        finally:
            self._quiet = False
        self._refilter()

    def go_to_worst(self):
        """Show the face with the largest NME of the ranking model among those shown."""
        if len(self.order):
            nme = self.nme[self.ranking_model][self.order]
            self.show_index(int(self.order[data.descending(nme)[0]]))

    def show_index(self, index):
        """Show row `index` of the current split (it must pass the filters)."""
        found = np.flatnonzero(self.order == index)
        if not len(found):
            raise ValueError(f"image {index} of {self.split!r} does not pass the filters")
        if self.slider.value == int(found[0]):
            self.redraw()
        self.slider.value = int(found[0])

    # --- drawing ---
    def redraw(self):
        """Draw the current face, its points and its error table."""
        i, names = self.index, self.selected
        if i is None:
            self.image.value = encode_png(blank_panel(NOTHING, self.scale))
            self.table.value, self.info.value = "", f'<span class="lm-index">{NOTHING}</span>'
            self.drawn = {"index": None, "points": {}}
            return
        truth = kp.as_points(self.faces.keypoints[i])
        points = {n: kp.as_points(self.predictions[n][i]) for n in names}
        layers = [(truth, TRUTH_BGR, "circle")] if self.truth_box.value else []
        layers += [(points[n], self.colors[n], "cross") for n in names]
        panels = [render_face(self.faces.images[i], layers, self.scale, truth=truth,
                              lines=self.lines_box.value, labels=self.labels_box.value)]
        augmented = self._augmented_panel(i, names)
        if augmented is not None:
            panels.append(augmented)
        self.image.value = encode_png(side_by_side(panels))
        self.table.value = errors_html({n: self.point_errors[n][i] for n in names},
                                       {n: self.nme[n][i] for n in names}, names, self.colors)
        self.info.value = self._info_html(i, names)
        self.drawn = {"index": i, "truth": truth if self.truth_box.value else None,
                      "points": points, "augmented": augmented is not None,
                      "lines": self.lines_box.value, "labels": self.labels_box.value}

    def _info_html(self, i, names):
        meta = self.faces.meta.iloc[i]
        where = ", ".join(f"{k} {meta[k]}" for k in ("source", "person", "file")
                          if k in meta and isinstance(meta[k], str))
        where += "".join(f", {a} {groups.get(int(meta[a]), meta[a])}"
                         for a, groups in data.ATTRIBUTES.items()
                         if a in meta and not np.isnan(float(meta[a])))
        legend = " ".join(f'<span style="color:{css(self.colors[n])}">&#10005; {html.escape(n)}'
                          f" NME {fmt(self.nme[n][i], '.2f')} %</span>" for n in names)
        truth = (f'<span style="color:{css(TRUTH_BGR)}">&#9711; ground truth</span> '
                 if self.truth_box.value else "")
        return (f'<span class="lm-index">image {i}</span> '
                f'(<span class="lm-position">{self.slider.value + 1} of {len(self.order)}</span>'
                f" shown of {len(self.faces)} in {html.escape(self.split)}, order: "
                f"{self.order_box.value})<br>{html.escape(where)}<br>{truth}{legend}")

    def _augmented_panel(self, i, names):
        """The face under the chosen augmentation recipe, or None when off."""
        if self.augment_box.value == AUGMENT_OFF:
            return None
        return augmented_view(self.faces, i, self.augment_box.value, self.seed_box.value,
                              {n: self.models[n] for n in names if n in self.models},
                              self.colors, self.truth_box.value, self.scale)

    def regrid(self):
        """Fill the grid with the N worst / best / most disagreeing faces shown."""
        names = self.selected
        spread = (data.disagreement([self.predictions[n] for n in names])
                  if len(names) >= 2 else None)
        nme = self.nme.get(self.ranking_model, np.full(len(self.faces), np.nan))
        self.grid = [int(r) for r in data.grid_rows(self.visible_rows(), nme, self.grid_kind.value,
                                                    self.grid_count.value, spread)]
        cells = []
        for row in self.grid:
            layers = [(kp.as_points(self.predictions[n][row]), self.colors[n], "cross")
                      for n in names]
            thumb = widgets.Image(value=encode_png(render_face(self.faces.images[row], layers,
                                                               THUMB_SCALE)),
                                  format="png", layout={"width": THUMB_WIDTH})
            button = widgets.Button(description=f"open {row}", layout={"width": THUMB_WIDTH},
                                    tooltip=f"image {row}, NME {fmt(nme[row], '.2f')} %")
            button.add_class("lm-grid-open")
            button.on_click(lambda _, r=row: self.show_index(r))
            cells.append(widgets.VBox([thumb, button]))
        if not cells:
            why = ("tick two models or more" if self.grid_kind.value == "most disagreeing"
                   else NOTHING)
            cells = [widgets.HTML(f'<span class="lm-grid-empty">{why}</span>')]
        old, self.grid_box.children = self.grid_box.children, cells
        for cell in old:  # free the front-end models of the old thumbnails
            for child in getattr(cell, "children", ()):
                child.close()
            cell.close()

    def redraw_ms(self, repeats=20):
        """Mean milliseconds of one slider step (redraw included)."""
        start = time.perf_counter()
        for _ in range(repeats):
            self.slider.value = (self.slider.value + 1) % max(len(self.order), 1)
        return 1000 * (time.perf_counter() - start) / repeats

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
        bundle = getattr(self.widget, "_repr_mimebundle_", lambda **_: None)(**kwargs) or {
            "application/vnd.jupyter.widget-view+json": {  # ipywidgets 7.x has no such method
                "version_major": 2, "version_minor": 0, "model_id": self.widget.model_id}}
        return {**bundle, "text/html": self.snapshot_html(),
                "image/png": base64.b64encode(self.image.value).decode("ascii"),
                "text/plain": STATIC_NOTE.format(index=self.index)}

    def show(self, interactive=True):
        """Display the inspector; with ``interactive=False`` only its static snapshot."""
        from IPython.display import HTML, display

        display(self if interactive else HTML(self.snapshot_html()))


def _recipe_names():
    """The augmentation recipes the inspector offers (``augment.RECIPES`` but "none")."""
    return [r for r in augment.RECIPES if r != "none"]
