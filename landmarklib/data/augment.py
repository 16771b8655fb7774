"""Keypoint-aware data augmentation, vectorised in the TensorFlow graph.

A *recipe* (``Recipe``) lists the ranges of every random change; ``RECIPES``
names the ones the models use:

* ``none``:   no change (the identity).
* ``v3``:     rotation only, like the original project's V3 model.
* ``v4``:     the original V4 list: rotation, horizontal flip, crop & pad
  (zoom and shift), perspective, brightness and contrast.
* ``strong``: v4 with wider ranges plus gamma, noise, blur and cutout.

``augment_batch(images, keypoints, recipe, seed)`` applies a recipe to a batch:

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
(``FRAME``); the mirror of ``x`` is ``95 - x``.

Every random number comes from ``tf.random.stateless_*`` ops seeded with a
shape-(2,) integer ``seed``: the same seed gives the same batch, in eager mode,
in a ``tf.function`` and inside ``tf.data.Dataset.map`` alike. The Keras layer
``KeypointAugmentation`` wraps ``augment_batch`` for augmentation on the GPU.
See 02_augment.
"""
from dataclasses import asdict, dataclass, fields, replace

import keras
import numpy as np
import tensorflow as tf

from ..core import keypoints as kp

IMAGE_SIZE = kp.IMAGE_SIZE
NUM_COORDS = 2 * kp.NUM_KEYPOINTS
CENTER = (IMAGE_SIZE - 1) / 2            # 47.5: pixel centres run from 0 to 95
FRAME = (-0.5, IMAGE_SIZE - 0.5)         # keypoints outside this range become NaN
FILL_MODES = ("constant", "reflect", "nearest", "wrap")
MAX_ROTATION = 180.0                     # degrees
MAX_PERSPECTIVE = 0.25                   # corner displacement, fraction of the image
BLUR_RADIUS = 3                          # taps on each side of the Gaussian kernel
MAX_BLUR_SIGMA = BLUR_RADIUS / 2         # the kernel covers +-2 sigma

# Independent random streams, one per random quantity: adding a new augmenter
# never changes the numbers drawn by the others.
_STREAMS = {name: i for i, name in enumerate((
    "geometry", "photometry", "flip", "perspective", "angle", "scale", "shift",
    "contrast", "brightness", "gamma", "blur", "blur_sigma", "noise", "noise_std",
    "cutout", "cutout_size", "cutout_center", "cutout_value",
))}


# === Recipes ================================================================

@dataclass(frozen=True)
class Recipe:
    """The ranges of one augmentation recipe; the defaults change nothing.

    Each random quantity is drawn independently per image, uniformly in its
    range (gamma log-uniformly). Lengths are fractions of the image size (96).

    Geometry, composed into one projective matrix per image:
        rotation: largest |angle| in degrees, 0..180 (positive = clockwise
            on screen, as y points down).
        flip: probability of a horizontal mirror (with the left/right swap).
        scale: (min, max) zoom about the image centre; > 1 crops, < 1 pads.
        shift: largest |shift| per axis (crop & pad off centre).
        perspective: largest displacement of each image corner per axis,
            0..0.25; the four moved corners define a homography.
        fill_mode: what fills pixels from outside the input image:
            "constant" (black), "reflect", "nearest" or "wrap".
    Photometry, per image, in this order; images stay in [0, 1]:
        contrast: (min, max) factor on the deviation from the image's mean.
        brightness: largest |value| added.
        gamma: (min, max) exponent applied to the pixel values.
        blur: probability of a Gaussian blur with sigma drawn in
            blur_sigma: (min, max) in pixels, at most MAX_BLUR_SIGMA.
        noise: largest standard deviation of additive Gaussian noise (the
            standard deviation is drawn per image in [0, noise]).
        cutout: probability of filling one rectangle with a random grey
            (an occluder; the keypoints under it stay labelled), with sides in
        cutout_size: (min, max).
    """

    rotation: float = 0.0
    flip: float = 0.0
    scale: tuple = (1.0, 1.0)
    shift: float = 0.0
    perspective: float = 0.0
    fill_mode: str = "constant"
    contrast: tuple = (1.0, 1.0)
    brightness: float = 0.0
    gamma: tuple = (1.0, 1.0)
    blur: float = 0.0
    blur_sigma: tuple = (0.0, 0.0)
    noise: float = 0.0
    cutout: float = 0.0
    cutout_size: tuple = (0.0, 0.0)

    def __post_init__(self):
        _check_number("rotation", self.rotation, 0.0, MAX_ROTATION)
        for name in ("flip", "blur", "cutout"):
            _check_number(name, getattr(self, name), 0.0, 1.0, what="a probability")
        _check_number("shift", self.shift, 0.0, 0.5)
        _check_number("perspective", self.perspective, 0.0, MAX_PERSPECTIVE)
        _check_number("brightness", self.brightness, 0.0, 1.0)
        _check_number("noise", self.noise, 0.0, 1.0)
        self._set_pair("scale", 1e-2, 10.0, positive=True)
        self._set_pair("contrast", 0.0, 10.0)
        self._set_pair("gamma", 1e-2, 10.0, positive=True)
        self._set_pair("blur_sigma", 0.0, MAX_BLUR_SIGMA)
        self._set_pair("cutout_size", 0.0, 1.0)
        if self.fill_mode not in FILL_MODES:
            raise ValueError(f"Recipe fill_mode: expected one of {FILL_MODES}, "
                             f"got {self.fill_mode!r}")

    def _set_pair(self, name, lo, hi, positive=False):
        """Validate a (min, max) range and store it as a tuple of floats."""
        value = getattr(self, name)
        if np.ndim(value) != 1 or len(value) != 2:
            raise ValueError(f"Recipe {name}: expected a (min, max) pair, got {value!r}")
        a, b = (_check_number(name, v, lo, hi) for v in value)
        if a > b or (positive and a <= 0):
            raise ValueError(f"Recipe {name}: expected {'0 < ' if positive else ''}"
                             f"min <= max, got {value!r}")
        object.__setattr__(self, name, (a, b))

    @property
    def geometric(self):
        """True if the recipe moves pixels (and keypoints)."""
        return bool(self.rotation or self.flip or self.shift or self.perspective
                    or self.scale != (1.0, 1.0))

    @property
    def photometric(self):
        """True if the recipe changes pixel values."""
        return bool(self.contrast != (1.0, 1.0) or self.brightness
                    or self.gamma != (1.0, 1.0) or self.blur or self.noise or self.cutout)

    def to_dict(self):
        return asdict(self)


