"""Tests for the ipywidgets inspector, without a browser: drive its callbacks
(split, filters, orders, worst button, checkboxes, ground truth, lines,
numbers, grid, augmentation, upload) and look at what it drew: the rendered
PNG's pixels, the table and the points it reports."""
import cv2
import numpy as np
import pandas as pd
import pytest

import landmarklib as lm
from landmarklib import keypoints as kp
from landmarklib import metrics, models, widgets
from landmarklib.data import FaceSet
from landmarklib.evaluation import inspector_data as data
from landmarklib.evaluation import inspector_draw as draw

N = 8
SHIFT = {"a": 1.0, "b": -2.0}   # px added to every coordinate by each fake model


@pytest.fixture
def faces():
    """N flat grey faces, image i filled with value 20 * i; MTFL-like labels on row 3."""
    rng = np.random.default_rng(0)
    images = np.stack([np.full((96, 96), 20 * i, np.uint8) for i in range(N)])
    keypoints = rng.uniform(15, 80, (N, 2 * kp.NUM_KEYPOINTS)).astype(np.float32)
    points = kp.as_points(keypoints)
    points[:, 0] = (66, 38)   # eyes 36 px apart, so NME is defined
    points[:, 1] = (30, 38)
    points[3, 2:10] = np.nan  # row 3: eyebrows and eye corners unlabelled
    meta = pd.DataFrame({"source": "test", "person": [f"p{i}" for i in range(N)],
                         "pose": [3, 3, 1, 3, 5, 3, 3, 2],       # MTFL codes: 3 = frontal
                         "glasses": [2, 1, 2, 2, 1, 2, 2, 2],    # 1 = glasses
                         "smile": [1, 2] * 4, "gender": [1] * 4 + [2] * 4})
    return FaceSet(images, keypoints, meta)


@pytest.fixture
def predictions(faces):
    pred = {name: np.nan_to_num(faces.keypoints, nan=48.0) + shift
            for name, shift in SHIFT.items()}
    pred["a"][5] += 9.0  # image 5 is model a's worst
    pred["b"][2] += 9.0  # image 2 is model b's worst
    return pred


@pytest.fixture
def inspector(faces, predictions):
    return widgets.Inspector(faces, predictions, recipes=["v4"])


def decode(png):
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


def test_slider_draws_the_right_image_and_points(inspector, faces, predictions):
    for position in (0, 6, 3):
        inspector.slider.value = position
        picture = decode(inspector.image.value)
        assert picture.shape == (96 * widgets.SCALE, 96 * widgets.SCALE, 3)
        assert inspector.drawn["index"] == position
        assert tuple(picture[1, 1]) == (20 * position,) * 3  # the background is image i
        np.testing.assert_array_equal(inspector.drawn["points"]["a"],
                                      kp.as_points(predictions["a"][position]))
        # each predicted point is a cross in model a's colour, centred on its display pixel
        color = widgets.model_bgr(["a", "b"])["a"]
        for x, y in widgets.to_display(kp.as_points(predictions["a"][position])):
            assert tuple(picture[int(round(y)), int(round(x))]) == color
    # with no model ticked, each labelled truth point has a green ring about
    # CIRCLE_RADIUS to its right (with crosses drawn, a nearby cross may cover it)
    inspector.checks["a"].value = False
    for position in (0, 3):
        inspector.slider.value = position
        picture = decode(inspector.image.value)
        truth = kp.as_points(faces.keypoints[position])
        r = widgets.CIRCLE_RADIUS
        for x, y in widgets.to_display(truth[~np.isnan(truth).any(axis=1)]):
            ring = picture[int(round(y)), int(round(x)) + r - 1:int(round(x)) + r + 2].astype(int)
            greenness = ring[:, 1] - np.maximum(ring[:, 0], ring[:, 2])
            assert greenness.max() > 60


def test_error_table_and_info_follow_the_image(inspector, faces, predictions):
    inspector.slider.value = 3
    err = metrics.point_errors(faces.keypoints, predictions["a"])[3]
    table = inspector.table.value
    assert table.count("<tr>") == kp.NUM_KEYPOINTS + 2   # header, 15 keypoints, NME
    assert f"{err[0]:.2f}" in table and f"{err[14]:.2f}" in table
    assert table.count("&ndash;") == 8                      # the 8 unlabelled keypoints
    nme = metrics.nme_per_image(faces.keypoints, predictions["a"])[3]
    assert f"{nme:.2f}" in table and "image 3" in inspector.info.value
    inspector.slider.value = 4
    assert "&ndash;" not in inspector.table.value and "image 4" in inspector.info.value


