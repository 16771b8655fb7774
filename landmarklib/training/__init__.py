"""Model versions, the training loop and saved runs. May import ``core`` and ``data``.

Public modules (``__all__``):

* ``versions``: the model versions (V1-V5, heatmap, transfer; V6 a candidate), one
  record each (``versions.REGISTRY``); imports neither Keras nor TensorFlow;
* ``models``: how each version's network is built and how a model is applied;
* ``efficient``: V6's network (a candidate), inverted residuals read out by heatmaps;
* ``train``: ``train(version, profile)``, the one training entry point;
* ``climb``: V6's climb, one run per row of ``versions.CLIMB`` (``make climb``);
* ``runs``: saved runs: where a run lives, whether it can be reused, opening one;
* ``run_names``: how a run folder is named (the one function that spells it);
* ``run_files``: a run folder's files, read without Keras or TensorFlow;
* ``distribute``: tf.distribute strategies, from a laptop CPU to several GPUs.

Internal: ``keras_compat``, the private Keras calls landmarklib makes, behind one door.
"""
from ..core._exports import lazy_modules

__all__ = ["climb", "distribute", "efficient", "models", "run_files", "run_names", "runs", "train",
           "versions"]
__getattr__, __dir__ = lazy_modules(__name__, __all__)
