"""Keypoint-aware data augmentation, vectorised in the TensorFlow graph.

``augment_batch(images, keypoints, recipe, seed)`` applies a recipe
(``landmarklib.data.recipes``: ``none``, ``v3``, ``v4``, ``strong``) to a batch:

1. **Geometry.** Each image gets one random 3x3 projective matrix that maps
   input pixel coordinates to output ones; it composes flip, perspective,
   rotation, zoom and shift (``transform_matrices``). The pixels are resampled
   once with it (bilinear, ``tf.raw_ops.ImageProjectiveTransformV3``) and the
   *same* matrix moves the keypoints (``apply_transform``). A mirrored face
   also swaps its left/right keypoints (``swap_left_right``). Keypoints that
   leave the frame become NaN (missing), never clipped to the border.
2. **Photometry.** Contrast, brightness, gamma, blur, noise and cutout
   (``photometric``); images stay in [0, 1] and keypoints do not move.

Conventions (those of ``landmarklib.keypoints``): pixel ``(i, j)`` has its
centre at ``x = j, y = i``; the image covers ``-0.5 <= x, y <= 95.5``
(``FRAME``); a flip mirrors about the faces' midline ``kp.FACE_AXIS_X``
(``flip_matrices``).

Every random number comes from ``tf.random.stateless_*`` ops seeded with a
shape-(2,) integer ``seed``: the same seed gives the same batch, in eager mode,
in a ``tf.function`` and inside ``tf.data.Dataset.map`` alike
(``pipeline.training_dataset`` augments there). The recipes are reachable here
too (``lm.augment.RECIPES``, ``lm.augment.get_recipe``). See 02_augment.
"""
import numpy as np
import tensorflow as tf

from ..core import keypoints as kp
from .recipes import (AUGMENTERS, BLUR_RADIUS, FILL_MODES, NONE, RECIPES, STRONG, V3, V4, Recipe,
                      get_recipe, single_augmenters)

# The recipes are part of lm.augment's interface (02_augment uses lm.augment.RECIPES).
__all__ = [
    "AUGMENTERS", "FRAME", "NONE", "RECIPES", "STRONG", "V3", "V4", "Recipe", "affine_matrices",
    "apply_transform", "as_seed", "augment_batch", "check_batch", "cutout", "flip_matrices",
    "gaussian_blur", "get_recipe", "perspective_matrices", "photometric", "single_augmenters",
    "swap_left_right", "transform_keypoints", "transform_matrices",
]

IMAGE_SIZE = kp.IMAGE_SIZE
NUM_COORDS = 2 * kp.NUM_KEYPOINTS
CENTER = (IMAGE_SIZE - 1) / 2            # 47.5: pixel centres run from 0 to 95
FRAME = (-0.5, IMAGE_SIZE - 0.5)         # keypoints outside this range become NaN

# Independent random streams, one per random quantity: adding a new augmenter
# never changes the numbers drawn by the others.
_STREAMS = {name: i for i, name in enumerate((
    "geometry", "photometry", "flip", "perspective", "angle", "scale", "shift",
    "contrast", "brightness", "gamma", "blur", "blur_sigma", "noise", "noise_std",
    "cutout", "cutout_size", "cutout_center", "cutout_value",
))}


# === Inputs and seeds =======================================================

def check_batch(images, keypoints):
    """Convert and validate a batch; return (images, keypoints) as tensors.

    images: float32 (batch, 96, 96, 1) in [0, 1], without NaN;
    keypoints: float32 (batch, 30) in pixels, NaN = missing. Wrong dtypes or
    shapes raise ValueError; NaN in the images raises ValueError when eager
    and tf.errors.InvalidArgumentError when traced (inside tf.data).
    """
    images = tf.convert_to_tensor(images)
    keypoints = tf.convert_to_tensor(keypoints)
    want = (None, IMAGE_SIZE, IMAGE_SIZE, 1)
    if images.dtype != tf.float32:
        raise ValueError(f"augment: images must be float32 in [0, 1] "
                         f"(see pipeline.to_model_input), got {images.dtype.name}")
    if keypoints.dtype != tf.float32:
        raise ValueError(f"augment: keypoints must be float32, got {keypoints.dtype.name}")
    if images.shape.rank is not None and not images.shape.is_compatible_with(want):
        raise ValueError(f"augment: images must have shape (batch, 96, 96, 1), "
                         f"got {tuple(images.shape)}")
    if keypoints.shape.rank is not None and not keypoints.shape.is_compatible_with(
            (None, NUM_COORDS)):
        raise ValueError(f"augment: keypoints must have shape (batch, {NUM_COORDS}), "
                         f"got {tuple(keypoints.shape)}")
    if not images.shape[:1].is_compatible_with(keypoints.shape[:1]):
        raise ValueError(f"augment: {images.shape[0]} images but "
                         f"{keypoints.shape[0]} keypoint rows")
    images = tf.ensure_shape(images, want)
    keypoints = tf.ensure_shape(keypoints, (None, NUM_COORDS))
    # The sum of values in [0, 1] is finite exactly when every value is: one
    # fast reduction instead of an element-wise test.
    total = tf.reduce_sum(images)
    message = "augment: images contain NaN or infinite values"
    if tf.executing_eagerly():
        if not np.isfinite(total.numpy()):
            bad = int(tf.reduce_sum(tf.cast(~tf.math.is_finite(images), tf.int32)))
            raise ValueError(f"{message} ({bad} pixels)")
    else:
        with tf.control_dependencies([tf.debugging.assert_all_finite(total, message)]):
            images = tf.identity(images)
    return images, keypoints


