"""The networks of the model versions, and how a model is applied.

What each version changes is its record in ``training.versions`` (re-exported
here: ``models.REGISTRY``, ``models.get_version``); this module builds the
network a record names (``build``):

* ``cnn``: V1-V5, four stages of strided 3x3 convolutions and a dense head;
* ``heatmap``: the same encoder, a small decoder to 24x24 maps, ``SoftArgmax``;
* ``transfer``: a Keras Applications backbone (MobileNetV3-Small);
* ``efficient``: V6, inverted residuals and ``SoftArgmax`` (``training.efficient``).

Every model maps float32 images (batch, 96, 96, 1) in [0, 1] to (batch, 30)
keypoints in pixels, so losses, metrics and plots never need to know which
version produced a prediction. The CNN is designed for 96x96 grayscale and
CPU speed: it strides early, keeps few channels at high resolution, and reads
out from a 6x6 map. See 03_train, "The model".
"""
import keras
import numpy as np
from keras import layers

from ..core import config
from ..core import keypoints as kp
from . import efficient
from .versions import MAIN_VERSION, REGISTRY, Version, get_version, tex_word

HALF = kp.IMAGE_SIZE / 2  # outputs are predicted as (x - 48) / 48, then rescaled


def _conv(x, filters, stride=1, name=None):
    x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=None if name is None else name + "_bn")(x)
    return layers.ReLU()(x)


def _keypoint_head(x, mean_keypoints=None):
    """Dense layer to 30 numbers, starting at the mean face, then to pixels.

    With `mean_keypoints` (30,) the bias starts at the training mean shape and
    the kernel near zero, so an untrained model already predicts the mean face.
    """
    bias = "zeros"
    if mean_keypoints is not None:
        bias = keras.initializers.Constant((np.asarray(mean_keypoints) - HALF) / HALF)
    head = layers.Dense(2 * kp.NUM_KEYPOINTS, name="keypoints", bias_initializer=bias,
                        kernel_initializer=keras.initializers.RandomNormal(stddev=1e-3))
    return _to_pixels(head(x))


def cnn(widths=(32, 64, 128, 256), dense=256, dropout=0.1, mean_keypoints=None, name="cnn"):
    """The V1-V4 network: 4 stages of (strided conv, conv), then a dense head.

    96 -> 48 -> 24 -> 12 -> 6 pixels; the 6x6 map is flattened (not pooled)
    so the head still knows *where* features are.
    """
    inputs = keras.Input((kp.IMAGE_SIZE, kp.IMAGE_SIZE, 1), name="image")
    x = layers.Rescaling(2.0, offset=-1.0)(inputs)  # [0, 1] -> [-1, 1]
    for stage, width in enumerate(widths):
        x = _conv(x, width, stride=2, name=f"stage{stage}_down")
        x = _conv(x, width, name=f"stage{stage}_conv")
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(dense, activation="relu")(x)
    return keras.Model(inputs, _keypoint_head(x, mean_keypoints), name=name)


def _to_pixels(normalised):
    """(x - 48) / 48 -> pixels, written once and inverted nowhere else."""
    return layers.Rescaling(HALF, offset=HALF, name="to_pixels")(normalised)


