"""tf.data input pipelines from cached FaceSets.

Images become float32 (batch, 96, 96, 1) in [0, 1]; keypoints stay
float32 (batch, 30) in pixels with NaN for missing ones (the masked losses
read the mask from the NaN).

The training stream is a function of (seed, epoch) only: epoch ``e`` draws
its shuffle order and its augmentation from stateless random ops seeded with
``(seed, e)``. A run resumed at epoch ``e`` therefore sees exactly the batches
the uninterrupted run would have seen. See 03_train, "Input pipeline".
"""
import numpy as np
import tensorflow as tf

from ..core import keypoints as kp
from ..core.errors import LandmarkError
from . import augment as augmentation
from .crop import to_uint8

# A large epoch count for the endless training stream; fit() stops it.
_MAX_EPOCHS = 100_000


def to_model_input(images):
    """uint8 (..., 96, 96) -> float32 (..., 96, 96, 1) in [0, 1] (numpy or tf)."""
    if isinstance(images, np.ndarray):
        return (images.astype(np.float32) / 255.0)[..., None]
    return tf.cast(images, tf.float32)[..., None] / 255.0


def steps_per_epoch(num_images, batch_size):
    return max(num_images // batch_size, 1)


def training_dataset(faces, batch_size, seed=0, augment=None, first_epoch=0):
    """Endless, shuffled, optionally augmented batches; pass steps_per_epoch to fit.

    Args:
        faces: a FaceSet (its images and keypoints are used).
        batch_size: images per batch (the last partial batch of an epoch is dropped).
        seed: the run's seed.
        augment: None, a recipe name of ``landmarklib.augment`` or a callable
            ``(images, keypoints, seed) -> (images, keypoints)`` on a batch.
        first_epoch: where to start the stream (for a resumed run).
    """
    if augment is not None and not callable(augment):
        recipe = augmentation.get_recipe(augment)
        augment = lambda x, y, s: augmentation.augment_batch(x, y, recipe, s)  # noqa: E731
    n = len(faces)
    if n < batch_size:
        batch_size = n
    images = tf.constant(faces.images)
    keypoints = tf.constant(faces.keypoints.astype(np.float32))
    steps = steps_per_epoch(n, batch_size)

    def epoch(e):
        order = tf.argsort(tf.random.stateless_uniform([n], seed=tf.stack([seed, e])))
        batches = tf.data.Dataset.from_tensor_slices(order[: steps * batch_size])
        batches = batches.batch(batch_size, drop_remainder=True)
        return batches.enumerate().map(lambda i, idx: (e, i, idx))

    def load(e, i, idx):
        x = to_model_input(tf.gather(images, idx))
        y = tf.gather(keypoints, idx)
        if augment is not None:
            x, y = augment(x, y, tf.stack([seed + 1, e * 1_000_003 + i]))
        return x, y

    ds = tf.data.Dataset.range(first_epoch, _MAX_EPOCHS).flat_map(epoch)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def eval_dataset(faces, batch_size=256):
    """Batches in order, no augmentation (validation, test, prediction)."""
    ds = tf.data.Dataset.from_tensor_slices(
        (faces.images, faces.keypoints.astype(np.float32)))
    ds = ds.batch(batch_size).map(lambda x, y: (to_model_input(x), y),
                                  num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def check_images(images):
    """Validate a batch of 96x96 images before prediction; returns uint8.

    Float images in [0, 1] are scaled to 0-255 (not truncated to black);
    see ``crop.to_uint8``.
    """
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None]
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[1:] != (kp.IMAGE_SIZE, kp.IMAGE_SIZE):
        raise LandmarkError(f"expected 96x96 grayscale images (N, 96, 96), got shape {images.shape}")
    return to_uint8(images, "images")