def as_seed(seed):
    """An int64 shape-(2,) seed for tf.random.stateless_* from an int or a pair."""
    seed = tf.convert_to_tensor(seed)
    if not seed.dtype.is_integer:
        raise ValueError(f"augment: seed must be integer, got {seed.dtype.name}")
    seed = tf.cast(seed, tf.int64)
    if seed.shape.rank == 0:
        seed = tf.stack([seed, tf.zeros_like(seed)])
    if not seed.shape.is_compatible_with((2,)):
        raise ValueError(f"augment: seed must be an int or shape (2,), got {tuple(seed.shape)}")
    return tf.ensure_shape(seed, (2,))


def _seed(seed, stream):
    return tf.random.experimental.stateless_fold_in(seed, _STREAMS[stream])


def _uniform(seed, stream, shape, lo, hi):
    return tf.random.stateless_uniform(shape, _seed(seed, stream), lo, hi)


def _chance(seed, stream, shape, probability):
    """Boolean tensor, True with `probability`."""
    return tf.random.stateless_uniform(shape, _seed(seed, stream)) < probability


# === Geometry ===============================================================

def affine_matrices(angles, scales, shifts):
    """(batch, 3, 3) matrices: rotate and zoom about the centre, then shift.

    angles: (batch,) degrees; scales: (batch,) zoom factors; shifts: (batch, 2)
    pixels (x, y). The matrices map input coordinates to output ones.
    """
    angles = tf.cast(angles, tf.float64) * (np.pi / 180)
    scales = tf.cast(scales, tf.float64)
    shifts = tf.cast(shifts, tf.float64)
    c, s = scales * tf.cos(angles), scales * tf.sin(angles)
    tx = CENTER + shifts[:, 0] - (c * CENTER - s * CENTER)
    ty = CENTER + shifts[:, 1] - (s * CENTER + c * CENTER)
    zero, one = tf.zeros_like(c), tf.ones_like(c)
    rows = [c, -s, tx, s, c, ty, zero, zero, one]
    return tf.reshape(tf.stack(rows, axis=-1), (-1, 3, 3))


def perspective_matrices(corner_shifts):
    """(batch, 3, 3) homographies that move the image corners by `corner_shifts`.

    corner_shifts: (batch, 4, 2) pixels for the corners top-left, top-right,
    bottom-right, bottom-left of the frame. Solves the usual 8x8 system.
    """
    lo, hi = FRAME
    src = tf.constant([[lo, lo], [hi, lo], [hi, hi], [lo, hi]], tf.float64)
    dst = src + tf.cast(corner_shifts, tf.float64)
    src = tf.broadcast_to(src, tf.shape(dst))
    x, y = src[..., 0], src[..., 1]
    u, v = dst[..., 0], dst[..., 1]
    zero, one = tf.zeros_like(u), tf.ones_like(u)
    # Rows for u: [x y 1 0 0 0 -ux -uy]; rows for v: [0 0 0 x y 1 -vx -vy].
    rows_u = tf.stack([x, y, one, zero, zero, zero, -u * x, -u * y], axis=-1)
    rows_v = tf.stack([zero, zero, zero, x, y, one, -v * x, -v * y], axis=-1)
    a = tf.concat([rows_u, rows_v], axis=1)                    # (batch, 8, 8)
    b = tf.concat([u, v], axis=1)[..., None]                   # (batch, 8, 1)
    h = tf.linalg.solve(a, b)[..., 0]
    return tf.reshape(tf.concat([h, one[:, :1]], axis=1), (-1, 3, 3))


