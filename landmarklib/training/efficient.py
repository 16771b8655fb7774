"""V6's network: an inverted-residual backbone read out by soft-argmax heatmaps.

V1-V5 spend 240 MFLOP per face on plain 3x3 convolutions, the heatmap model
342 MFLOP. Landmark work at low resolution found that depthwise-separable
convolutions with batch norm (MobileNetV2's inverted residuals) keep the
accuracy at a small fraction of the cost, which on 2 CPU cores buys epochs.

    96x96x1 -> stem 3x3/2 (48x48x16) -> inverted residuals to 24, 12 and 6 px
    -> a light decoder back to 24x24 (upsample, skip, 1x1 + depthwise 3x3)
    -> one map per keypoint -> a readout layer (``models.SoftArgmax``: the
       integral, sub-pixel expected position of each map)

Every layer is a Keras layer and the readout uses ``keras.ops``, so the same
network trains on any Keras backend (JAX included, for
``benchmarks/gpu_train_speed.py``). Like every version it maps images in
[0, 1] to (batch, 30) pixels, so losses, metrics and plots need no change.

Its batch norm (``BatchNorm``) trains with TensorFlow's fused kernel: Keras 3's
own ``BatchNormalization`` computes the batch moments and their gradients with
separate ops, which on 2 CPU cores cost V6 half its training time
(``benchmarks/batchnorm_speed.py``: a 48x48x64 batch of 64, 56 ms forward and
backward against 15 ms fused; the whole network, 94 against 188 images/s).
"""
import keras
from keras import layers

from ..core import keypoints as kp

# (output channels, stride, expansion, repeats) per stage, after the 48x48x16 stem
STAGES = ((16, 1, 1, 1), (32, 2, 4, 2), (64, 2, 4, 3), (128, 2, 4, 3))
DECODER = (64, 48)   # channels after each upsampling step: 6 -> 12 -> 24 px


@keras.saving.register_keras_serializable(package="landmarklib")
class BatchNorm(layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` that trains with TensorFlow's fused kernel.

    Same weights, outputs, gradients and moving averages as the Keras layer (the
    moving variance is the biased batch variance, as Keras keeps it), one fused op
    instead of a dozen. Anywhere else (inference, another backend such as JAX, a
    mask, renorm, a tensor that is not channels-last float32 4-D) it is the Keras
    layer, so a saved V6 loads, converts to TFLite and runs as one with it.
    """

    def _fusable(self, inputs, training, mask):
        # (Keras 3.13, Colab's, has no renorm option: the getattr)
        return (training and self.trainable and mask is None and not getattr(self, "renorm", False)
                and self.center and self.scale and keras.backend.backend() == "tensorflow"
                and len(inputs.shape) == 4 and self.axis in (-1, 3)
                and keras.backend.standardize_dtype(inputs.dtype) == "float32")

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf  # the fused kernel is TensorFlow's; other backends never get here

        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, self.gamma, self.beta, epsilon=self.epsilon, is_training=True)[:3]
        # The fused op returns the unbiased variance n/(n-1) for the moving average;
        # Keras keeps the biased one, so undo the correction to match it exactly.
        count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:3]), variance.dtype)
        variance = variance * (count - 1.0) / tf.maximum(count, 1.0)
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum
                                    + variance * (1.0 - self.momentum))
        return outputs


def _bn_act(x, name):
    x = BatchNorm(name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def inverted_residual(x, filters, stride, expansion, name):
    """MobileNetV2's block: 1x1 expand, depthwise 3x3 (stride), 1x1 project, skip if shapes agree.

    Args:
        x: a (B, H, W, C) tensor.
        filters: output channels.
        stride: 1, or 2 to halve H and W.
        expansion: how many times C the depthwise convolution works on.
        name: the block's layer-name prefix.
    """
    inputs, channels = x, x.shape[-1]
    if expansion != 1:
        x = layers.Conv2D(channels * expansion, 1, use_bias=False, name=f"{name}_expand")(x)
        x = _bn_act(x, f"{name}_expand")
    x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False,
                               name=f"{name}_dw")(x)
    x = _bn_act(x, f"{name}_dw")
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_project")(x)
    x = BatchNorm(name=f"{name}_project_bn")(x)
    if stride == 1 and channels == filters:
        x = layers.Add(name=f"{name}_add")([inputs, x])
    return x


def network(readout, stages=STAGES, decoder=DECODER, name="v6"):
    """The V6 network (see the module docstring).

    Args:
        readout: a layer from (B, 24, 24, 15) maps to (B, 30) pixels
            (``models.SoftArgmax``, with the training mean shape as its prior).
        stages: (channels, stride, expansion, repeats) per backbone stage.
        decoder: channels after each 2x upsampling.
        name: the model's name.
    """
    inputs = keras.Input((kp.IMAGE_SIZE, kp.IMAGE_SIZE, 1), name="image")
    x = layers.Rescaling(2.0, offset=-1.0)(inputs)
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="stem")(x)
    x = _bn_act(x, "stem")
    skips = {}
    for s, (filters, stride, expansion, repeats) in enumerate(stages):
        for r in range(repeats):
            x = inverted_residual(x, filters, stride if r == 0 else 1, expansion, f"s{s}b{r}")
        skips[x.shape[1]] = x
    for step, width in enumerate(decoder):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"up{step}")(x)
        x = layers.Concatenate(name=f"skip{step}")([x, skips[x.shape[1]]])
        x = layers.Conv2D(width, 1, use_bias=False, name=f"dec{step}_mix")(x)
        x = _bn_act(x, f"dec{step}_mix")
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"dec{step}_dw")(x)
        x = _bn_act(x, f"dec{step}_dw")
    maps = layers.Conv2D(kp.NUM_KEYPOINTS, 1, name="heatmaps")(x)
    return keras.Model(inputs, readout(maps), name=name)
