"""Property tests of landmarklib.augment (and its recipes) on small synthetic batches."""
import numpy as np
import pytest
import tensorflow as tf

from landmarklib import augment, keypoints as kp

SIZE = kp.IMAGE_SIZE
# Only the geometry of the strong recipe, flips included: what the dot test moves.
GEOMETRY = augment.get_recipe(
    "none", **{f: getattr(augment.STRONG, f)
               for f in ("rotation", "flip", "scale", "shift", "perspective")})


def make_batch(n=4, seed=0):
    """Smooth random images in [0, 1] and keypoints in the face region, a few NaN."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE] / SIZE
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    images = 0.5 + 0.4 * np.sin(7 * xx + 5 * yy + phase) * np.cos(3 * yy - phase)
    keypoints = rng.uniform(25, 70, (n, 2 * kp.NUM_KEYPOINTS))
    keypoints[0, 4:6] = np.nan
    return images[..., None].astype(np.float32), keypoints.astype(np.float32)


def named(keypoints, name):
    """(x, y) of a named keypoint in row 0."""
    return np.asarray(kp.as_points(keypoints)[0, kp.INDEX[name]])


def identity(n):
    return tf.eye(3, batch_shape=[n])


# --- exactness ------------------------------------------------------------

def test_identity_matrix_and_recipe_none_return_input_exactly():
    images, keypoints = make_batch()
    out_images, out_points = augment.apply_transform(images, keypoints, identity(4))
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_points, keypoints)
    out_images, out_points = augment.augment_batch(images, keypoints, "none", seed=3)
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_points, keypoints)


def test_flip_matrix_about_the_image_centre_reverses_columns_and_twice_is_identity():
    images, keypoints = make_batch()
    do_flip = tf.constant([True, False, True, True])
    centre = augment.flip_matrices(do_flip, axis=(SIZE - 1) / 2)
    warped, moved = augment.apply_transform(images, keypoints, centre)
    expected = np.where(do_flip.numpy()[:, None, None, None], images[:, :, ::-1], images)
    np.testing.assert_array_equal(warped, expected)
    points = kp.as_points(keypoints)
    mirrored = np.stack([SIZE - 1 - points[..., 0], points[..., 1]], -1).reshape(-1, 30)
    np.testing.assert_allclose(moved, np.where(do_flip.numpy()[:, None], mirrored, keypoints),
                               rtol=0, atol=1e-4)
    midline = augment.flip_matrices(do_flip)  # the recipes' axis: the faces' midline
    np.testing.assert_allclose(midline @ midline, np.broadcast_to(np.eye(3), (4, 3, 3)), atol=1e-12)
    np.testing.assert_allclose(midline[0, 0, 2], 2 * kp.FACE_AXIS_X)


def test_rotation_by_90_degrees_matches_numpy_rot90():
    """Checks the pixel-centre convention: x = j, y = i, centre 47.5."""
    images, keypoints = make_batch(1)
    m = augment.affine_matrices([90.0], [1.0], [[0.0, 0.0]])
    warped, moved = augment.apply_transform(images, keypoints, m)
    # +90 degrees is clockwise on screen: (x, y) -> (95 - y, x).
    expected = np.rot90(images[0, ..., 0], k=-1)
    np.testing.assert_allclose(warped[0, ..., 0], expected, atol=1e-4)
    points = kp.as_points(keypoints)[0]
    np.testing.assert_allclose(kp.as_points(moved.numpy())[0][[0, 1, 3]],
                               np.stack([SIZE - 1 - points[:, 1], points[:, 0]], -1)[[0, 1, 3]],
                               atol=1e-4)


def test_integer_shift_moves_a_dot_exactly():
    image = np.zeros((1, SIZE, SIZE, 1), np.float32)
    image[0, 10, 20] = 1.0                      # row 10, column 20: x = 20, y = 10
    m = augment.affine_matrices([0.0], [1.0], [[3.0, -4.0]])
    warped, _ = augment.apply_transform(image, np.full((1, 30), np.nan, np.float32), m)
    assert np.argwhere(warped[0, ..., 0].numpy() == 1.0).tolist() == [[6, 23]]


def test_rotate_then_back_returns_points_within_half_a_pixel():
    rng = np.random.default_rng(1)
    n = 64
    angles = rng.uniform(-180, 180, n).astype(np.float32)
    radius, phi = rng.uniform(0, 45, (n, 15)), rng.uniform(0, 2 * np.pi, (n, 15))
    points = np.stack([augment.CENTER + radius * np.cos(phi),
                       augment.CENTER + radius * np.sin(phi)], -1)
    keypoints = points.reshape(n, 30).astype(np.float32)
    zero, one = np.zeros((n, 2), np.float32), np.ones(n, np.float32)
    there = augment.transform_keypoints(keypoints, augment.affine_matrices(angles, one, zero))
    back = augment.transform_keypoints(there, augment.affine_matrices(-angles, one, zero))
    assert not np.isnan(back).any()
    assert np.abs(back - keypoints).max() < 0.5


# --- pixels and keypoints move together -----------------------------------

def dot_images(points, sigma=1.0):
    """One image per point with a Gaussian dot centred on it."""
    yy, xx = np.mgrid[:SIZE, :SIZE]
    d2 = (xx - points[:, :1, None]) ** 2 + (yy - points[:, 1:, None]) ** 2
    return np.exp(-d2 / (2 * sigma**2))[..., None].astype(np.float32)


def test_bright_dot_lands_on_transformed_keypoint():
    """A dot drawn at a keypoint ends within 1 px (argmax) of the moved keypoint."""
    rng = np.random.default_rng(2)
    n = 15 * 20                                        # 20 random faces' worth of points
    points = rng.uniform(5, SIZE - 6, (n, 2)).astype(np.float32)
    keypoints = np.full((n, 30), np.nan, np.float32)
    keypoints[:, :2] = points
    matrices, _ = augment.transform_matrices(n, GEOMETRY, seed=[7, 0])
    warped, moved = augment.apply_transform(dot_images(points), keypoints, matrices, "constant")
    moved = moved.numpy()[:, :2]
    inside = ~np.isnan(moved[:, 0])
    assert inside.mean() > 0.8
    flat = warped.numpy()[inside, ..., 0].reshape(inside.sum(), -1).argmax(-1)
    found = np.stack([flat % SIZE, flat // SIZE], -1)
    error = np.linalg.norm(found - moved[inside], axis=-1)
    assert error.max() < 1.0, f"worst dot is {error.max():.2f} px off"


def test_bright_dot_centroid_has_no_half_pixel_bias():
    """Sub-pixel check: the dot's centroid matches the moved keypoint to 0.2 px."""
    rng = np.random.default_rng(3)
    n = 100
    points = rng.uniform(30, 66, (n, 2)).astype(np.float32)
    keypoints = np.full((n, 30), np.nan, np.float32)
    keypoints[:, :2] = points
    matrices, _ = augment.transform_matrices(n, GEOMETRY, seed=[8, 0])
    warped, moved = augment.apply_transform(dot_images(points, 2.0), keypoints, matrices)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    w = warped.numpy()[..., 0]
    centroid = np.stack([(w * xx).sum((1, 2)), (w * yy).sum((1, 2))], -1) / w.sum((1, 2))[:, None]
    assert np.abs(centroid - moved.numpy()[:, :2]).max() < 0.2


