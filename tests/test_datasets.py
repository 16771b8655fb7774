"""Datasets: the Kaggle CSV reader/writer, image reading, the face crop, the
faces15 split and the cache."""
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from landmarklib import keypoints as kp
from landmarklib.data import (BadRowError, FaceSet, crop_face, crop_to_source, face_frame,
                                  find_root, load_dataset, load_splits, read_gray,
                                  read_kaggle_csv, read_mtfl_list, source_to_crop,
                                  write_kaggle_csv)
from landmarklib.data import registry
from landmarklib.data.crop import ImageReadError

from test_keypoints import EXPECTED

BAD_ROW = 2           # 0-based data row that the malformed-file tests break
BAD_LINE = BAD_ROW + 2  # as an editor counts: the header is line 1
PNG_MAGIC = b"\x89PNG"
# Kaggle training.csv means quoted in issue 2 (crop px); the framing aims at them.
MOUTH = ("mouth_left_corner", "mouth_right_corner", "mouth_center_top_lip",
         "mouth_center_bottom_lip")
KAGGLE_MEANS = {"left_eye_center": (66.4, 37.7), "right_eye_center": (30.3, 38.0),
                "nose_tip": (48.4, 62.7), "mouth_center_bottom_lip": (48.6, 79.0)}


# --- Kaggle CSV: round trip ----------------------------------------------------

def test_round_trip_is_identical(tiny_faces, tmp_path):
    path = write_kaggle_csv(tiny_faces, tmp_path / "faces.csv")
    back = read_kaggle_csv(path)
    np.testing.assert_array_equal(back.images, tiny_faces.images)
    np.testing.assert_array_equal(back.keypoints, tiny_faces.keypoints)  # NaN == NaN here
    assert back.keypoints.dtype == np.float32 and back.images.dtype == np.uint8
    assert back.mask.sum() == tiny_faces.mask.sum()
    assert back.meta.attrs["skipped_rows"] == 0


def test_written_pixels_are_ints_0_to_255(tiny_faces, tmp_path):
    tiny_faces.images[0, 0, :2] = (0, 255)
    path = write_kaggle_csv(tiny_faces, tmp_path / "faces.csv")
    table = pd.read_csv(path)
    assert list(table.columns) == list(kp.COLUMNS) + ["Image"]
    for text in table["Image"]:
        pixels = text.split(" ")
        assert len(pixels) == 96 * 96
        assert all(p.isdigit() and 0 <= int(p) <= 255 for p in pixels)
    assert table["Image"][0].startswith("0 255 ")
    assert table.iloc[5, :30].isna().all()  # the unlabelled row is blank, not 0


def test_test_csv_layout_round_trip(tiny_faces, tmp_path):
    tiny_faces.meta["ImageId"] = np.arange(1, len(tiny_faces) + 1)
    path = write_kaggle_csv(tiny_faces, tmp_path / "test.csv", with_keypoints=False)
    assert pd.read_csv(path).columns.tolist() == ["ImageId", "Image"]
    back = read_kaggle_csv(path)
    np.testing.assert_array_equal(back.images, tiny_faces.images)
    assert back.meta["ImageId"].tolist() == list(range(1, len(tiny_faces) + 1))
    assert np.isnan(back.keypoints).all()


# --- Kaggle CSV: malformed rows ---------------------------------------------------

def _replace_pixels(text, how):
    pixels = text.split(" ")
    if how == "drop":
        pixels = pixels[:-1]
    else:
        pixels[7] = how
    return " ".join(pixels)


MALFORMED = {
    # case: (column to break, new cell value from the old one, expected words)
    "wrong pixel count": ("Image", lambda v: _replace_pixels(v, "drop"), "expected 9216 pixels"),
    "non-numeric pixel": ("Image", lambda v: _replace_pixels(v, "x7"), "not a number"),
    "pixel above 255": ("Image", lambda v: _replace_pixels(v, "256"), "outside the range 0-255"),
    "negative pixel": ("Image", lambda v: _replace_pixels(v, "-1"), "outside the range 0-255"),
    "fractional pixel": ("Image", lambda v: _replace_pixels(v, "3.5"), "not an integer"),
    "empty image": ("Image", lambda v: "", "empty"),
    "non-numeric keypoint": ("nose_tip_y", lambda v: "abc", "expected a pixel coordinate"),
    "infinite keypoint": ("nose_tip_y", lambda v: "inf", "in [-1, 97] or blank, got 'inf'"),
    "huge keypoint": ("nose_tip_x", lambda v: "1e9", "in [-1, 97] or blank, got '1e9'"),
    "negative keypoint": ("mouth_left_corner_x", lambda v: "-40", "got '-40'"),
}


