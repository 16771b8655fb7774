"""The keypoint schema: names, flips, the iBUG-68 and MTFL-5 mappings, and the
left/right convention (Kaggle's "left" = the subject's left = image right)."""
import numpy as np
import pandas as pd
import pytest

from landmarklib import keypoints as kp
from landmarklib.data import read_mtfl_list

FRONTAL_POSE = 3          # MTFL head pose code for a frontal face
LARGE_MAJORITY = 0.95     # share of frontal faces that must follow the convention

# Where each Kaggle keypoint sits on the synthetic face below (image coordinates:
# x grows to the right of the image, so the subject's left has the larger x).
EXPECTED = {
    "left_eye_center": (66, 40), "right_eye_center": (30, 40),
    "left_eye_inner_corner": (60, 40), "left_eye_outer_corner": (72, 40),
    "right_eye_inner_corner": (36, 40), "right_eye_outer_corner": (24, 40),
    "left_eyebrow_inner_end": (57, 30), "left_eyebrow_outer_end": (78, 31),
    "right_eyebrow_inner_end": (39, 30), "right_eyebrow_outer_end": (18, 31),
    "nose_tip": (48, 62),
    "mouth_left_corner": (63, 76), "mouth_right_corner": (33, 76),
    "mouth_center_top_lip": (48, 72), "mouth_center_bottom_lip": (48, 79),
}
JUNK = -1000.0  # iBUG points no Kaggle keypoint uses: a wrong index shows at once


def eye_contour(cx, cy):
    """Six iBUG eye points around (cx, cy), corners 6 px left and right.

    iBUG lists each eye clockwise in the image starting at its image-left
    corner: 36 (outer) .. 39 (inner) for the subject's right eye, 42 (inner)
    .. 45 (outer) for the left eye; either way points 0 and 3 are the corners.
    """
    return [(cx - 6, cy), (cx - 2, cy - 3), (cx + 2, cy - 3),
            (cx + 6, cy), (cx + 2, cy + 3), (cx - 2, cy + 3)]


def synthetic_ibug68():
    """A (68, 2) iBUG face whose Kaggle points are EXPECTED, the rest JUNK."""
    points = np.full((68, 2), JUNK)
    points[36:42] = eye_contour(30, 40)   # subject's right eye
    points[42:48] = eye_contour(66, 40)  # subject's left eye
    points[17] = EXPECTED["right_eyebrow_outer_end"]
    points[21] = EXPECTED["right_eyebrow_inner_end"]
    points[22] = EXPECTED["left_eyebrow_inner_end"]
    points[26] = EXPECTED["left_eyebrow_outer_end"]
    points[30] = EXPECTED["nose_tip"]
    points[48] = EXPECTED["mouth_right_corner"]
    points[54] = EXPECTED["mouth_left_corner"]
    points[51] = EXPECTED["mouth_center_top_lip"]
    points[57] = EXPECTED["mouth_center_bottom_lip"]
    return points


def test_columns_follow_kaggle_order():
    assert len(kp.COLUMNS) == 30
    assert kp.COLUMNS[:4] == ("left_eye_center_x", "left_eye_center_y",
                              "right_eye_center_x", "right_eye_center_y")
    assert kp.COLUMNS[-2:] == ("mouth_center_bottom_lip_x", "mouth_center_bottom_lip_y")


def test_flip_pairs_swap_every_left_with_its_right():
    names = {(kp.NAMES[a], kp.NAMES[b]) for a, b in kp.FLIP_PAIRS}
    assert len(names) == 6
    for left, right in names:
        assert left.replace("left", "right") == right
    assert sorted(kp.FLIP_PERMUTATION) == list(range(kp.NUM_KEYPOINTS))
    assert kp.FLIP_PERMUTATION[kp.INDEX["nose_tip"]] == kp.INDEX["nose_tip"]


def test_ibug68_mapping_puts_all_15_points_where_expected():
    got = kp.as_points(kp.from_ibug68(synthetic_ibug68()))
    for name, (x, y) in EXPECTED.items():
        np.testing.assert_allclose(got[kp.INDEX[name]], (x, y), atol=1e-5, err_msg=name)