def test_flip_swaps_named_keypoints():
    images, keypoints = make_batch(1)
    points = kp.as_points(keypoints)
    points[0, kp.INDEX["left_eye_center"]] = (62, 41)
    points[0, kp.INDEX["right_eye_center"]] = (30, 40)
    keypoints = points.reshape(1, 30)
    # the recipes mirror about the faces' midline, not the image centre
    axis = kp.FACE_AXIS_X
    flipped = augment.augment_batch(images, keypoints, {"flip": 1.0}, seed=0)[1].numpy()
    np.testing.assert_allclose(named(flipped, "left_eye_center"), (2 * axis - 30, 40), atol=1e-4)
    np.testing.assert_allclose(named(flipped, "right_eye_center"), (2 * axis - 62, 41), atol=1e-4)
    np.testing.assert_allclose(named(flipped, "nose_tip"),
                               (2 * axis - named(keypoints, "nose_tip")[0],
                                named(keypoints, "nose_tip")[1]), atol=1e-4)


def test_points_pushed_outside_become_nan_not_clipped():
    images, keypoints = make_batch(1)
    m = augment.affine_matrices([0.0], [1.0], [[40.0, 0.0]])
    _, moved = augment.apply_transform(images, keypoints, m)
    before, after = kp.as_points(keypoints)[0], kp.as_points(moved.numpy())[0]
    gone = before[:, 0] + 40 > augment.FRAME[1]
    assert gone.any() and (~gone & ~np.isnan(before[:, 0])).any()
    assert np.isnan(after[gone]).all()
    kept = ~gone & ~np.isnan(before[:, 0])
    np.testing.assert_allclose(after[kept], before[kept] + (40, 0), atol=1e-4)


