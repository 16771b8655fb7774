"""tf.distribute strategies for ``train``: one code path from a laptop CPU to
several GPUs, a Colab TPU or several machines.

``get_strategy(name)``:

* ``default``: no distribution (one device);
* ``mirrored``: MirroredStrategy over all visible GPUs (or logical CPUs);
* ``tpu``: TPUStrategy on a Colab/Cloud TPU runtime;
* ``multi-worker``: MultiWorkerMirroredStrategy, configured by the standard
  ``TF_CONFIG`` environment variable (one process per machine);
* ``auto``: tpu on a TPU runtime, mirrored with several GPUs, else default.

The *global* batch is ``profile.batch_size * replicas``: each replica sees
``batch_size`` images per step, so the per-replica work (and the learning rate
that suits it) does not change with the number of devices.
"""
import json
import os

import tensorflow as tf

STRATEGIES = ("auto", "default", "mirrored", "tpu", "multi-worker")


def _tpu_resolver():
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        resolver.master()  # raises when there is no TPU
        return resolver
    except (ValueError, KeyError, RuntimeError, tf.errors.NotFoundError):
        return None


def get_strategy(name="auto"):
    """Return a tf.distribute.Strategy for `name` (see the module docstring)."""
    if isinstance(name, tf.distribute.Strategy):
        return name
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {STRATEGIES}")
    if name == "auto":
        if os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME"):
            name = "tpu"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "tpu":
        resolver = _tpu_resolver()
        if resolver is None:
            raise ValueError("strategy 'tpu' asked for, but no TPU was found (on Colab: "
                             "Runtime > Change runtime type > TPU)")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    tf_config = os.environ.get("TF_CONFIG")
    if not tf_config:
        raise ValueError("strategy 'multi-worker' needs the TF_CONFIG environment variable "
                         "(cluster addresses and this worker's task); see the README")
    try:
        json.loads(tf_config)
    except json.JSONDecodeError as err:
        raise ValueError(f"TF_CONFIG is not valid JSON: {err}") from None
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy):
    """True on the one worker that writes files (always true without multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type is None or task_type == "chief" or (task_type == "worker" and task_id == 0)


def distribute_dataset(strategy, dataset):
    """Shard the input by data for several workers (each builds the same stream)."""
    if strategy.num_replicas_in_sync == 1 and not isinstance(
            strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
