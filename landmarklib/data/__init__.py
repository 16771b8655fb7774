"""Face datasets in the Kaggle format, and how they reach a model.

Owns the Kaggle CSV reader and writer (``kaggle_csv``), the public sources and
their converters (``sources``), face crops (``crop``), the cached datasets and
their splits (``registry``), keypoint-aware augmentation (``augment``) and the
tf.data input pipeline (``pipeline``). May import ``core`` only.
"""
from .crop import crop_face, crop_to_source, face_frame, read_gray, source_to_crop
from .faceset import FaceSet
from .kaggle_csv import BadRowError, read_kaggle_csv, write_kaggle_csv
from .registry import DATASETS, load_dataset, load_splits
from .sources import SOURCES, find_root, load_source, read_mtfl_list

__all__ = [
    "DATASETS", "SOURCES", "BadRowError", "FaceSet", "crop_face", "crop_to_source",
    "face_frame", "find_root", "load_dataset", "load_source", "load_splits",
    "read_gray", "read_kaggle_csv", "read_mtfl_list", "source_to_crop", "write_kaggle_csv",
]
