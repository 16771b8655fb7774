"""Named datasets built from the sources, cached under ``data/``.

``faces15`` (the default): YouTube-Faces (all 15 keypoints) + MTFL training
(5 of 15 labelled, 10 missing), the same mix of complete and partial labels
as Kaggle's training.csv.

Splits, stored in ``meta["split"]``, go by *identity* (``meta["person"]``),
one split per identity across every source:

* YouTube-Faces people are LFW names, and so are the photos of MTFL's
  ``lfw_5590`` part (the name is in the file path): the same person has the
  same identity in both. MTFL's ``net_7876`` part and its AFLW test photos
  carry no names, so each of those photos is its own identity (a person
  photographed twice there could, unknowably, sit in two splits).
* ``test``: YouTube-Faces people whose identity hashes below TEST_FRACTION
  (the Udacity download's own train/test share every person, so we re-split).
  Their photos in MTFL's training.txt go to ``excluded``: kept in the cache,
  never trained, validated or tested on.
* ``val`` / ``train``: every other identity, in every source; an identity is
  in ``val`` when a second, independent hash of it falls below the validation
  fraction (``Profile.validation_split``, applied by ``load_splits``; the cache
  stores the default VALIDATION_FRACTION).
* ``test_mtfl``: MTFL's testing.txt (AFLW photos), with its attributes.

So no identity is in two of train / val / test / test_mtfl (tests/test_datasets.py
checks this over all rows). ``kaggle``: the competition's training.csv has no
identities (Kaggle published none), so each row is its own identity: 20 % of
rows for validation, and photos of one person may sit in both.

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
from ..core.errors import LandmarkError
from ..core.files import atomic_path, write_json
from .faceset import FaceSet
from .sources import find_root, kaggle, mtfl, stable_fraction, youtube_faces

# Bump when the conversion (framing, mapping, splits) changes: caches rebuild.
# 4: exact crop framing, identity splits across sources.
CONVERTER_VERSION = 4
TEST_FRACTION = 0.2        # of YouTube-Faces people
# Of the other identities; the profile's validation_split replaces it in load_splits.
VALIDATION_FRACTION = config.Profile.validation_split
VALIDATION_SALT = "val:"   # the validation hash is independent of the test hash
TRAINING_SPLITS = ("train", "val")
EXCLUDED = "excluded"      # photos of test people in a source that has no test role
DATASETS = ("faces15", "kaggle")


def test_people(identities, test_fraction=TEST_FRACTION):
    """The identities (a set) whose stable hash falls below `test_fraction`.

    Args:
        identities: identity keys (``meta["person"]``) of a source with a test role.
        test_fraction: the share of identities that become test people.
    """
    return {k for k in pd.unique(np.array([str(k) for k in identities], dtype=object))
            if stable_fraction(k) < test_fraction}


def train_or_val(identities, validation_fraction=VALIDATION_FRACTION):
    """'val' or 'train' per row, by a stable hash of the row's identity.

    Args:
        identities: identity keys, one per row.
        validation_fraction: the share of identities held out for validation.
    """
    if not 0 <= validation_fraction < 1:
        raise LandmarkError(f"validation_split: expected a fraction in [0, 1), "
                            f"got {validation_fraction!r}")
    keys = np.array([str(k) for k in identities], dtype=object)
    fraction = {k: stable_fraction(VALIDATION_SALT + k) for k in pd.unique(keys)}
    u = np.array([fraction[k] for k in keys], dtype=np.float64)
    return np.where(u < validation_fraction, "val", "train").astype(object)


def assign_splits(identities, tested=frozenset(), has_test_role=False):
    """The split of each row (see the module docstring) from its identity.

    Args:
        identities: identity keys, one per row.
        tested: the test people (``test_people`` of the source with a test role).
        has_test_role: True for that source (its test people go to ``test``);
            False for the others (their photos of test people are ``excluded``).
    """
    keys = np.array([str(k) for k in identities], dtype=object)
    split = train_or_val(keys)
    is_test = np.array([k in tested for k in keys], dtype=bool)
    split[is_test] = "test" if has_test_role else EXCLUDED
    return split


def build_faces15(roots=None, progress=True):
    """Convert YouTube-Faces + MTFL into the faces15 FaceSet (no cache)."""
    roots = roots or {}
    ytf = youtube_faces(roots.get("youtube-faces"), "all", progress)
    tested = test_people(ytf.meta["person"])
    ytf.meta["split"] = assign_splits(ytf.meta["person"], tested, has_test_role=True)
    mtfl_train = mtfl(roots.get("mtfl"), "train", progress)
    mtfl_train.meta["split"] = assign_splits(mtfl_train.meta["person"], tested)
    mtfl_test = mtfl(roots.get("mtfl"), "test", progress)
    mtfl_test.meta["split"] = "test_mtfl"
    return FaceSet.concat([ytf, mtfl_train, mtfl_test])


def build_kaggle(roots=None, progress=True):
    """Kaggle's training.csv; no identities, so each row is its own."""
    faces = kaggle((roots or {}).get("kaggle"), "train", progress)
    faces.meta["split"] = assign_splits(faces.meta["person"])
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
        raise LandmarkError(f"unknown dataset {name!r}; choose one of {DATASETS}")
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


def load_splits(name="faces15", max_images=None, seed=config.SEED,
                validation_fraction=VALIDATION_FRACTION, **kwargs):
    """Dict split name -> FaceSet (without ``excluded``), for training and evaluation.

    Args:
        name: a dataset of DATASETS.
        max_images: cap on the train split (a random subset; the other splits
            get a quarter of it), None for all.
        seed: the random subset's seed.
        validation_fraction: the share of training identities held out as
            ``val`` (``Profile.validation_split``); test splits never change.
        **kwargs: passed to ``load_dataset``.
    """
    faces = load_dataset(name, **kwargs)
    if validation_fraction != VALIDATION_FRACTION:
        meta = faces.meta.copy()
        rows = meta["split"].isin(TRAINING_SPLITS).to_numpy()
        meta.loc[rows, "split"] = train_or_val(meta.loc[rows, "person"], validation_fraction)
        faces = FaceSet(faces.images, faces.keypoints, meta)
    names = [s for s in pd.unique(faces.meta["split"]) if s != EXCLUDED]
    splits = {s: faces.split(s) for s in names}
    if max_images is not None:
        rng = np.random.default_rng(seed)
        for s, part in splits.items():
            cap = max_images if s == "train" else max(max_images // 4, 1)
            if len(part) > cap:
                splits[s] = part[np.sort(rng.choice(len(part), cap, replace=False))]
    return splits


def dataset_split(name="faces15", split="test", **kwargs):
    """The faces of one split of a dataset, exactly as training and evaluation use
    them (``load_splits`` with no cap and the default validation share): faces15's
    ``test`` is the 649 YouTube-Faces test faces the README's tables score.

    ``python -m landmarklib convert --dataset faces15 --split test --out F`` writes it.

    Args:
        name: a dataset of DATASETS.
        split: one of its splits (faces15: train, val, test, test_mtfl; kaggle: train, val).
        **kwargs: passed to ``load_dataset`` (e.g. ``progress``).
    """
    if name not in DATASETS:
        raise LandmarkError(f"--dataset {name}: unknown dataset; choose one of {', '.join(DATASETS)}")
    splits = load_splits(name, **kwargs)
    if split not in splits:
        raise LandmarkError(f"--split {split}: dataset {name} has the splits "
                            f"{', '.join(sorted(splits))}")
    return splits[split]