def test_checkboxes_choose_the_models_drawn(inspector, predictions):
    colors = widgets.model_bgr(["a", "b"])
    assert inspector.selected == ["a"]
    inspector.checks["b"].value = True
    assert set(inspector.drawn["points"]) == {"a", "b"}
    assert '">b</th>' in inspector.table.value
    inspector.checks["a"].value = False
    picture = decode(inspector.image.value)
    assert set(inspector.drawn["points"]) == {"b"}
    for x, y in widgets.to_display(kp.as_points(predictions["b"][inspector.index])):
        assert tuple(picture[int(round(y)), int(round(x))]) == colors["b"]
    assert not (picture == np.array(colors["a"], np.uint8)).all(axis=-1).any()


def test_order_by_error_and_worst_button(inspector, faces, predictions):
    inspector.slider.value = 4
    inspector.order_box.value = "error (worst first)"
    assert inspector.index == 4                            # the same image stays on screen
    nme = metrics.nme_per_image(faces.keypoints, predictions["a"])
    assert (np.diff(nme[inspector.order]) <= 0).all()     # worst first
    inspector.slider.value = 0
    assert inspector.drawn["index"] == 5                   # model a's worst
    inspector.order_box.value = "index"
    assert inspector.index == 5 and inspector.slider.value == 5
    inspector.slider.value = 0
    inspector.worst_button.click()
    assert inspector.drawn["index"] == 5
    inspector.checks["a"].value = False                    # ranking now by model b
    inspector.checks["b"].value = True
    inspector.worst_button.click()
    assert inspector.drawn["index"] == 2


def test_augmented_view(inspector):
    pytest.importorskip("landmarklib.data.augment")
    inspector.augment_box.value = "v4"
    picture = decode(inspector.image.value)
    side = 96 * widgets.SCALE
    assert picture.shape == (side, 2 * side + widgets.PANEL_GAP, 3)
    assert inspector.drawn["augmented"]
    before = inspector.image.value
    inspector.seed_box.value = 7                           # another draw of the recipe
    assert inspector.image.value != before
    inspector.augment_box.value = widgets.AUGMENT_OFF
    assert decode(inspector.image.value).shape == (side, side, 3)


def test_redraw_is_fast(inspector):
    """A slider step with one model redraws in well under 100 ms."""
    inspector.redraw_ms(3)  # warm up
    assert inspector.redraw_ms(20) < 100


def test_static_fallback(inspector, monkeypatch):
    bundle = inspector._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle   # live frontends
    assert "Interactive inspector" in bundle["text/plain"]        # static viewers
    assert "<img" in bundle["text/html"] and "lm-errors" in bundle["text/html"]
    assert bundle["image/png"]
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    inspector.show(interactive=False)
    assert "Interactive inspector" in shown[0].data
    inspector.show()
    assert shown[1] is inspector


def test_bad_predictions_shape(faces, predictions):
    with pytest.raises(ValueError, match="'a'.*shape"):
        widgets.Inspector(faces, {"a": np.zeros((N - 1, 30))})
    with pytest.raises(ValueError, match="same models"):
        widgets.Inspector({"x": faces, "y": faces}, {"x": predictions, "y": {"a": predictions["a"]}})


def test_upload_detects_crops_and_predicts(faces, predictions, shared_data):
    photo = sorted((shared_data / "youtube-faces" / "test").glob("*.jpg"))[0]
    mean = np.nanmean(faces.keypoints, axis=0)
    model = models.cnn(widths=(4,), dense=8, mean_keypoints=mean, name="tiny")
    inspector = widgets.Inspector(faces, predictions, models={"a": model}, recipes=[])
    result = inspector.inspect_photo(photo.read_bytes(), photo.name)
    assert result["crop"].shape == (96, 96) and result["crop"].dtype == np.uint8
    # the same pipeline as predict-image and the video demo: same framing, same crop
    same = lm.photo.landmarks_in_photo(cv2.imread(str(photo)), model, max_faces=1)[0]
    assert result["framing"] == same.framing and np.array_equal(result["crop"], same.crop)
    assert result["points"]["a"].shape == (30,)
    picture = decode(inspector.upload_image.value)
    side = 96 * widgets.SCALE
    assert picture.shape[0] == max(side, result["photo"].shape[0])
    assert picture.shape[1] > side + 100          # the whole photo beside the 96 px crop
    assert photo.name in inspector.upload_info.value and "face at" in inspector.upload_info.value
    # the photo panel shows the detector box in orange at its place
    x, y, w, h = result["box"]
    scale = min(1.0, draw.PHOTO_WIDTH / result["photo"].shape[1])
    row = picture[int(round(y * scale)), int(x * scale) + 3:int((x + w) * scale) - 3]
    assert (np.abs(row.astype(int) - draw.BOX_BGR).sum(axis=1) < 40).mean() > 0.5
    # the upload callback takes both FileUpload values: ipywidgets 8 and 7
    inspector._on_upload({"new": ({"name": "x.png", "content": memoryview(b"not an image")},)})
    assert "x.png" in inspector.upload_info.value
    assert "not a readable image" in inspector.upload_info.value
    inspector._on_upload({"new": {photo.name: {"metadata": {"name": photo.name},
                                               "content": photo.read_bytes()}}})
    assert "face at" in inspector.upload_info.value
    ok, blank = cv2.imencode(".png", np.full((200, 200), 128, np.uint8))
    inspector.inspect_photo(blank.tobytes(), "blank.png")
    assert "no face found" in inspector.upload_info.value


