"""FaceSet: the one in-memory form of a labelled face dataset."""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core import keypoints as kp


@dataclass
class FaceSet:
    """Images, keypoints and per-image metadata, row-aligned.

    Attributes:
        images: (N, 96, 96) uint8 grayscale crops.
        keypoints: (N, 30) float32 in Kaggle column order, NaN = unlabelled.
        meta: DataFrame with N rows (``source``, ``file``, ``person``,
            ``split`` and, for MTFL, ``gender``, ``smile``, ``glasses``, ``pose``).
    """

    images: np.ndarray
    keypoints: np.ndarray
    meta: pd.DataFrame

    def __post_init__(self):
        n = len(self.images)
        if self.images.shape[1:] != (kp.IMAGE_SIZE, kp.IMAGE_SIZE):
            raise ValueError(f"images must be (N, 96, 96), got {self.images.shape}")
        if self.keypoints.shape != (n, 2 * kp.NUM_KEYPOINTS):
            raise ValueError(f"keypoints must be ({n}, 30), got {self.keypoints.shape}")
        if len(self.meta) != n:
            raise ValueError(f"meta has {len(self.meta)} rows for {n} images")
        self.meta = self.meta.reset_index(drop=True)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        """Select rows by a boolean mask, an index array or a slice."""
        if isinstance(index, slice):
            index = np.arange(len(self))[index]
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        meta = self.meta.iloc[index].reset_index(drop=True)
        meta.attrs = dict(self.meta.attrs)
        return FaceSet(self.images[index], self.keypoints[index], meta)

    @property
    def mask(self):
        """(N, 30) bool: True where the coordinate is labelled."""
        return ~np.isnan(self.keypoints)

    @property
    def complete(self):
        """(N,) bool: rows with all 15 keypoints labelled."""
        return kp.complete(self.keypoints)

    def split(self, name):
        """Rows whose ``meta.split`` equals `name`."""
        return self[self.meta["split"].to_numpy() == name]

    @staticmethod
    def concat(parts):
        parts = list(parts)
        meta = pd.concat([p.meta for p in parts], ignore_index=True)
        return FaceSet(np.concatenate([p.images for p in parts]),
                       np.concatenate([p.keypoints for p in parts]), meta)
