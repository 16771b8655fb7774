"""Face datasets in the Kaggle format, and how they reach a model. May import ``core`` only.

Public modules (``__all__``):

* ``kaggle_csv``: the Kaggle CSV reader and writer;
* ``sources``: the public sources and their converters to Kaggle-format crops;
* ``download``: fetching a source's archive (resumed, checked, unpacked atomically);
* ``crop``: face crops, and the one image reader;
* ``faceset``: ``FaceSet``, the in-memory form of a labelled dataset;
* ``registry``: the cached datasets and their splits;
* ``recipes``: the augmentation recipes (ranges of every random change);
* ``augment``: keypoint-aware augmentation in the TensorFlow graph;
* ``pipeline``: the tf.data input pipeline.

Internal: ``archives``, where each archive is downloaded from and its sha256
(read by ``download``).

The functions most notebooks need are importable from here directly
(``lm.datasets.load_splits``); they load no TensorFlow.
"""
from ..core._exports import lazy_modules
from .crop import crop_face, crop_to_source, face_frame, read_gray, source_to_crop
from .faceset import FaceSet
from .kaggle_csv import BadRowError, read_kaggle_csv, write_kaggle_csv
from .registry import DATASETS, load_dataset, load_splits
from .sources import SOURCES, find_root, load_source, read_mtfl_list

MODULES = ["augment", "crop", "download", "faceset", "kaggle_csv", "pipeline", "recipes",
           "registry", "sources"]
__all__ = [
    "DATASETS", "SOURCES", "BadRowError", "FaceSet", "crop_face", "crop_to_source",
    "face_frame", "find_root", "load_dataset", "load_source", "load_splits",
    "read_gray", "read_kaggle_csv", "read_mtfl_list", "source_to_crop", "write_kaggle_csv",
] + MODULES
__getattr__, __dir__ = lazy_modules(__name__, MODULES)