def write_broken(faces, tmp_path, column, change, rows=(BAD_ROW,)):
    """Write `faces` as CSV, then replace `column` in `rows` by change(old value)."""
    path = write_kaggle_csv(faces, tmp_path / "broken.csv")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for row in rows:
        table.loc[row, column] = change(table.loc[row, column])
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_row_error_names_file_line_and_column(case, tiny_faces, tmp_path):
    column, change, words = MALFORMED[case]
    path = write_broken(tiny_faces, tmp_path, column, change)
    with pytest.raises(BadRowError) as info:
        read_kaggle_csv(path)
    message = str(info.value)
    assert str(path) in message
    assert f"line {BAD_LINE}" in message
    assert repr(column) in message
    assert words in message
    assert "Traceback" not in message


@pytest.mark.parametrize("case", MALFORMED)
def test_skip_drops_bad_rows_and_counts_them(case, tiny_faces, tmp_path):
    column, change, _ = MALFORMED[case]
    path = write_broken(tiny_faces, tmp_path, column, change, rows=(BAD_ROW, BAD_ROW + 2))
    faces = read_kaggle_csv(path, on_bad_row="skip")
    assert faces.meta.attrs["skipped_rows"] == 2
    kept = [i for i in range(len(tiny_faces)) if i not in (BAD_ROW, BAD_ROW + 2)]
    assert faces.meta["row"].tolist() == kept
    np.testing.assert_array_equal(faces.images, tiny_faces.images[kept])
    np.testing.assert_array_equal(faces.keypoints, tiny_faces.keypoints[kept])


def test_several_bad_rows_report_the_first_and_a_count(tiny_faces, tmp_path):
    column, change, _ = MALFORMED["pixel above 255"]
    path = write_broken(tiny_faces, tmp_path, column, change, rows=(BAD_ROW, BAD_ROW + 2))
    with pytest.raises(BadRowError, match=rf"line {BAD_LINE}, .*\(1 more bad rows\)"):
        read_kaggle_csv(path)


def test_row_missing_a_comma_is_one_short_line(tiny_faces, tmp_path):
    path = write_kaggle_csv(tiny_faces, tmp_path / "faces.csv")
    lines = path.read_text().splitlines()
    row = lines[BAD_LINE - 1]
    cut = row.rfind(",")  # the comma before the 9216-pixel image
    lines[BAD_LINE - 1] = row[:cut] + row[cut + 1:]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(BadRowError) as info:
        read_kaggle_csv(path)
    message = str(info.value)
    assert len(message) < 300 and "\n" not in message, message[:500]
    assert f"faces.csv, line {BAD_LINE}: expected 31 comma-separated fields" in message
    assert "got 30" in message


def test_non_numeric_image_id_is_named(tiny_faces, tmp_path):
    tiny_faces.meta["ImageId"] = np.arange(1, len(tiny_faces) + 1)
    path = write_kaggle_csv(tiny_faces, tmp_path / "test.csv", with_keypoints=False)
    table = pd.read_csv(path, dtype=str)
    table.loc[BAD_ROW, "ImageId"] = "seven"
    table.to_csv(path, index=False)
    with pytest.raises(BadRowError, match=rf"test.csv, line {BAD_LINE}, column 'ImageId': "
                                          r"expected an integer id, got 'seven'"):
        read_kaggle_csv(path)
    assert read_kaggle_csv(path, on_bad_row="skip").meta["ImageId"].tolist() == [1, 2, 4, 5, 6]


