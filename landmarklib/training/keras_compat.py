"""Keras internals behind one door: the private Keras calls landmarklib makes.

Training needs three things Keras 3 has no public API for:

* ``flatten_layers``: every layer of a model, nested ones included (to save and
  restore Dropout's random state with a checkpoint, ``train.seed_states``);
* ``symbolic_build`` and ``replace_symbolic_build``: how ``model.fit`` builds
  the model from its first batch, which ``distribute.fit_ready`` replaces under
  MultiWorkerMirroredStrategy (keras-team/keras#20585).

They are private (``model._flatten_layers``, ``model._symbolic_build``,
``model._maybe_symbolic_build``) and may change in any Keras release, so each
call first checks that the installed Keras is one these calls were tested
with (``TESTED_KERAS``, both ends included); another version fails with one
line saying so, instead of a confusing error deep inside ``fit``.
"""
import re

import keras

# (major, minor) of the oldest and newest Keras the private calls were tested with:
# 3.13 is Colab's (3.13.2), 3.15 the pinned one (constraints.txt).
TESTED_KERAS = ((3, 13), (3, 15))


class UntestedKerasError(RuntimeError):
    """The installed Keras is outside TESTED_KERAS."""


def keras_version(version=None):
    """(major, minor) of `version` (default: the installed ``keras.__version__``)."""
    text = version or keras.__version__
    match = re.match(r"(\d+)\.(\d+)", text)
    if not match:
        raise UntestedKerasError(f"cannot read the Keras version {text!r}")
    return int(match.group(1)), int(match.group(2))


def check_keras(version=None, what="this"):
    """Raise UntestedKerasError unless `version` (default: installed) is in TESTED_KERAS.

    Args:
        version: a version string such as "3.13.2"; the installed Keras by default.
        what: the private call that needs it, for the message.
    """
    found = keras_version(version)
    low, high = TESTED_KERAS
    if not low <= found <= high:
        raise UntestedKerasError(
            f"landmarklib's {what} uses Keras internals tested with Keras "
            f"{low[0]}.{low[1]} to {high[0]}.{high[1]}, but Keras {version or keras.__version__} "
            f"is installed: pip install 'keras>={low[0]}.{low[1]},<{high[0]}.{high[1] + 1}'")


def _private(obj, name, what):
    """``getattr(obj, name)`` after the version check; a clear error if Keras dropped it."""
    check_keras(what=what)
    if not hasattr(obj, name):
        raise UntestedKerasError(f"landmarklib's {what}: this Keras ({keras.__version__}) has no "
                                 f"{type(obj).__name__}.{name}")
    return getattr(obj, name)


def flatten_layers(model, include_self=True):
    """Every layer of `model`, nested ones included (``Layer._flatten_layers``).

    Args:
        model: a built ``keras.Model`` (or any layer).
        include_self: list `model` itself first.
    """
    return list(_private(model, "_flatten_layers", "flatten_layers")(include_self=include_self))


def symbolic_build(model, data_batch):
    """Build `model` (its metrics and optimizer too) from one batch, as ``fit`` does.

    Args:
        model: a compiled ``keras.Model``.
        data_batch: one (inputs, targets) batch of plain tensors.
    """
    _private(model, "_symbolic_build", "symbolic_build")(data_batch=data_batch)


def replace_symbolic_build(model, build):
    """Make ``model.fit`` call ``build(iterator=None, data_batch=None)`` instead of
    its own first-batch build (``Trainer._maybe_symbolic_build``), for this model only.

    Args:
        model: a compiled ``keras.Model``.
        build: the replacement; it receives fit's epoch iterator or a batch.
    """
    _private(model, "_maybe_symbolic_build", "replace_symbolic_build")
    model._maybe_symbolic_build = build