# --- the new controls ---------------------------------------------------------------------


def test_normalise_upload_takes_both_ipywidgets_shapes():
    v7 = {"a.jpg": {"metadata": {"name": "a.jpg", "type": "image/jpeg", "size": 3},
                    "content": b"abc"}}
    v8 = ({"name": "a.jpg", "type": "image/jpeg", "size": 3, "content": memoryview(b"abc"),
           "last_modified": 0},)
    assert data.normalise_upload(v7) == data.normalise_upload(v8) == [("a.jpg", b"abc")]
    assert data.normalise_upload(()) == data.normalise_upload({}) == []
    with pytest.raises(ValueError, match="'a.jpg'.*'content'"):
        data.normalise_upload({"a.jpg": b"abc"})


def test_attribute_and_failure_filters(inspector, faces, predictions):
    assert inspector.filter_boxes["pose"].options == ("all", "left profile", "left", "frontal",
                                                      "right profile")
    inspector.filter_boxes["pose"].value = "frontal"
    assert list(inspector.order) == [0, 1, 3, 5, 6]
    inspector.filter_boxes["glasses"].value = "no glasses"
    assert list(inspector.order) == [0, 3, 5, 6]
    assert inspector.slider.max == 3 and "of 4</span>" in inspector.info.value
    inspector.slider.value = 3
    assert inspector.drawn["index"] == 6
    inspector.failures_box.value = True              # model a: image 5 is off by 9 px
    nme = metrics.nme_per_image(faces.keypoints, predictions["a"])
    assert list(inspector.order) == [r for r in (0, 3, 5, 6) if nme[r] > 10]
    inspector.threshold_box.value = 1000.0
    assert len(inspector.order) == 0 and inspector.drawn["index"] is None
    assert widgets.NOTHING in inspector.info.value
    inspector.failures_box.value = False
    inspector.filter_boxes["pose"].value = "all"
    inspector.filter_boxes["glasses"].value = "all"
    assert list(inspector.order) == list(range(N))


def test_split_chosen_in_the_ui(faces, predictions):
    other = FaceSet(faces.images[:3], faces.keypoints[:3],
                    pd.DataFrame({"source": ["ytf"] * 3}))
    inspector = widgets.Inspector({"test_mtfl": faces, "test": other},
                                  {"test_mtfl": predictions,
                                   "test": {n: p[:3] for n, p in predictions.items()}})
    assert inspector.split == "test_mtfl" and inspector.slider.max == N - 1
    inspector.slider.value = 6                        # beyond the other split's 3 faces
    inspector.filter_boxes["pose"].value = "frontal"
    inspector.split_box.value = "test"
    assert inspector.split == "test" and inspector.slider.max == 2
    assert inspector.filter_boxes["pose"].disabled              # no attributes on this split
    assert "in test" in inspector.info.value and inspector.drawn["index"] == 0
    inspector.slider.value = 2
    assert tuple(decode(inspector.image.value)[1, 1]) == (40, 40, 40)  # image 2 of `other`
    inspector.split_box.value = "test_mtfl"
    assert not inspector.filter_boxes["pose"].disabled and inspector.slider.max == N - 1


def test_sort_by_one_keypoint_and_by_model_gap(inspector, faces, predictions):
    noisy = predictions["a"] + np.random.default_rng(1).normal(0, 3, predictions["a"].shape)
    by_point = widgets.Inspector(faces, {"a": noisy}, recipes=[])
    by_point.order_box.value = "keypoint error"
    orders = {}
    for name in ("nose_tip", "left_eye_center"):
        by_point.keypoint_box.value = name
        err = metrics.point_errors(faces.keypoints, noisy)[:, kp.INDEX[name]]
        assert (np.diff(err[by_point.order]) <= 1e-6).all()    # largest error first
        orders[name] = list(by_point.order)
    assert orders["nose_tip"] != orders["left_eye_center"]
    by_point.reverse_box.value = True
    assert (np.diff(err[by_point.order]) >= -1e-6).all()
    inspector.order_box.value = "model gap (A - B)"
    inspector.gap_a.value, inspector.gap_b.value = "a", "b"
    gap = (metrics.nme_per_image(faces.keypoints, predictions["a"])
           - metrics.nme_per_image(faces.keypoints, predictions["b"]))
    assert inspector.order[0] == 5 and inspector.order[-1] == 2   # a loses most on 5, wins on 2
    assert (np.diff(gap[inspector.order]) <= 1e-6).all()
    inspector.gap_a.value, inspector.gap_b.value = "b", "a"
    assert inspector.order[0] == 2