def test_unknown_column_is_named(tiny_faces, tmp_path):
    path = write_kaggle_csv(tiny_faces, tmp_path / "faces.csv")
    table = pd.read_csv(path).rename(columns={"nose_tip_x": "nose_x"})
    table.to_csv(path, index=False)
    for mode in ("raise", "skip"):  # a wrong header is not a bad row: never skipped
        with pytest.raises(BadRowError, match=r"faces.csv, line 1: unknown columns \['nose_x'\]"):
            read_kaggle_csv(path, on_bad_row=mode)


def test_missing_file_and_bad_option(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.csv"):
        read_kaggle_csv(tmp_path / "nothing.csv")
    with pytest.raises(ValueError, match="on_bad_row"):
        read_kaggle_csv(tmp_path / "nothing.csv", on_bad_row="ignore")


# --- reading images ---------------------------------------------------------------

BGR = (50, 100, 200)  # blue, green, red as OpenCV stores them
GRAY_OF_BGR = 0.114 * 50 + 0.587 * 100 + 0.299 * 200  # ITU-R 601 luma, as OpenCV


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_images_in_0_1_are_scaled_not_black(dtype):
    from landmarklib.data.crop import to_gray, to_uint8
    from landmarklib.data.pipeline import check_images

    image = np.linspace(0, 1, 96 * 96, dtype=dtype).reshape(96, 96)
    for converted in (to_uint8(image), to_gray(image), check_images(image[None])[0]):
        assert converted.dtype == np.uint8
        assert converted.min() == 0 and converted.max() == 255
    np.testing.assert_array_equal(to_uint8(image * 255), to_uint8(image))
    with pytest.raises(ValueError, match=r"expected pixels in \[0, 1\] .* got values from -2 to 3"):
        to_uint8(np.full((2, 2), 3.0) - np.eye(2) * 5)


def test_rgba_png_named_jpg_is_read(tmp_path):
    image = np.zeros((20, 30, 4), np.uint8)
    image[..., :3] = BGR
    image[..., 3] = 128  # half transparent: alpha is ignored, not blended
    png = tmp_path / "face.png"
    cv2.imwrite(str(png), image)
    misnamed = png.rename(tmp_path / "face.jpg")
    gray = read_gray(misnamed)
    assert gray.shape == (20, 30) and gray.dtype == np.uint8
    assert abs(int(gray[5, 5]) - GRAY_OF_BGR) <= 1


def test_gray_png_and_rgb_jpeg_are_read(tmp_path):
    gray_png = tmp_path / "gray.png"
    cv2.imwrite(str(gray_png), np.full((10, 12), 77, np.uint8))
    assert read_gray(gray_png).tolist() == np.full((10, 12), 77).tolist()
    jpeg = tmp_path / "rgb.jpg"
    cv2.imwrite(str(jpeg), np.full((16, 16, 3), BGR, np.uint8))
    gray = read_gray(jpeg)
    assert gray.shape == (16, 16)
    assert abs(float(gray.mean()) - GRAY_OF_BGR) <= 3  # JPEG is lossy


def test_unreadable_and_missing_images_name_the_file(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    with pytest.raises(ImageReadError, match="broken.jpg"):
        read_gray(broken)
    with pytest.raises(FileNotFoundError, match="absent.jpg"):
        read_gray(tmp_path / "absent.jpg")


def test_real_rgba_png_with_jpg_name(shared_data):
    """The public YouTube-Faces download stores RGBA PNGs under .jpg names."""
    folder = shared_data / "youtube-faces" / "training"
    path = next((p for p in sorted(folder.glob("*.jpg"))
                 if p.open("rb").read(4) == PNG_MAGIC), None)
    if path is None:
        pytest.skip("no PNG-in-.jpg file in this copy of YouTube-Faces")
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert raw.ndim == 3 and raw.shape[2] == 4
    gray = read_gray(path)
    assert gray.shape == raw.shape[:2] and gray.std() > 10


# --- cropping -----------------------------------------------------------------

def kaggle_like_face(scale, offset):
    """Kaggle vector of the synthetic face (EXPECTED), scaled and shifted in a photo."""
    points = np.array([EXPECTED[n] for n in kp.NAMES], dtype=np.float64)
    return (points * scale + offset).reshape(-1)


def draw_dot(shape, x, y, radius):
    """Black image with a white disc of `radius` px centred on pixel (x, y)."""
    image = np.zeros(shape, np.uint8)
    cv2.circle(image, (int(x), int(y)), radius, 255, thickness=-1)
    return image


@pytest.mark.parametrize("scale, radius", [(3.0, 2), (0.6, 0)])  # shrink and enlarge
@pytest.mark.parametrize("name", ["nose_tip", "left_eye_outer_corner", "mouth_right_corner"])
def test_crop_moves_points_with_pixels(scale, radius, name):
    keypoints = kaggle_like_face(scale, offset=(41, 17))
    x, y = keypoints[2 * kp.INDEX[name]:2 * kp.INDEX[name] + 2]
    keypoints[2 * kp.INDEX[name]:2 * kp.INDEX[name] + 2] = np.round((x, y))  # dot on a pixel
    photo = draw_dot((int(120 * scale) + 40, int(110 * scale) + 60), *np.round((x, y)), radius)
    crop, points = crop_face(photo, keypoints)
    assert crop.shape == (96, 96) and crop.dtype == np.uint8
    row, col = np.unravel_index(crop.argmax(), crop.shape)
    expected = kp.as_points(points)[kp.INDEX[name]]
    assert np.hypot(col - expected[0], row - expected[1]) <= 1.0, (col, row, expected)


@pytest.mark.parametrize("scale", [0.5, 1.0, 3.7])
def test_eyes_mouth_midpoint_lands_exactly_on_the_face_axis(scale):
    keypoints = kaggle_like_face(scale, offset=(13.3, 7.9))
    pts = source_to_crop(kp.as_points(keypoints), face_frame(keypoints))
    eyes = (pts[kp.INDEX["left_eye_center"]] + pts[kp.INDEX["right_eye_center"]]) / 2
    mouth = pts[[kp.INDEX[n] for n in MOUTH]].mean(axis=0)
    np.testing.assert_allclose((eyes + mouth) / 2, (kp.FACE_AXIS_X, 57.0), atol=1e-9)


def test_framing_matches_kaggle_means():
    """A face with Kaggle's proportions lands near Kaggle's means at any size and place."""
    for scale, offset in [(2.5, (100, 40)), (1.0, (0, 0)), (0.7, (5, 9))]:
        keypoints = kaggle_like_face(scale, offset)
        got = source_to_crop(kp.as_points(keypoints), face_frame(keypoints))
        for name, mean in KAGGLE_MEANS.items():
            np.testing.assert_allclose(got[kp.INDEX[name]], mean, atol=2.0, err_msg=name)
        eyes = got[kp.INDEX["left_eye_center"], 0] - got[kp.INDEX["right_eye_center"], 0]
        assert eyes == pytest.approx(36, abs=0.5)


def test_profile_face_is_not_given_a_tiny_box():
    frontal = kaggle_like_face(2.0, offset=(50, 50))
    profile = kp.as_points(frontal.copy())
    eyes = [kp.INDEX["left_eye_center"], kp.INDEX["right_eye_center"]]
    middle = profile[eyes, 0].mean()
    profile[eyes, 0] = middle + (profile[eyes, 0] - middle) * 0.3  # eyes 3x closer
    # the eye distance alone would give a box 3x smaller; the eye-mouth distance keeps it
    assert face_frame(profile.reshape(-1))[2] > 0.9 * face_frame(frontal)[2]


def test_points_leaving_the_crop_become_missing():
    keypoints = kaggle_like_face(2.0, offset=(30, 30))
    x0, y0, side = face_frame(keypoints)
    photo = np.full((400, 400), 90, np.uint8)
    upper_half = (x0, y0 - side / 2, side)  # the box moves up: the mouth falls out
    crop, points = crop_face(photo, keypoints, box=upper_half)
    pts = kp.as_points(points)
    for name in kp.NAMES:
        inside = source_to_crop(kp.as_points(keypoints), upper_half)[kp.INDEX[name]]
        if (inside >= -0.5).all() and (inside <= 95.5).all():
            np.testing.assert_allclose(pts[kp.INDEX[name]], inside, atol=1e-4)
        else:
            assert np.isnan(pts[kp.INDEX[name]]).all(), name
    assert np.isnan(pts[kp.INDEX["mouth_center_bottom_lip"]]).all()
    assert not np.isnan(pts[kp.INDEX["left_eyebrow_inner_end"]]).any()


def test_crop_outside_the_photo_is_black_and_inverse_maps_back():
    keypoints = kaggle_like_face(1.0, offset=(-20, 0))  # face at the photo's left border
    photo = np.full((100, 100), 200, np.uint8)
    box = face_frame(keypoints)
    crop, _ = crop_face(photo, keypoints)
    assert crop[:, 0].max() == 0 and crop[50, 90] == 200
    points = kp.as_points(keypoints)
    np.testing.assert_allclose(crop_to_source(source_to_crop(points, box), box), points, atol=1e-9)


def test_framing_needs_eyes_and_mouth():
    keypoints = kaggle_like_face(1.0, offset=(0, 0))
    no_eye = keypoints.copy()
    no_eye[0:2] = np.nan
    with pytest.raises(ValueError, match="eye"):
        face_frame(no_eye)
    no_mouth = kp.as_points(keypoints.copy())
    no_mouth[11:] = np.nan
    with pytest.raises(ValueError, match="mouth"):
        face_frame(no_mouth.reshape(-1))


# --- sources -----------------------------------------------------------------------

def test_mtfl_list_with_windows_paths_and_leading_spaces(tmp_path):
    path = tmp_path / "training.txt"
    path.write_bytes(b"lfw_5590\\A_B_0001.jpg 1 2 3 4 5 6 7 8 9 10 1 2 2 3\r\n"
                     b" net_7876\\x.jpg 1 2 3 4 5 6 7 8 9 10 2 1 1 5\r\n")
    table = read_mtfl_list(path)
    assert table["file"].tolist() == ["lfw_5590/A_B_0001.jpg", "net_7876/x.jpg"]
    assert table["pose"].tolist() == [3, 5] and table["x5"].tolist() == [5, 5]
    path.write_text("lfw_5590\\A.jpg 1 2 3\n")
    with pytest.raises(ValueError, match=r"training.txt, line 1: expected 15 fields"):
        read_mtfl_list(path)


def test_explicit_root_without_the_files_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="training.txt"):
        find_root("mtfl", tmp_path)
    with pytest.raises(ValueError, match="unknown source"):
        find_root("imagenet")


# --- the default dataset ------------------------------------------------------------

@pytest.fixture(scope="module")
def faces15(shared_data):
    """The default dataset from its cache (built on first use)."""
    return load_dataset("faces15", progress=False)


def test_crop_framing_is_exact_on_real_faces_of_both_sources(faces15):
    """The eyes-mouth midpoint of every converted face is at (48.4, 57.0) to 0.05 px."""
    pts = kp.as_points(faces15.keypoints.astype(np.float64))
    eyes = (pts[:, kp.INDEX["left_eye_center"]] + pts[:, kp.INDEX["right_eye_center"]]) / 2
    mouth = pts[:, [kp.INDEX[n] for n in MOUTH]]
    # the framing used every mouth point the source has: rows that lost none to the crop
    labelled = ~np.isnan(mouth).any(axis=-1)
    source = faces15.meta["source"].to_numpy()
    for name, needed in (("youtube-faces", 4), ("mtfl", 2)):
        rows = (source == name) & (labelled.sum(axis=1) == needed) & ~np.isnan(eyes).any(axis=1)
        assert rows.sum() > 1000, name
        centre = (eyes[rows] + np.nanmean(mouth[rows], axis=1)) / 2
        error = np.abs(centre - (kp.FACE_AXIS_X, 57.0)).max()
        assert error < 0.05, (name, error)


def test_no_identity_is_in_two_splits_over_all_sources(faces15):
    meta = faces15.meta
    used = meta[meta["split"] != registry.EXCLUDED]
    splits_per_person = used.groupby("person")["split"].nunique()
    shared = splits_per_person[splits_per_person > 1]
    assert shared.empty, shared.head().to_dict()
    # the overlap the issue found exists: LFW people in both sources
    ytf_people = set(meta.loc[meta["source"] == "youtube-faces", "person"])
    mtfl_lfw = meta[(meta["source"] == "mtfl") & meta["file"].str.startswith("lfw_5590/")]
    assert mtfl_lfw["person"].isin(ytf_people).sum() > 100
    # MTFL photos of test people are kept out of train/val and every other split
    excluded = meta[meta["split"] == registry.EXCLUDED]
    test_people = set(meta.loc[meta["split"] == "test", "person"])
    assert len(excluded) > 0 and set(excluded["person"]) <= test_people
    assert (excluded["source"] == "mtfl").all()
    # every other MTFL photo of a YouTube-Faces person shares that person's split
    ytf_split = meta[meta["source"] == "youtube-faces"].groupby("person")["split"].first()
    both = mtfl_lfw[mtfl_lfw["person"].isin(ytf_people) & (mtfl_lfw["split"] != registry.EXCLUDED)]
    assert (both["split"].to_numpy() == ytf_split[both["person"]].to_numpy()).all()
    assert "excluded" not in load_splits("faces15", progress=False)


def test_validation_split_moves_identities_between_train_and_val(faces15):
    default = load_splits("faces15", progress=False)
    wider = load_splits("faces15", validation_fraction=0.4, progress=False)
    for name in ("test", "test_mtfl"):  # test splits never move
        assert wider[name].meta["file"].tolist() == default[name].meta["file"].tolist()
    people = {k: set(v.meta["person"]) for k, v in wider.items()}
    assert not people["train"] & people["val"]
    assert set(default["val"].meta["person"]) < people["val"]  # a superset: same hash
    share = len(people["val"]) / (len(people["val"]) + len(people["train"]))
    assert share == pytest.approx(0.4, abs=0.02)
    assert len(wider["train"]) + len(wider["val"]) == len(default["train"]) + len(default["val"])


def test_faces15_split_never_shares_a_person(faces15):
    ytf = faces15.meta[faces15.meta["source"] == "youtube-faces"]
    people = {s: set(ytf.loc[ytf["split"] == s, "person"]) for s in ("train", "val", "test")}
    assert all(len(p) > 10 for p in people.values())
    assert not people["train"] & people["val"]
    assert not people["train"] & people["test"]
    assert not people["val"] & people["test"]


def test_faces15_has_kaggle_like_mix_of_labels(faces15):
    counts = faces15.meta.groupby("split").size()
    assert set(counts.index) == {"train", "val", "test", "test_mtfl", registry.EXCLUDED}
    ytf = (faces15.meta["source"] == "youtube-faces").to_numpy()
    assert faces15.complete[ytf].mean() > 0.95
    mtfl_rows = faces15.mask[~ytf].reshape(-1, kp.NUM_KEYPOINTS, 2)[..., 0]
    assert (mtfl_rows.sum(axis=1) <= 5).all()  # 5 points at most, never invented ones
    pts = kp.as_points(faces15.keypoints)  # the convention survives the crop: left = image right
    left_x, right_x = pts[:, kp.INDEX["left_eye_center"], 0], pts[:, kp.INDEX["right_eye_center"], 0]
    assert np.mean(left_x > right_x) > 0.95
    test_mtfl = faces15.split("test_mtfl").meta
    assert test_mtfl[["gender", "smile", "glasses", "pose"]].notna().all().all()


def test_load_splits_caps_the_training_set(shared_data):
    splits = load_splits("faces15", max_images=40, progress=False)
    assert len(splits["train"]) == 40
    assert all(len(s) <= 40 for s in splits.values())
    again = load_splits("faces15", max_images=40, progress=False)
    assert again["train"].meta["file"].tolist() == splits["train"].meta["file"].tolist()


# --- the cache ------------------------------------------------------------------------

@pytest.fixture
def tiny_dataset(tiny_faces, tmp_path, monkeypatch):
    """A dataset named "tiny" built from a fake mtfl root; counts its builds."""
    root = tmp_path / "mtfl"
    root.mkdir()
    (root / "training.txt").write_text("first version\n")
    builds = []

    def build(roots, progress):
        builds.append(roots["mtfl"])
        return tiny_faces

    monkeypatch.setitem(registry._BUILDERS, "tiny", (build, ("mtfl",)))
    return {"root": root, "builds": builds, "cache": tmp_path / "cache", "faces": tiny_faces}


def load_tiny(tiny, root=None):
    return load_dataset("tiny", roots={"mtfl": root or tiny["root"]}, progress=False,
                        cache_dir=tiny["cache"])


def fail_to_build(roots, progress):
    raise AssertionError("the cache should have been used")


def test_second_load_comes_from_the_cache(tiny_dataset, monkeypatch):
    first = load_tiny(tiny_dataset)
    assert len(tiny_dataset["builds"]) == 1
    manifest = (tiny_dataset["cache"] / "tiny.manifest.json").read_text()
    assert '"converter_version"' in manifest and '"images": 6' in manifest
    monkeypatch.setitem(registry._BUILDERS, "tiny", (fail_to_build, ("mtfl",)))
    second = load_tiny(tiny_dataset)
    np.testing.assert_array_equal(second.images, first.images)
    np.testing.assert_array_equal(second.keypoints, first.keypoints)
    pd.testing.assert_frame_equal(second.meta, first.meta)


def test_a_moved_source_copy_still_uses_the_cache(tiny_dataset, tmp_path, monkeypatch):
    load_tiny(tiny_dataset)
    moved = shutil.copytree(tiny_dataset["root"], tmp_path / "elsewhere" / "mtfl")
    monkeypatch.setitem(registry._BUILDERS, "tiny", (fail_to_build, ("mtfl",)))
    assert len(load_tiny(tiny_dataset, root=moved)) == 6


@pytest.mark.parametrize("change", ["label file", "new image", "converter", "half-written"])
def test_manifest_mismatch_rebuilds(change, tiny_dataset, monkeypatch):
    load_tiny(tiny_dataset)
    root = tiny_dataset["root"]
    if change == "label file":
        (root / "training.txt").write_text("second version\n")
    elif change == "new image":
        (root / "new.jpg").write_bytes(b"12345")
    elif change == "converter":
        monkeypatch.setattr(registry, "CONVERTER_VERSION", registry.CONVERTER_VERSION + 1)
    else:
        (tiny_dataset["cache"] / "tiny.manifest.json").unlink()
    load_tiny(tiny_dataset)
    assert len(tiny_dataset["builds"]) == 2


def test_unknown_dataset_is_named():
    with pytest.raises(ValueError, match="unknown dataset 'faces16'"):
        load_dataset("faces16")


def test_faceset_checks_shapes_and_selects_rows(tiny_faces):
    with pytest.raises(ValueError, match="96, 96"):
        FaceSet(np.zeros((2, 48, 48), np.uint8), np.zeros((2, 30), np.float32),
                pd.DataFrame(index=range(2)))
    with pytest.raises(ValueError, match="meta has 1 rows for 2 images"):
        FaceSet(np.zeros((2, 96, 96), np.uint8), np.zeros((2, 30), np.float32),
                pd.DataFrame(index=range(1)))
    test = tiny_faces.split("test")
    assert len(test) == 1 and test.meta["person"][0] == "person_2"
    assert len(tiny_faces[1:4]) == 3 and len(tiny_faces[tiny_faces.complete]) == 3


def test_youtube_faces_list_maps_68_points_and_names_a_bad_file(tmp_path):
    from landmarklib.data.sources import read_youtube_faces_list

    points = np.arange(136, dtype=float).reshape(1, 136)
    good = pd.DataFrame(points, index=["Some_Person_01.jpg"]).reset_index()
    good.to_csv(tmp_path / "good.csv", index=False)
    files, keypoints = read_youtube_faces_list(tmp_path / "good.csv")
    assert list(files) == ["Some_Person_01.jpg"]
    np.testing.assert_allclose(keypoints, kp.from_ibug68(points.reshape(1, 68, 2)))
    good.iloc[:, :-2].to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match=r"bad\.csv: expected 136 coordinate columns"):
        read_youtube_faces_list(tmp_path / "bad.csv")
