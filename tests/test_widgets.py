"""Tests for the ipywidgets inspector, without a browser: drive its callbacks
(slider, order, worst button, checkboxes, augmentation, upload) and look at
what it drew: the rendered PNG's pixels and the points it reports."""
import cv2
import numpy as np
import pandas as pd
import pytest

from landmarklib import keypoints as kp
from landmarklib import metrics, models, widgets
from landmarklib.data import FaceSet

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
    meta = pd.DataFrame({"source": "test", "person": [f"p{i}" for i in range(N)]})
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
    pytest.importorskip("landmarklib.augment")
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


def test_bad_predictions_shape(faces):
    with pytest.raises(ValueError, match="'a'.*shape"):
        widgets.Inspector(faces, {"a": np.zeros((N - 1, 30))})


def test_upload_detects_crops_and_predicts(faces, predictions, shared_data):
    photo = sorted((shared_data / "youtube-faces" / "test").glob("*.jpg"))[0]
    mean = np.nanmean(faces.keypoints, axis=0)
    model = models.cnn(widths=(4,), dense=8, mean_keypoints=mean, name="tiny")
    inspector = widgets.Inspector(faces, predictions, models={"a": model}, recipes=[])
    result = inspector.inspect_photo(photo.read_bytes(), photo.name)
    assert result["crop"].shape == (96, 96) and result["crop"].dtype == np.uint8
    assert result["points"]["a"].shape == (30,)
    assert decode(inspector.upload_image.value).shape == (96 * widgets.SCALE,) * 2 + (3,)
    assert photo.name in inspector.upload_info.value and "face at" in inspector.upload_info.value
    # the upload callback takes ipywidgets 8's FileUpload value
    inspector._on_upload({"new": ({"name": "x.png", "content": memoryview(b"not an image")},)})
    assert "not a readable image" in inspector.upload_info.value
    ok, blank = cv2.imencode(".png", np.full((200, 200), 128, np.uint8))
    inspector.inspect_photo(blank.tobytes(), "blank.png")
    assert "no face found" in inspector.upload_info.value