def test_ibug68_mapping_works_on_batches_and_rejects_bad_shapes():
    batch = np.stack([synthetic_ibug68(), synthetic_ibug68() + 1])
    out = kp.from_ibug68(batch)
    assert out.shape == (2, 30) and out.dtype == np.float32
    np.testing.assert_allclose(out[1], out[0] + 1, atol=1e-5)
    with pytest.raises(ValueError, match="68, 2"):
        kp.from_ibug68(np.zeros((5, 2)))


def test_mtfl5_mapping_and_missing_points():
    # MTFL order: image-left eye, image-right eye, nose, image-left mouth, image-right mouth
    five = np.array([(30, 40), (66, 40), (48, 62), (33, 76), (63, 76)], dtype=float)
    got = kp.as_points(kp.from_mtfl5(five))
    for name in ("left_eye_center", "right_eye_center", "nose_tip",
                 "mouth_left_corner", "mouth_right_corner"):
        np.testing.assert_allclose(got[kp.INDEX[name]], EXPECTED[name], err_msg=name)
    labelled = ~np.isnan(got).any(axis=1)
    assert labelled.sum() == 5
    assert np.isnan(got[kp.INDEX["mouth_center_top_lip"]]).all()


def test_flip_is_an_involution_and_keeps_the_convention():
    face = kp.from_ibug68(synthetic_ibug68())
    flipped = kp.flip_horizontal(face)
    np.testing.assert_allclose(kp.flip_horizontal(flipped), face, atol=1e-5)
    pts = kp.as_points(flipped)
    # the mirror of a frontal face is a frontal face: the subject's left is still image right
    assert pts[kp.INDEX["left_eye_center"], 0] > pts[kp.INDEX["right_eye_center"], 0]
    assert pts[kp.INDEX["left_eye_center"], 0] == pytest.approx(95 - 30)


def test_flip_matches_mirrored_pixels():
    """A bright dot at a keypoint lands, after np.fliplr, on the flipped partner keypoint."""
    face = kp.from_ibug68(synthetic_ibug68())
    image = np.zeros((kp.IMAGE_SIZE, kp.IMAGE_SIZE), np.uint8)
    x, y = kp.as_points(face)[kp.INDEX["left_eye_outer_corner"]].astype(int)
    image[y, x] = 255
    mirrored = np.fliplr(image)
    row, col = np.unravel_index(mirrored.argmax(), mirrored.shape)
    partner = kp.as_points(kp.flip_horizontal(face))[kp.INDEX["right_eye_outer_corner"]]
    assert (col, row) == tuple(partner.astype(int))


def test_complete_rows(tiny_faces):
    assert kp.complete(tiny_faces.keypoints).tolist() == [True] * 3 + [False] * 3


# --- the convention on real annotations --------------------------------------

def share_left_of_right(points, left, right):
    """Share of faces whose `left` keypoint has a larger x than its `right` one."""
    pts = kp.as_points(points)
    return np.mean(pts[:, kp.INDEX[left], 0] > pts[:, kp.INDEX[right], 0])


def test_convention_on_youtube_faces(shared_data):
    table = pd.read_csv(shared_data / "youtube-faces" / "training_frames_keypoints.csv")
    points = kp.from_ibug68(table.iloc[:, 1:].to_numpy().reshape(-1, 68, 2))
    for left, right in [("left_eye_center", "right_eye_center"),
                        ("mouth_left_corner", "mouth_right_corner"),
                        ("left_eye_outer_corner", "left_eye_inner_corner"),
                        ("right_eye_inner_corner", "right_eye_outer_corner"),
                        ("left_eyebrow_outer_end", "right_eyebrow_outer_end")]:
        assert share_left_of_right(points, left, right) > LARGE_MAJORITY, (left, right)


def test_convention_on_mtfl_frontal_faces(shared_data):
    table = read_mtfl_list(shared_data / "mtfl" / "training.txt")
    frontal = table[table["pose"] == FRONTAL_POSE]
    assert len(frontal) > 1000
    five = np.stack([frontal[[f"x{i}" for i in range(1, 6)]].to_numpy(),
                     frontal[[f"y{i}" for i in range(1, 6)]].to_numpy()], axis=-1)
    points = kp.from_mtfl5(five)
    assert share_left_of_right(points, "left_eye_center", "right_eye_center") > LARGE_MAJORITY
    assert share_left_of_right(points, "mouth_left_corner", "mouth_right_corner") > LARGE_MAJORITY