def test_grid_of_worst_best_and_disagreeing_opens_a_face(inspector, faces, predictions):
    nme = metrics.nme_per_image(faces.keypoints, predictions["a"])
    inspector.grid_count.value = 3
    assert inspector.grid == list(np.argsort(-nme, kind="stable")[:3]) and inspector.grid[0] == 5
    cells = inspector.grid_box.children
    assert len(cells) == 3 and decode(cells[0].children[0].value).shape == (192, 192, 3)
    cells[1].children[1].click()                      # "open" the second worst
    assert inspector.drawn["index"] == inspector.grid[1]
    inspector.grid_kind.value = "best"
    assert inspector.grid == list(np.argsort(nme, kind="stable")[:3])
    inspector.grid_kind.value = "most disagreeing"
    assert "two models" in inspector.grid_box.children[0].value   # one model ticked
    inspector.checks["b"].value = True
    spread = data.disagreement([predictions["a"], predictions["b"]])
    assert inspector.grid[0] == int(np.argmax(spread)) and inspector.grid[0] in (2, 5)
    inspector.filter_boxes["pose"].value = "frontal"             # the grid follows the filters
    assert set(inspector.grid) <= {0, 1, 3, 5, 6}


def test_ground_truth_lines_and_numbers(inspector, faces):
    inspector.checks["a"].value = False
    inspector.slider.value = 4
    with_truth = decode(inspector.image.value)
    green = np.array(draw.TRUTH_BGR)
    assert (np.abs(with_truth.astype(int) - green).sum(axis=-1) < 30).sum() > 100
    inspector.truth_box.value = False
    without = decode(inspector.image.value)
    assert (np.abs(without.astype(int) - green).sum(axis=-1) < 30).sum() == 0
    assert inspector.drawn["truth"] is None and "ground truth" not in inspector.info.value
    inspector.truth_box.value = True
    inspector.checks["a"].value = True
    inspector.slider.value = 5                        # model a is 9 px off on every point
    plain = decode(inspector.image.value)
    inspector.lines_box.value = True                  # lines from truth to prediction
    lined = decode(inspector.image.value)
    color = np.array(widgets.model_bgr(["a", "b"])["a"])
    truth = widgets.to_display(kp.as_points(faces.keypoints[5]))
    pred = widgets.to_display(kp.as_points(inspector.predictions["a"][5]))
    checked = 0
    for t, p in zip(truth, pred):
        x, y = np.round(t + 0.5 * (p - t)).astype(int)   # half way between truth and cross
        if (plain[y - 1:y + 2, x - 1:x + 2] != 100).any():
            continue                                   # a marker is there (image 5 is flat 100)
        checked += 1
        assert np.abs(lined[y - 1:y + 2, x - 1:x + 2].astype(int) - color).sum(-1).min() < 60
    assert checked >= 10
    inspector.lines_box.value = False
    inspector.labels_box.value = True                 # keypoint numbers: white text
    labelled = decode(inspector.image.value)
    white = (labelled.min(axis=-1) > 200).sum() - (plain.min(axis=-1) > 200).sum()
    assert white > 50
    assert ">15</td><td>mouth center bottom lip" in inspector.table.value   # the legend


def test_no_detector_says_so(inspector, monkeypatch):
    import cv2

    def none_installed(name="auto"):
        raise ImportError("no face detector available; pip install mtcnn==1.0.0")

    monkeypatch.setattr(lm.photo, "default_detector", none_installed)
    ok, png = cv2.imencode(".png", np.full((120, 120), 128, np.uint8))
    result = inspector.inspect_photo(png.tobytes(), "me.png")
    assert "no face detector available" in result["error"]
    assert "no face detector available" in inspector.upload_info.value


def test_from_evaluation_offers_its_splits_and_models(faces, predictions):
    class FakeEvaluation:
        """What Inspector.from_evaluation uses of evaluate.Evaluation."""

        def faces(self, split):
            return faces if split == "test_mtfl" else faces[np.arange(4)]

        def predictions(self, split):
            rows = slice(None) if split == "test_mtfl" else slice(0, 4)
            return {n: p[rows] for n, p in predictions.items()}

        def models(self):
            return {}

    inspector = widgets.Inspector.from_evaluation(FakeEvaluation(), splits=("test", "test_mtfl"))
    assert list(inspector.split_box.options) == ["test", "test_mtfl"]
    assert inspector.split == "test" and inspector.slider.max == 3
    inspector.split_box.value = "test_mtfl"
    assert inspector.slider.max == N - 1 and inspector.models == {}