def _check_number(name, value, lo, hi, what="a number"):
    """Return `value` as a float if lo <= value <= hi, else raise ValueError."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Recipe {name}: expected {what}, got {value!r}") from None
    if not lo <= value <= hi:
        raise ValueError(f"Recipe {name}: expected {what} in [{lo}, {hi}], got {value}")
    return value


NONE = Recipe()
V3 = Recipe(rotation=15.0)
# The original V4 used imgaug's Affine(rotate), Fliplr, CropAndPad, PerspectiveTransform,
# Multiply and LinearContrast; these ranges are their equivalents in our terms.
# Our crops are framed from the landmarks, so test faces barely vary in size and
# position: wide zoom/shift ranges spent the small network's capacity on
# variation the test never shows (v4-cpu with zoom 0.9-1.1, shift 5 %,
# perspective 4 %: 1.49 px validation RMSE vs 1.13 px without augmentation).
V4 = replace(V3, flip=0.5, scale=(0.96, 1.04), shift=0.02, perspective=0.02,
             brightness=0.1, contrast=(0.8, 1.2))
STRONG = replace(V4, rotation=25.0, scale=(0.85, 1.15), shift=0.08, perspective=0.06,
                 fill_mode="reflect", brightness=0.15, contrast=(0.7, 1.3),
                 gamma=(0.7, 1.4), blur=0.3, blur_sigma=(0.5, 1.5), noise=0.03,
                 cutout=0.3, cutout_size=(0.1, 0.3))
RECIPES = {"none": NONE, "v3": V3, "v4": V4, "strong": STRONG}

# The separate augmenters of a recipe, shown one at a time in 02_augment.
AUGMENTERS = {
    "rotation": ("rotation",),
    "flip": ("flip",),
    "crop & pad": ("scale", "shift"),
    "perspective": ("perspective",),
    "brightness & contrast": ("brightness", "contrast"),
    "gamma": ("gamma",),
    "blur": ("blur", "blur_sigma"),
    "noise": ("noise",),
    "cutout": ("cutout", "cutout_size"),
}
_PROBABILITIES = ("flip", "blur", "cutout")


def get_recipe(recipe, **overrides):
    """A Recipe from a name of RECIPES, a Recipe or a dict, with fields replaced.

    ``get_recipe("v4", rotation=30)`` is v4 with rotations up to 30 degrees.
    Unknown names or fields and out-of-range values raise ValueError.
    """
    if isinstance(recipe, str):
        if recipe not in RECIPES:
            raise ValueError(f"unknown augmentation recipe {recipe!r}; "
                             f"choose one of {sorted(RECIPES)}")
        recipe = RECIPES[recipe]
    elif isinstance(recipe, dict):
        overrides = {**recipe, **overrides}
        recipe = NONE
    elif not isinstance(recipe, Recipe):
        raise ValueError(f"expected a recipe name {sorted(RECIPES)}, a Recipe or a dict, "
                         f"got {type(recipe).__name__}")
    unknown = set(overrides) - {f.name for f in fields(Recipe)}
    if unknown:
        raise ValueError(f"unknown recipe fields {sorted(unknown)}; "
                         f"valid: {[f.name for f in fields(Recipe)]}")
    return replace(recipe, **overrides) if overrides else recipe


def single_augmenters(recipe="strong"):
    """Dict augmenter name -> Recipe with only that augmenter of `recipe` on.

    Probabilities are raised to 1 so that every image shows the augmenter;
    augmenters the recipe does not use are left out.
    """
    recipe = get_recipe(recipe)
    out = {}
    for name, names in AUGMENTERS.items():
        values = {f: getattr(recipe, f) for f in names}
        values.update({f: 1.0 for f in names if f in _PROBABILITIES})
        single = get_recipe(NONE, fill_mode=recipe.fill_mode, **values)
        if single.geometric or single.photometric:
            out[name] = single
    return out


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


def flip(images, keypoints, do_flip):
    """Mirror the rows where `do_flip` (batch,) is True: x -> 95 - x, pairs swapped.

    An exact mirror (no resampling); augment_batch gets the same result by
    composing ``flip_matrices`` into its one warp.
    """
    do_flip = tf.convert_to_tensor(do_flip, tf.bool)
    images = tf.where(tf.reshape(do_flip, (-1, 1, 1, 1)), tf.reverse(images, [2]), images)
    points = tf.reshape(keypoints, (-1, kp.NUM_KEYPOINTS, 2))
    mirrored = tf.stack([(IMAGE_SIZE - 1) - points[..., 0], points[..., 1]], axis=-1)
    points = tf.where(tf.reshape(do_flip, (-1, 1, 1)), mirrored, points)
    return images, swap_left_right(tf.reshape(points, (-1, NUM_COORDS)), do_flip)


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


class KeypointAugmentation(keras.layers.Layer):
    """A Keras layer that augments (images, keypoints) while training.

    Identity at inference (``training`` false or unset). Each training call
    uses the seed ``(seed, step)`` and then counts ``step`` up, so a run is
    reproducible and consecutive batches differ. Runs on the GPU if there is one,
    but not under XLA: ``ImageProjectiveTransformV3`` has no XLA kernel, so the
    layer sets ``supports_jit = False`` (Keras then compiles without XLA).

    Args:
        recipe: a name of RECIPES, a Recipe or a dict of its fields (default "v4").
        seed: int, the run's seed.

    Example:
        >>> layer = KeypointAugmentation("v4", seed=0)
        >>> images, keypoints = layer(images, keypoints, training=True)
    """

    def __init__(self, recipe="v4", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.recipe = get_recipe(recipe)
        self.seed = int(seed)
        self.supports_jit = False
        self.step = self.add_weight(shape=(), dtype="int64", initializer="zeros",
                                    trainable=False, name="step")

    def call(self, images, keypoints, training=None):
        if not training:
            return images, keypoints
        step = tf.convert_to_tensor(self.step.value)
        self.step.assign(step + 1)
        return augment_batch(images, keypoints, self.recipe,
                             tf.stack([tf.constant(self.seed, tf.int64), step]))

    def compute_output_spec(self, images, keypoints, training=None):
        return images, keypoints

    def get_config(self):
        return {**super().get_config(), "recipe": self.recipe.to_dict(), "seed": self.seed}


# === Figure =================================================================

def augmentation_grid(images, keypoints, recipes, seed=0, size=1.6):
    """A matplotlib Figure: one row per recipe, one column per face.

    images: uint8 (N, 96, 96) or float (N, 96, 96, 1); keypoints: (N, 30);
    recipes: dict title -> recipe (name, Recipe or dict). Subject's left
    keypoints are drawn in one colour, right ones in another, so that a
    flip visibly keeps "left" on the subject's left. See 02_augment.
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / 255.0
    images = images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1).astype(np.float32)
    keypoints = np.asarray(keypoints, np.float32)
    side = np.array(["left" if "left" in n else "right" if "right" in n else "centre"
                     for n in kp.NAMES])
    colours = {"left": "tab:red", "right": "tab:cyan", "centre": "yellow"}
    fig, axes = plt.subplots(len(recipes), len(images), squeeze=False,
                             figsize=(size * len(images), size * len(recipes)))
    for row, (title, recipe) in zip(axes, recipes.items()):
        out_images, out_points = augment_batch(images, keypoints, recipe, seed)
        for ax, image, points in zip(row, out_images.numpy(), kp.as_points(out_points.numpy())):
            ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1)
            for name, colour in colours.items():
                ax.scatter(*points[side == name].T, s=6, c=colour, linewidths=0)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(title, fontsize=8)
    fig.tight_layout(pad=0.2)
    return fig