def test_photometric_keeps_keypoints_and_range():
    images, keypoints = make_batch(8)
    photo = augment.get_recipe("strong", rotation=0, flip=0, scale=(1, 1), shift=0,
                               perspective=0)
    out_images, out_points = augment.augment_batch(images, keypoints, photo, seed=5)
    np.testing.assert_array_equal(out_points, keypoints)
    assert 0.0 <= out_images.numpy().min() and out_images.numpy().max() <= 1.0
    assert np.abs(out_images - images).mean() > 0.01


def test_blur_with_sigma_zero_is_identity_and_keeps_the_mean():
    images, _ = make_batch(2)
    out = augment.gaussian_blur(images, tf.constant([0.0, 1.5]))
    np.testing.assert_allclose(out[0], images[0], atol=1e-6)
    assert np.abs(out[1] - images[1]).max() > 0.01
    assert abs(float(tf.reduce_mean(out[1])) - images[1].mean()) < 1e-3


# --- seeds, graph mode, Keras ---------------------------------------------

@pytest.mark.parametrize("recipe", ["v3", "v4", "strong"])
def test_same_seed_same_output_in_eager_graph_and_tf_data(recipe):
    images, keypoints = make_batch(6)
    seed = tf.constant([4, 2], tf.int64)
    a = augment.augment_batch(images, keypoints, recipe, seed)
    b = augment.augment_batch(images, keypoints, recipe, seed)
    c = augment.augment_batch(images, keypoints, recipe, tf.constant([4, 3], tf.int64))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert np.abs(a[0] - c[0]).max() > 0.01
    ds = tf.data.Dataset.from_tensor_slices((images, keypoints)).batch(6)
    assert ds.element_spec[0].shape[0] is None          # unknown batch size
    ds = ds.map(lambda x, y: augment.augment_batch(x, y, recipe, seed))
    graph = next(iter(ds))
    np.testing.assert_allclose(graph[0], a[0], atol=1e-5)
    np.testing.assert_allclose(graph[1], a[1], atol=1e-3)
    assert ds.element_spec[0].shape.as_list() == [None, SIZE, SIZE, 1]


def test_training_dataset_uses_a_recipe():
    from landmarklib import pipeline
    from landmarklib.data import FaceSet
    import pandas as pd

    images, keypoints = make_batch(8)
    faces = FaceSet((images[..., 0] * 255).astype(np.uint8), keypoints,
                    pd.DataFrame({"split": ["train"] * 8}))
    x, y = next(iter(pipeline.training_dataset(faces, 4, seed=0, augment="strong")))
    assert x.shape == (4, SIZE, SIZE, 1) and y.shape == (4, 30)


# --- recipes and errors ---------------------------------------------------

def test_recipes_are_named_and_nested():
    assert set(augment.RECIPES) == {"none", "v3", "v4", "v5", "strong"}
    assert augment.V3 == augment.Recipe(rotation=15.0)
    assert not augment.NONE.geometric and not augment.NONE.photometric
    assert augment.V4.flip and augment.V4.perspective and augment.V4.brightness
    assert set(augment.single_augmenters("strong")) == set(augment.AUGMENTERS)
    assert augment.get_recipe("v4", rotation=30).rotation == 30.0