class SoftArgmax(layers.Layer):
    """Heatmaps (B, H, W, K) -> expected (x, y) of each softmax map, in pixels (B, 2K).

    With `mean_keypoints` (30,), a fixed Gaussian log-prior centred on each
    mean keypoint is added to its map, so an untrained model predicts the
    mean face (as the CNN's head does) instead of the image centre.
    """

    PRIOR_SIGMA = 1.5  # heatmap cells

    def __init__(self, mean_keypoints=None, **kwargs):
        super().__init__(**kwargs)
        self.mean_keypoints = None if mean_keypoints is None else [float(v) for v in mean_keypoints]

    def build(self, input_shape):
        h, w, k = input_shape[1], input_shape[2], input_shape[3]
        prior = np.zeros((h, w, k), np.float32)
        if self.mean_keypoints is not None:
            pts = np.nan_to_num(kp.as_points(np.asarray(self.mean_keypoints)), nan=HALF)
            cx = (np.arange(w) + 0.5) * (kp.IMAGE_SIZE / w) - 0.5
            cy = (np.arange(h) + 0.5) * (kp.IMAGE_SIZE / h) - 0.5
            cell = kp.IMAGE_SIZE / w
            dx = (cx[None, :, None] - pts[None, None, :, 0]) / cell
            dy = (cy[:, None, None] - pts[None, None, :, 1]) / cell
            prior = (-(dx ** 2 + dy ** 2) / (2 * self.PRIOR_SIGMA ** 2)).astype(np.float32)
        self.prior = self.add_weight(shape=(h, w, k), trainable=False, name="prior",
                                     initializer=keras.initializers.Constant(prior))

    def call(self, heatmaps):
        from keras import ops

        heatmaps = heatmaps + self.prior
        shape = ops.shape(heatmaps)
        h, w, k = heatmaps.shape[1], heatmaps.shape[2], heatmaps.shape[3]
        flat = ops.reshape(ops.transpose(heatmaps, (0, 3, 1, 2)), (shape[0], k, h * w))
        prob = ops.reshape(ops.softmax(flat, axis=-1), (shape[0], k, h, w))
        # centre of heatmap cell j in crop pixels: (j + 0.5) * 96 / w - 0.5
        xs = (ops.arange(w, dtype="float32") + 0.5) * (kp.IMAGE_SIZE / w) - 0.5
        ys = (ops.arange(h, dtype="float32") + 0.5) * (kp.IMAGE_SIZE / h) - 0.5
        x = ops.sum(ops.sum(prob, axis=2) * xs, axis=-1)
        y = ops.sum(ops.sum(prob, axis=3) * ys, axis=-1)
        return ops.reshape(ops.stack([x, y], axis=-1), (shape[0], 2 * k))

    def get_config(self):
        return {**super().get_config(), "mean_keypoints": self.mean_keypoints}


