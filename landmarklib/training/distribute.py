"""tf.distribute strategies for ``train``: one code path from a laptop CPU to
several GPUs, a Colab TPU or several machines. See README, "More than one device".

``get_strategy(name)``:

* ``default``: no distribution (one device);
* ``mirrored``: MirroredStrategy over all visible GPUs (or logical CPUs);
* ``tpu``: TPUStrategy on a Colab/Cloud TPU runtime;
* ``multi-worker``: MultiWorkerMirroredStrategy, configured by the standard
  ``TF_CONFIG`` environment variable (one process per machine);
* ``auto``: tpu on a TPU runtime, mirrored with several GPUs, else default.

Batch and learning rate. Each replica sees ``profile.batch_size`` images per
step, so the *global* batch is ``batch_size * replicas`` and an epoch takes
``replicas`` times fewer steps. The gradient is the mean over the global batch
(see ``GlobalBatchLoss``), so its noise shrinks with the batch; the learning
rate follows the square-root rule for Adam-type optimizers,
``learning_rate * sqrt(replicas)`` (``scaled_learning_rate``), with the
profile's warm-up epochs unchanged. To reproduce a one-device run on N
replicas, keep the global batch instead: ``batch_size / N`` per replica and
``learning_rate / sqrt(N)`` (what tests/test_distribute.py does).
"""
import glob
import json
import math
import os

import keras
import tensorflow as tf
from keras import ops

from . import keras_compat
from ..core.errors import LandmarkError

STRATEGIES = ("auto", "default", "mirrored", "tpu", "multi-worker")
# Device files of the TPU chips on a TPU VM (v2-v4: accel, v5e and later: vfio).
TPU_DEVICE_FILES = ("/dev/accel[0-9]*", "/dev/vfio/[0-9]*")
TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')
# One strategy of each kind per process, reused by every ``train`` call: a second
# MirroredStrategy reuses the first one's collective-op keys with other tensor
# shapes and fails, and a TPU or a cluster is set up once per process.
_CREATED = {}


# --- choosing a strategy -------------------------------------------------------

def get_strategy(name="auto"):
    """Return a tf.distribute.Strategy for `name` (see the module docstring)."""
    if isinstance(name, tf.distribute.Strategy):
        return name
    if name not in STRATEGIES:
        raise LandmarkError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if name == "auto":
        return _auto()
    if name == "default":
        return tf.distribute.get_strategy()
    if name not in _CREATED:
        _CREATED[name] = _create(name)
    return _CREATED[name]


def _create(name):
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "tpu":
        return _tpu_strategy()
    check_tf_config(os.environ.get("TF_CONFIG"))
    return tf.distribute.MultiWorkerMirroredStrategy()


def _auto():
    """The TPU if there is one TensorFlow can use, all GPUs if several, else one device."""
    if _tpu_target() is not None:
        try:
            return get_strategy("tpu")
        except ValueError as err:  # e.g. a TensorFlow without TPU support
            print(f"strategy auto: not using the TPU: {err}")
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return get_strategy("mirrored")
    return tf.distribute.get_strategy()


def _tpu_target():
    """What TPUClusterResolver connects to: a TPU name or address, "local", or None."""
    if os.environ.get("TPU_NAME"):
        return os.environ["TPU_NAME"]
    if os.environ.get("COLAB_TPU_ADDR"):  # the older Colab TPU runtime (TPU node)
        return "grpc://" + os.environ["COLAB_TPU_ADDR"]
    if any(glob.glob(pattern) for pattern in TPU_DEVICE_FILES):
        return "local"  # a TPU VM: the chips are attached to this machine
    return None


def _tpu_strategy():
    target = _tpu_target()
    if target is None:
        raise LandmarkError("strategy 'tpu' asked for, but no TPU was found (on Colab: "
                         "Runtime > Change runtime type > TPU)")
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver.connect(tpu=target)
    except (ValueError, RuntimeError, tf.errors.OpError) as err:
        raise LandmarkError(f"strategy 'tpu': a TPU ({target}) is there, but TensorFlow could not "
                         f"start it: {err}. The TensorFlow installed must be built for TPUs "
                         f"(Colab's TPU runtime image)") from None
    return tf.distribute.TPUStrategy(resolver)


def check_tf_config(text):
    """Validate the TF_CONFIG environment variable; return it parsed.

    It names every worker's address and this process's place among them (see
    TF_CONFIG_EXAMPLE): the same cluster on every worker, each its own index.
    """
    def fail(problem):
        raise LandmarkError(f"TF_CONFIG {problem}; expected e.g. TF_CONFIG='{TF_CONFIG_EXAMPLE}' "
                         f"(same cluster on every machine, each with its own index)")

    if not text:
        raise LandmarkError("strategy 'multi-worker' needs the TF_CONFIG environment variable "
                         f"(the cluster's addresses and this worker's task), e.g. "
                         f"TF_CONFIG='{TF_CONFIG_EXAMPLE}'; see README, \"Several machines\"")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        fail(f"is not valid JSON ({err})")
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        fail("has no \"cluster\" object")
    cluster, task = config["cluster"], config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        fail("needs \"task\": {\"type\": ..., \"index\": ...}")
    members = cluster.get(task["type"])
    if not isinstance(members, list) or not members:
        fail(f"task type {task['type']!r} is not a job of the cluster {sorted(cluster)}")
    if not isinstance(task["index"], int) or not 0 <= task["index"] < len(members):
        fail(f"task index {task['index']!r} is not in 0..{len(members) - 1} "
             f"for the {len(members)} {task['type']}(s)")
    return config