def flip_matrices(do_flip, axis=kp.FACE_AXIS_X):
    """(batch, 3, 3) matrices: x -> 2 * axis - x where `do_flip`, else the identity.

    The default axis is the faces' midline, not the image centre (47.5): a face
    mirrored about the image centre would sit 1.8 px off its usual framing,
    which the models learn precisely (mirrored validation faces: 1.65 px RMSE
    for v3-cpu, 1.19 px once shifted back, 1.03 px unmirrored).
    """
    do_flip = tf.convert_to_tensor(do_flip, tf.bool)
    sign = tf.where(do_flip, -1.0, 1.0)
    offset = tf.where(do_flip, 2.0 * axis, 0.0)
    zero, one = tf.zeros_like(sign), tf.ones_like(sign)
    rows = [sign, zero, offset, zero, one, zero, zero, zero, one]
    return tf.cast(tf.reshape(tf.stack(rows, axis=-1), (-1, 3, 3)), tf.float64)


def transform_matrices(batch_size, recipe, seed):
    """Random geometry of a recipe: (matrices, flipped).

    matrices: (batch, 3, 3) float32, input -> output pixel coordinates,
    composed as shift-zoom-rotation @ perspective @ flip; flipped: (batch,)
    bool, the images whose left/right keypoints must be swapped.
    """
    recipe, seed = get_recipe(recipe), as_seed(seed)
    n = tf.reshape(tf.cast(batch_size, tf.int32), [1])
    flipped = _chance(seed, "flip", n, recipe.flip)
    matrices = flip_matrices(flipped)
    if recipe.perspective:
        d = recipe.perspective * IMAGE_SIZE
        corners = _uniform(seed, "perspective", tf.concat([n, [4, 2]], 0), -d, d)
        matrices = perspective_matrices(corners) @ matrices
    if recipe.rotation or recipe.shift or recipe.scale != (1.0, 1.0):
        angles = _uniform(seed, "angle", n, -recipe.rotation, recipe.rotation)
        scales = _uniform(seed, "scale", n, *recipe.scale)
        d = recipe.shift * IMAGE_SIZE
        shifts = _uniform(seed, "shift", tf.concat([n, [2]], 0), -d, d)
        matrices = affine_matrices(angles, scales, shifts) @ matrices
    return tf.cast(matrices, tf.float32), flipped


def transform_keypoints(keypoints, matrices):
    """Move keypoints (batch, 30) by matrices (batch, 3, 3); outside FRAME -> NaN."""
    points = tf.reshape(tf.cast(keypoints, tf.float32), (-1, kp.NUM_KEYPOINTS, 2))
    ones = tf.ones_like(points[..., :1])
    moved = tf.einsum("bij,bkj->bki", tf.cast(matrices, tf.float32),
                      tf.concat([points, ones], axis=-1))
    w = moved[..., 2:]
    xy = moved[..., :2] / w
    inside = tf.reduce_all((xy >= FRAME[0]) & (xy <= FRAME[1]), axis=-1, keepdims=True)
    xy = tf.where(inside & (w > 0), xy, np.nan)
    return tf.reshape(xy, (-1, NUM_COORDS))


def apply_transform(images, keypoints, matrices, fill_mode="constant"):
    """Warp images (batch, 96, 96, 1) and keypoints (batch, 30) by matrices.

    matrices: (batch, 3, 3), input -> output pixel coordinates. The pixel op
    wants the inverse (output -> input), so it gets ``inv(matrices)``.
    Keypoints are not swapped here (see swap_left_right).
    """
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode: expected one of {FILL_MODES}, got {fill_mode!r}")
    inverse = tf.linalg.inv(tf.cast(matrices, tf.float64))
    inverse = inverse / inverse[:, 2:, 2:]
    transforms = tf.cast(tf.reshape(inverse, (-1, 9))[:, :8], tf.float32)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=[IMAGE_SIZE, IMAGE_SIZE],
        fill_value=0.0, interpolation="BILINEAR", fill_mode=fill_mode.upper())
    return warped, transform_keypoints(keypoints, matrices)


def swap_left_right(keypoints, do_swap):
    """Swap the left/right keypoint pairs of the rows where `do_swap` is True."""
    points = tf.reshape(keypoints, (-1, kp.NUM_KEYPOINTS, 2))
    swapped = tf.gather(points, kp.FLIP_PERMUTATION, axis=1)
    points = tf.where(tf.reshape(do_swap, (-1, 1, 1)), swapped, points)
    return tf.reshape(points, (-1, NUM_COORDS))


# === Photometry =============================================================

def gaussian_blur(images, sigmas):
    """Blur each image with its own sigma (batch,) pixels; sigma 0 = unchanged.

    A separable kernel of 2 * BLUR_RADIUS + 1 taps with symmetric padding at
    the border. The batch is moved to the channel axis so that one depthwise
    convolution per axis blurs every image with its own kernel (no loop).
    """
    r = BLUR_RADIUS
    taps = tf.range(-r, r + 1, dtype=tf.float32)
    sigmas = tf.maximum(tf.reshape(sigmas, (-1, 1)), 1e-3)
    weights = tf.exp(-0.5 * tf.square(taps / sigmas))                # (batch, taps)
    weights = tf.transpose(weights / tf.reduce_sum(weights, -1, keepdims=True))
    n = tf.shape(images)[0]
    padded = tf.pad(images, [[0, 0], [r, r], [r, r], [0, 0]], mode="SYMMETRIC")
    channels = tf.transpose(padded, [3, 1, 2, 0])                    # (1, h, w, batch)
    for kernel_shape in ((2 * r + 1, 1, n, 1), (1, 2 * r + 1, n, 1)):
        channels = tf.nn.depthwise_conv2d(channels, tf.reshape(weights, kernel_shape),
                                          strides=[1, 1, 1, 1], padding="VALID")
    return tf.transpose(channels, [3, 1, 2, 0])