@pytest.mark.parametrize("kwargs, match", [
    ({"rotation": 200}, "rotation"),
    ({"rotation": -1}, "rotation"),
    ({"flip": -0.1}, "flip"),
    ({"cutout": 1.5}, "cutout"),
    ({"scale": (1.2, 0.9)}, "scale"),
    ({"scale": 1.1}, "scale"),
    ({"blur_sigma": (0, 5)}, "blur_sigma"),
    ({"fill_mode": "mirror"}, "fill_mode"),
    ({"zoom": 2}, "unknown recipe fields"),
])
def test_bad_recipe_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        augment.get_recipe("v4", **kwargs)


def test_unknown_recipe_name_lists_valid_ones():
    with pytest.raises(ValueError, match="v9.*none.*strong.*v3.*v4.*v5"):
        augment.get_recipe("v9")


@pytest.mark.parametrize("image_shape, image_dtype, keypoint_shape, match", [
    ((2, SIZE, SIZE), np.float32, (2, 30), "images must have shape"),
    ((2, SIZE, SIZE, 3), np.float32, (2, 30), "images must have shape"),
    ((2, SIZE, SIZE, 1), np.float32, (2, 15, 2), "keypoints must have shape"),
    ((2, SIZE, SIZE, 1), np.uint8, (2, 30), "float32"),
    ((2, SIZE, SIZE, 1), np.float32, (3, 30), "2 images but 3"),
])
def test_bad_tensors_raise(image_shape, image_dtype, keypoint_shape, match):
    images = np.zeros(image_shape, image_dtype)
    keypoints = np.zeros(keypoint_shape, np.float32)
    with pytest.raises(ValueError, match=match):
        augment.augment_batch(images, keypoints, "v4", seed=0)


def test_nan_in_images_raises_eagerly_and_in_tf_data():
    images, keypoints = make_batch(2)
    images[1, 5, 5] = np.nan
    with pytest.raises(ValueError, match="NaN.*1 pixels"):
        augment.augment_batch(images, keypoints, "v4", seed=0)
    ds = tf.data.Dataset.from_tensors((images, keypoints))
    ds = ds.map(lambda x, y: augment.augment_batch(x, y, "v4", [0, 0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN"):
        next(iter(ds))


def test_bad_seed_raises():
    images, keypoints = make_batch(1)
    with pytest.raises(ValueError, match="seed"):
        augment.augment_batch(images, keypoints, "v4", seed=[1, 2, 3])
    with pytest.raises(ValueError, match="seed"):
        augment.augment_batch(images, keypoints, "v4", seed=0.5)


def test_augmentation_grid_keeps_the_subjects_left_on_the_image_right(tmp_path):
    import matplotlib

    from landmarklib import plots
    from landmarklib.evaluation.drawing import SIDE_COLORS

    images, _ = make_batch(3)
    points = np.full((3, kp.NUM_KEYPOINTS, 2), np.nan, np.float32)   # the eye centres only
    for name, x in (("left_eye_center", 66.0), ("right_eye_center", 30.0)):
        points[:, kp.INDEX[name]] = (x, 38.0)
    fig = plots.augmentation_grid(images, points.reshape(3, 30),
                                  {"input": "none", "flip": {"flip": 1.0}}, save_to=tmp_path / "grid")
    assert [len(row) for row in np.reshape(fig.axes, (2, 3))] == [3, 3]
    assert (tmp_path / "grid.pdf").exists() and (tmp_path / "grid.png").exists()
    red = matplotlib.colors.to_rgba(SIDE_COLORS["left"])
    for ax in fig.axes:   # every panel: the subject's left eye (red) is right of the image centre
        dots = ax.collections[0]
        colors, xy = dots.get_facecolors(), dots.get_offsets()
        left = [x for (x, _), c in zip(xy, colors) if np.allclose(c, red)]
        assert left and min(left) > (SIZE - 1) / 2
    matplotlib.pyplot.close(fig)
