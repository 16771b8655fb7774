"""Named datasets built from the sources, cached under ``data/``.

``faces15`` (the default): YouTube-Faces (all 15 keypoints) + MTFL training
(5 of 15 labelled, 10 missing), the same mix of complete and partial labels
as Kaggle's training.csv. Splits, stored in ``meta["split"]``:

* ``train`` / ``val``: YouTube-Faces people and MTFL training faces, 20 % of
  the people held out for validation (choose models here);
* ``test``:      YouTube-Faces, 20 % of the people, never seen in train/val
  (the Udacity download's own train/test share every person, so we re-split);
* ``test_mtfl``: MTFL's testing.txt, with its attributes for per-group analysis.

``kaggle``: the competition's training.csv, 20 % of rows for validation.

The converted arrays are cached in ``data/<name>.npz`` + ``<name>.csv`` with a
manifest; they are rebuilt when an input file or the converter changes.
"""
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import config
from ..core.files import atomic_path, write_json
from .faceset import FaceSet
from .sources import find_root, kaggle, mtfl, stable_fraction, youtube_faces

# Bump when the conversion (framing, mapping, splits) changes: caches rebuild.
CONVERTER_VERSION = 3
TEST_FRACTION = 0.2        # of YouTube-Faces people
VALIDATION_FRACTION = 0.2  # of the remaining people (the original's validation split)
DATASETS = ("faces15", "kaggle")


def _assign_split(keys, test_fraction):
    """'test' / 'val' / 'train' per row from a stable hash of its person key."""
    u = np.array([stable_fraction(k) for k in keys])
    val_end = test_fraction + (1 - test_fraction) * VALIDATION_FRACTION
    return np.where(u < test_fraction, "test", np.where(u < val_end, "val", "train"))


def build_faces15(roots=None, progress=True):
    """Convert YouTube-Faces + MTFL into the faces15 FaceSet (no cache)."""
    roots = roots or {}
    ytf = youtube_faces(roots.get("youtube-faces"), "all", progress)
    ytf.meta["split"] = _assign_split(ytf.meta["person"], TEST_FRACTION)
    mtfl_train = mtfl(roots.get("mtfl"), "train", progress)
    mtfl_train.meta["split"] = _assign_split(mtfl_train.meta["person"], 0.0)
    mtfl_test = mtfl(roots.get("mtfl"), "test", progress)
    mtfl_test.meta["split"] = "test_mtfl"
    return FaceSet.concat([ytf, mtfl_train, mtfl_test])


def build_kaggle(roots=None, progress=True):
    faces = kaggle((roots or {}).get("kaggle"), "train", progress)
    faces.meta["split"] = _assign_split(faces.meta["person"], 0.0)
    return faces


_BUILDERS = {"faces15": (build_faces15, ("youtube-faces", "mtfl")),
             "kaggle": (build_kaggle, ("kaggle",))}


def _fingerprint(root):
    """Cheap but complete: label files' contents + every file's name and size."""
    h = hashlib.md5()
    # sorted by path components (as pathlib sorts), plain strings: fast for 10k+ files
    for parts, entry in sorted(_files(root), key=lambda item: item[0]):
        h.update("/".join(parts).encode())
        if entry.name.endswith((".txt", ".csv")):
            h.update(Path(entry.path).read_bytes())
        else:
            h.update(str(entry.stat().st_size).encode())
    return h.hexdigest()


def _files(folder, prefix=()):
    """Yield (path components below the root, DirEntry) of every file under `folder`."""
    for entry in os.scandir(folder):
        parts = prefix + (entry.name,)
        if entry.is_dir():
            yield from _files(entry.path, parts)
        elif entry.is_file():
            yield parts, entry


def manifest_for(name, roots=None):
    """What the cache of `name` must match: sources, their fingerprints, converter."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS}")
    roots = dict(roots or {})
    sources = {}
    for source in _BUILDERS[name][1]:
        root = find_root(source, roots.get(source))
        roots[source] = root
        sources[source] = {"root": str(root), "fingerprint": _fingerprint(root)}
    return {"dataset": name, "converter_version": CONVERTER_VERSION,
            "sources": sources}, roots


def _matches(a, b):
    """Compare manifests ignoring where the sources lie (a moved copy is the same)."""
    def key(m):
        return (m.get("dataset"), m.get("converter_version"),
                {k: v["fingerprint"] for k, v in m.get("sources", {}).items()})

    return key(a) == key(b)


def load_dataset(name="faces15", roots=None, rebuild=False, progress=True, cache_dir=None):
    """Return the named dataset as one FaceSet (see ``meta["split"]``), cached."""
    cache_dir = Path(cache_dir or config.DATA)
    npz, csv, man = (cache_dir / f"{name}{ext}" for ext in (".npz", ".csv", ".manifest.json"))
    wanted, roots = manifest_for(name, roots)
    if not rebuild and npz.exists() and csv.exists() and man.exists():
        if _matches(json.loads(man.read_text()), wanted):
            return _read_cache(npz, csv)
        if progress:
            print(f"{name}: inputs or converter changed, rebuilding the cache")
    start = time.perf_counter()
    faces = _BUILDERS[name][0](roots, progress)
    with atomic_path(npz) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, images=faces.images, keypoints=faces.keypoints)
    with atomic_path(csv) as tmp:
        faces.meta.to_csv(tmp, index=False)
    counts = faces.meta.groupby(["source", "split"]).size()
    wanted.update(images=len(faces), seconds=round(time.perf_counter() - start, 1),
                  counts={f"{s}/{p}": int(n) for (s, p), n in counts.items()})
    write_json(wanted, man)  # written last: it marks the cache complete
    return faces


def _read_cache(npz, csv):
    with np.load(npz) as arrays:
        images, keypoints = arrays["images"], arrays["keypoints"]
    meta = pd.read_csv(csv, low_memory=False)
    return FaceSet(images, keypoints, meta)


def load_splits(name="faces15", max_images=None, seed=config.SEED, **kwargs):
    """Dict split name -> FaceSet; `max_images` caps the train split (randomly)."""
    faces = load_dataset(name, **kwargs)
    splits = {s: faces.split(s) for s in pd.unique(faces.meta["split"])}
    if max_images is not None:
        rng = np.random.default_rng(seed)
        for s, part in splits.items():
            cap = max_images if s == "train" else max(max_images // 4, 1)
            if len(part) > cap:
                splits[s] = part[np.sort(rng.choice(len(part), cap, replace=False))]
    return splits