def cutout(images, apply, sizes, centers, values):
    """Fill one axis-aligned rectangle per image where `apply` (batch,) is True.

    sizes and centers: (batch, 2) pixels (x, y); values: (batch,) grey levels.
    """
    grid = tf.range(IMAGE_SIZE, dtype=tf.float32)
    inside_x = tf.abs(grid[None, :] - centers[:, :1]) < sizes[:, :1] / 2   # (batch, 96)
    inside_y = tf.abs(grid[None, :] - centers[:, 1:]) < sizes[:, 1:] / 2
    mask = inside_y[:, :, None, None] & inside_x[:, None, :, None]
    mask &= tf.reshape(apply, (-1, 1, 1, 1))
    return tf.where(mask, tf.reshape(values, (-1, 1, 1, 1)), images)


def photometric(images, recipe, seed):
    """Random contrast, brightness, gamma, blur, noise and cutout; stays in [0, 1].

    Only the augmenters the recipe uses are computed; ``none`` returns `images`.
    """
    recipe, seed = get_recipe(recipe), as_seed(seed)
    if not recipe.photometric:
        return images
    n = tf.shape(images)[:1]
    per_image = tf.concat([n, [1, 1, 1]], 0)
    if recipe.contrast != (1.0, 1.0):
        factor = _uniform(seed, "contrast", per_image, *recipe.contrast)
        mean = tf.reduce_mean(images, axis=(1, 2, 3), keepdims=True)
        images = images * factor + mean * (1.0 - factor)
    if recipe.brightness:
        images += _uniform(seed, "brightness", per_image, -recipe.brightness, recipe.brightness)
    images = tf.clip_by_value(images, 0.0, 1.0)
    if recipe.gamma != (1.0, 1.0):
        log_gamma = _uniform(seed, "gamma", per_image, *np.log(recipe.gamma))
        images = tf.exp(tf.exp(log_gamma) * tf.math.log(images))  # x ** gamma, faster than pow
    if recipe.blur:
        sigmas = _uniform(seed, "blur_sigma", n, *recipe.blur_sigma)
        sigmas = tf.where(_chance(seed, "blur", n, recipe.blur), sigmas, 0.0)
        images = gaussian_blur(images, sigmas)
    if recipe.noise:
        std = _uniform(seed, "noise_std", per_image, 0.0, recipe.noise)
        images += std * tf.random.stateless_normal(tf.shape(images), _seed(seed, "noise"))
    if recipe.cutout:
        two = tf.concat([n, [2]], 0)
        lo, hi = (v * IMAGE_SIZE for v in recipe.cutout_size)
        images = cutout(images, _chance(seed, "cutout", n, recipe.cutout),
                        _uniform(seed, "cutout_size", two, lo, hi),
                        _uniform(seed, "cutout_center", two, 0.0, IMAGE_SIZE - 1.0),
                        _uniform(seed, "cutout_value", n, 0.0, 1.0))
    return tf.clip_by_value(images, 0.0, 1.0)


# === The batch augmenter ====================================================

def augment_batch(images, keypoints, recipe, seed):
    """Augment a batch with a recipe; returns (images, keypoints), same shapes.

    Args:
        images: float32 (batch, 96, 96, 1) in [0, 1]; the batch size may be
            unknown (inside tf.data.Dataset.map).
        keypoints: float32 (batch, 30) pixels, NaN = missing.
        recipe: a name of RECIPES, a Recipe or a dict of Recipe fields.
        seed: int or int tensor of shape (2,); the same seed gives the same batch.

    Keypoints moved out of the frame become NaN; mirrored faces have their
    left/right keypoints swapped.
    """
    recipe = get_recipe(recipe)
    images, keypoints = check_batch(images, keypoints)
    seed = as_seed(seed)
    if recipe.geometric:
        matrices, flipped = transform_matrices(tf.shape(images)[0], recipe,
                                               _seed(seed, "geometry"))
        images, keypoints = apply_transform(images, keypoints, matrices, recipe.fill_mode)
        keypoints = swap_left_right(keypoints, flipped)
    images = photometric(images, recipe, _seed(seed, "photometry"))
    return images, keypoints