def heatmap(widths=(32, 64, 128, 256), mean_keypoints=None, name="heatmap"):
    """Encoder as in ``cnn`` + a small decoder back to 24x24 heatmaps.

    `mean_keypoints` sets the soft-argmax's prior (see SoftArgmax). The
    soft-argmax (integral) readout is differentiable, so the same masked
    coordinate loss trains it: no heatmap targets to render.
    """
    inputs = keras.Input((kp.IMAGE_SIZE, kp.IMAGE_SIZE, 1), name="image")
    x = layers.Rescaling(2.0, offset=-1.0)(inputs)
    skips = []
    for stage, width in enumerate(widths):
        x = _conv(x, width, stride=2, name=f"stage{stage}_down")
        x = _conv(x, width, name=f"stage{stage}_conv")
        skips.append(x)
    for skip in (skips[2], skips[1]):  # 6 -> 12 -> 24
        x = layers.UpSampling2D(2, interpolation="bilinear")(x)
        x = layers.Concatenate()([x, skip])
        x = _conv(x, skip.shape[-1] // 2)
    maps = layers.Conv2D(kp.NUM_KEYPOINTS, 1, name="heatmaps")(x)
    readout = SoftArgmax(mean_keypoints, name="soft_argmax")
    return keras.Model(inputs, readout(maps), name=name)


def transfer(weights=None, mean_keypoints=None, name="transfer"):
    """MobileNetV3-Small backbone at 96x96 with a regression head.

    ``weights``: "imagenet" (downloaded by Keras where the network allows,
    e.g. Colab), a path to a local weights file, or "none"; by default
    ``config.TRANSFER_WEIGHTS`` (environment variable
    LANDMARKLIB_TRANSFER_WEIGHTS). If they cannot be loaded it says so and
    trains from scratch. The returned model's ``backbone_weights`` says which
    weights it started from ("none" = random).
    """
    weights = config.TRANSFER_WEIGHTS if weights is None else weights
    wanted = None if str(weights).lower() == "none" else str(weights)
    inputs = keras.Input((kp.IMAGE_SIZE, kp.IMAGE_SIZE, 1), name="image")
    rgb = layers.Concatenate()([inputs, inputs, inputs])
    x = layers.Rescaling(255.0)(rgb)  # MobileNetV3 rescales 0-255 itself
    backbone = None
    for attempt in ([wanted] if wanted is None else [wanted, None]):
        try:
            backbone = keras.applications.MobileNetV3Small(
                input_shape=(kp.IMAGE_SIZE, kp.IMAGE_SIZE, 3), include_top=False,
                weights=attempt, minimalistic=True, include_preprocessing=True)
            break
        except Exception as err:  # no network, or a bad file: fall back, loudly
            print(f"transfer: could not load weights {attempt!r} ({type(err).__name__}: "
                  f"{str(err)[:120]}); training the backbone from scratch instead")
    x = backbone(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    model = keras.Model(inputs, _keypoint_head(x, mean_keypoints), name=name)
    model.backbone_weights = attempt or "none"
    return model


def v6(mean_keypoints=None, name="v6"):
    """V6: ``efficient.network`` read out by ``SoftArgmax`` (the mean shape as its prior)."""
    return efficient.network(SoftArgmax(mean_keypoints, name="soft_argmax"), name=name)


BUILDERS = {"cnn": cnn, "heatmap": heatmap, "transfer": transfer, "efficient": v6}


def build(version, **kwargs):
    """A fresh, uncompiled model for `version` (a key of REGISTRY)."""
    return BUILDERS[get_version(version).builder](**kwargs)


CUSTOM_OBJECTS = {"SoftArgmax": SoftArgmax}


# === Applying a model ===

def predict(model, images, flip=False, batch_size=256):
    """(N, 30) keypoints in pixels for uint8 images (N, 96, 96)."""
    # Imported here so that building a model needs Keras only (any backend), not TensorFlow.
    from ..data.pipeline import check_images, to_model_input

    images = check_images(images)
    x = to_model_input(images.astype(np.uint8) if images.dtype != np.uint8 else images)
    pred = _predict_array(model, x, batch_size)
    if flip:
        mirrored = _predict_array(model, mirror(x), batch_size)
        pred = (pred + kp.flip_horizontal(mirrored, axis=kp.FACE_AXIS_X)) / 2
    return np.clip(pred, 0, kp.IMAGE_SIZE)


def mirror(x, axis=kp.FACE_AXIS_X):
    """Mirror images (N, H, W, 1) about the vertical line x = `axis`.

    Reversing the columns mirrors about the image centre (47.5); the faces'
    midline is at FACE_AXIS_X, so the reversed image is then shifted right by
    2 * axis - 95 px (linear interpolation, black where nothing comes in), as
    the training augmentation mirrors (``augment.flip_matrices``).
    """
    reversed_ = x[:, :, ::-1]
    shift = 2 * axis - (x.shape[2] - 1)
    whole = int(np.floor(shift))
    frac = shift - whole
    out = (1 - frac) * _shift_columns(reversed_, whole) + frac * _shift_columns(reversed_, whole + 1)
    return out.astype(x.dtype)


def _shift_columns(x, n):
    """out[..., u, :] = x[..., u - n, :], zeros where u - n is outside."""
    out = np.zeros_like(x)
    if n >= 0:
        out[:, :, n:] = x[:, :, :x.shape[2] - n]
    else:
        out[:, :, :n] = x[:, :, -n:]
    return out


def _predict_array(model, x, batch_size):
    out = [np.asarray(model(x[i:i + batch_size], training=False))
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 2 * kp.NUM_KEYPOINTS), np.float32)