def is_multi_worker(strategy):
    """True for a strategy whose replicas live in several processes."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    spec = strategy.cluster_resolver.cluster_spec()
    return sum(spec.num_tasks(job) for job in spec.jobs if job in ("chief", "worker")) > 1


def is_chief(strategy):
    """True on the one worker that writes files (always true without multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type is None or task_type == "chief" or (task_type == "worker" and task_id == 0)


def check_workers_agree(strategy, **values):
    """Raise on every worker if the workers see different integer `values`.

    Workers that disagree (say one finds a checkpoint to resume from, another
    does not) would otherwise wait for each other forever. Every worker must
    call this at the same point. A no-op with a single process.
    """
    if not is_multi_worker(strategy):
        return
    mine = tf.constant([[int(v) for v in values.values()]], tf.int64)
    everyone = strategy.gather(strategy.run(lambda: tf.identity(mine)), axis=0).numpy()
    for column, name in enumerate(values):
        seen = sorted(set(everyone[:, column].tolist()))
        if len(seen) > 1:
            raise ValueError(f"the workers disagree on {name}: {everyone[:, column].tolist()} "
                             f"(one value per replica). Give every worker the same models "
                             f"folder (shared storage, LANDMARKLIB_MODELS) or train with --retrain")


def fit_ready(strategy, model):
    """Let ``model.fit`` run under MultiWorkerMirroredStrategy; returns `model`.

    Two steps of Keras 3's fit() fail there (keras-team/keras#20585):

    * before training it averages the first batch over all replicas with
      ``strategy.reduce``, only to learn its shapes, and the strategy cannot
      reduce an (images, keypoints) pair: this worker's own part of the batch
      has the same shapes, so the model is built from that instead;
    * it averages each step's logs over the replicas "along axis 0", which
      scalars lack: the steps return them as vectors of one value. These
      per-step logs only feed the progress bar; the epoch logs (history,
      checkpoints) are read from the metrics' sums over all workers, as with
      every strategy.

    Other strategies: unchanged.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return model

    def local_part(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def build_from_local_batch(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(local_part, next(batches))
                break
        with strategy.scope():
            keras_compat.symbolic_build(model, data_batch)  # what fit() calls

    def logs_as_vectors(step):
        return lambda data: tf.nest.map_structure(lambda v: tf.reshape(v, [1]), step(data))

    keras_compat.replace_symbolic_build(model, build_from_local_batch)  # this model only
    model.train_step = logs_as_vectors(model.train_step)
    model.test_step = logs_as_vectors(model.test_step)
    return model


# --- data, loss and learning rate ------------------------------------------------

def distribute_dataset(strategy, dataset):
    """Shard the input by data for several workers (each builds the same stream).

    Keras splits each global batch into per-replica batches; with DATA sharding
    worker k keeps the k-th part, so the workers see disjoint parts of the same
    global batch, as one device would see it whole.
    """
    if strategy.num_replicas_in_sync == 1 and not isinstance(
            strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def scaled_learning_rate(learning_rate, replicas):
    """The square-root rule: a global batch `replicas` times larger gets sqrt(replicas) x lr."""
    return learning_rate * math.sqrt(replicas)


@keras.saving.register_keras_serializable(package="landmarklib")
class GlobalBatchLoss(keras.losses.Loss):
    """A masked loss (sum over labelled coordinates / their count) over the *global* batch.

    Keras scales a loss by 1/replicas only when it returns one value per
    sample; a masked mean returns one number per replica, so without this its
    gradients would be summed over replicas and its value reported times the
    replica count. Here each replica returns its own sum divided by the count
    of labelled coordinates on *all* replicas: the replicas' values (and
    gradients) add up to exactly the one-device loss of the whole batch.
    With one replica it returns the wrapped loss unchanged.
    """

    def __init__(self, loss, name=None, **kwargs):
        super().__init__(name=name or getattr(loss, "__name__", "loss"), **kwargs)
        self.loss = loss

    def call(self, y_true, y_pred):
        value = self.loss(y_true, y_pred)
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return value
        labelled = ops.sum(ops.cast(ops.logical_not(ops.isnan(y_true)), value.dtype))
        everywhere = context.all_reduce("sum", tf.stop_gradient(labelled))
        return value * labelled / ops.maximum(everywhere, 1.0)

    def get_config(self):
        return {"loss": keras.saving.serialize_keras_object(self.loss), "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("reduction", None)
        config.pop("dtype", None)
        return cls(keras.saving.deserialize_keras_object(config.pop("loss")), **config)
