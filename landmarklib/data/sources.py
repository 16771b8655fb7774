"""Where face data comes from, and how it becomes 96x96 Kaggle-format crops.

Each source reads its public download layout from a ``root`` folder:

* ``youtube-faces``: the Udacity P1 repository's ``data/`` (68 iBUG points);
* ``mtfl``: MTFL v1.0 (5 points + gender/smile/glasses/pose);
* ``kaggle``: the competition's training.csv (needs a Kaggle account);
* ``csv``: any Kaggle-format CSV file.

Roots are found in this order: the ``root`` argument, an environment variable
(``LANDMARKLIB_YOUTUBE_FACES``, ``LANDMARKLIB_MTFL``, ``LANDMARKLIB_KAGGLE``),
the read-only copies in ``../shared/data/``, ``data/raw/<source>/``, and
finally a download into ``data/raw/<source>/``: from the public home, else a
mirror (``archives.py``: where from, checksums; ``download.py``: resuming,
an atomic unpack checked by ``download_problems`` here).
"""
import hashlib
import os
import zipfile
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import config
from ..core import keypoints as kp
from ..core.errors import LandmarkError, quote
from . import archives
from . import download as downloads  # find_root's `download` is a flag
from .crop import crop_face, read_gray
from .faceset import FaceSet
from .kaggle_csv import read_kaggle_csv

# The primary download of each source; its mirrors and checksums: archives.ARCHIVES.
URLS = {name: sources[0].url for name, sources in archives.ARCHIVES.items()}
KAGGLE_COMPETITION = "facial-keypoints-detection"
SOURCES = ("youtube-faces", "mtfl", "kaggle", "csv")
MTFL_ATTRIBUTES = ("gender", "smile", "glasses", "pose")
# YouTube-Faces (Udacity P1 layout): the download's split -> (label CSV, photo folder).
YOUTUBE_FACES_PARTS = {"train": ("training_frames_keypoints.csv", "training"),
                       "test": ("test_frames_keypoints.csv", "test")}
# Files whose presence marks a root for each source: its training list, or,
# for the source's own test split, its test list (a folder may hold only that).
_MARKERS = {
    "youtube-faces": "training_frames_keypoints.csv",
    "mtfl": "training.txt",
    "kaggle": "training.csv",
}
_TEST_MARKERS = {
    "youtube-faces": "test_frames_keypoints.csv",
    "mtfl": "testing.txt",
    "kaggle": "test.csv",
}
# The photo folders a downloaded source's folder holds besides its two label lists.
_PHOTO_FOLDERS = {
    "youtube-faces": tuple(folder for _, folder in YOUTUBE_FACES_PARTS.values()),
    "mtfl": ("lfw_5590", "net_7876", "AFLW"),
}


def person_of(file_name):
    """YouTube-Faces frames are ``<Person_Name>_<clip><frame>.jpg``."""
    return Path(file_name).stem.rsplit("_", 1)[0]


def stable_fraction(key):
    """A number in [0, 1) fixed by `key` on every machine (for splits)."""
    return int(hashlib.md5(key.encode()).hexdigest()[:8], 16) / 16**8


# --- finding or downloading a root -------------------------------------------

def find_root(source, root=None, download=True, split="all"):
    """Return the folder holding `source`'s files (see the module docstring).

    Args:
        source: one of the keys of _MARKERS.
        root: an explicit folder (never silently replaced by another).
        download: fetch the source when no local copy is found.
        split: "test" needs only the source's test list (e.g. MTFL's
            testing.txt); "train" and "all" need its training list.
    """
    if source not in _MARKERS:
        raise LandmarkError(f"unknown source {source!r}; choose one of {SOURCES}")
    marker = _TEST_MARKERS[source] if split == "test" else _MARKERS[source]
    if root is not None:  # an explicit root is never silently replaced
        if not (Path(root) / marker).exists():
            raise FileNotFoundError(
                f"{root}: no {marker} here; is this a {source} folder?")
        return Path(root)
    env = os.environ.get("LANDMARKLIB_" + source.upper().replace("-", "_"))
    candidates = [env, config.SHARED_DATA / source, config.DATA / "raw" / source]
    for candidate in candidates:
        if candidate and (Path(candidate) / marker).exists():
            return Path(candidate)
    if not download:
        raise FileNotFoundError(f"no local copy of {source} found")
    dest = config.DATA / "raw" / source
    if source != "kaggle":  # the primary, then its mirrors (see download.py)
        return download_source(source, dest)
    download_kaggle(dest)
    marker = next(dest.rglob(_MARKERS[source]), None)
    if marker is None:
        raise FileNotFoundError(f"downloaded {source} but found no {_MARKERS[source]} in {dest}")
    return marker.parent


def download_source(source, dest, mirrors=None, progress=True):
    """Download `source` into `dest` from its primary, else a mirror, checked whole.

    Args:
        source: "youtube-faces" or "mtfl".
        dest: the cache folder, ``data/raw/<source>/``.
        mirrors: ``archives.Source`` objects to try in order (default:
            ``archives.sources_for(source)``).
        progress: show progress bars.

    Returns `dest`; raises ConnectionError with one line when every mirror failed.
    """
    return downloads.fetch(source, dest, download_layout(source), mirrors, progress)


def download_layout(source):
    """How ``download.fetch`` finds `source` in an archive (its training list) and checks it."""
    return downloads.Layout(_MARKERS[source], partial(download_problems, source))


def download_problems(source, root):
    """What `root` lacks to be a whole download of `source` ([]: nothing).

    Both label lists and the photo folders must be there, the lists must
    read (with this module's readers), and every photo they name must be a
    file, not a Git LFS pointer.

    Args:
        source: "youtube-faces" or "mtfl".
        root: an unpacked dataset folder.
    """
    root = Path(root)
    lists = (_MARKERS[source], _TEST_MARKERS[source])
    problems = [f"no {name}" for name in lists + _PHOTO_FOLDERS[source]
                if not (root / name).exists()]
    for name in lists:
        if not (root / name).is_file():
            continue
        try:
            photos = _listed_photos(source, root / name)
        except (LandmarkError, ValueError) as err:  # pandas' parser errors are ValueErrors
            problems.append(f"{name} is not a readable label list ({str(err).splitlines()[0]})")
            continue
        problems += downloads.photo_problems(root, name, photos)
    return problems


def _listed_photos(source, list_file):
    """The paths of the photos a downloaded label list names."""
    root = list_file.parent
    if source == "youtube-faces":
        folder = dict(YOUTUBE_FACES_PARTS.values())[list_file.name]
        return [root / folder / name for name in read_youtube_faces_list(list_file)[0]]
    return [root / name for name in read_mtfl_list(list_file)["file"]]


def download_zip(url, dest):
    """Download and unpack a zip into `dest` (atomically: all or nothing).

    Resumes an interrupted download; no checksum is known for an arbitrary URL.
    """
    downloads.install(archives.Source("url", url), dest)


def download_kaggle(dest):
    """Download the competition's files with the Kaggle API client."""
    has_file = (Path.home() / ".kaggle" / "kaggle.json").exists() or Path(
        os.environ.get("KAGGLE_CONFIG_DIR", "/nonexistent"), "kaggle.json").exists()
    has_env = os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY")
    if not (has_file or has_env):
        raise PermissionError(
            "no Kaggle credentials: put your API token in ~/.kaggle/kaggle.json "
            "(Kaggle > Settings > Create New Token) or set KAGGLE_USERNAME and "
            "KAGGLE_KEY, accept the rules at https://www.kaggle.com/c/"
            f"{KAGGLE_COMPETITION}/rules, or pass --root with a folder holding training.csv")
    from kaggle.api.kaggle_api_extended import KaggleApi  # logs in on import: keep it lazy

    api = KaggleApi()
    api.authenticate()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        api.competition_download_files(KAGGLE_COMPETITION, path=str(dest), quiet=False)
    except Exception as err:  # the client raises its own HTTP errors
        raise PermissionError(
            f"Kaggle refused the download ({err}); accept the competition rules at "
            f"https://www.kaggle.com/c/{KAGGLE_COMPETITION}/rules first") from None
    for archive in dest.glob("*.zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(dest)
        archive.unlink()
    for archive in dest.glob("*.zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(dest)


# --- converting a list of annotated photos -----------------------------------

def _convert_one(args):
    path, keypoints = args
    crop, points = crop_face(read_gray(path), keypoints)
    return crop, points


def convert_photos(paths, keypoints, workers=None, progress=True, desc="converting"):
    """Crop every photo to 96x96; returns (images uint8 (N,96,96), keypoints (N,30))."""
    from tqdm.auto import tqdm

    jobs = list(zip(paths, keypoints))
    workers = workers or min(4, os.cpu_count() or 1)
    images = np.zeros((len(jobs), kp.IMAGE_SIZE, kp.IMAGE_SIZE), np.uint8)
    points = np.zeros((len(jobs), 2 * kp.NUM_KEYPOINTS), np.float32)
    if workers > 1 and len(jobs) > 200:
        with ProcessPoolExecutor(workers) as pool:
            results = pool.map(_convert_one, jobs, chunksize=64)
            for i, (img, pts) in enumerate(tqdm(results, total=len(jobs), desc=desc,
                                                disable=not progress)):
                images[i], points[i] = img, pts
    else:
        for i, job in enumerate(tqdm(jobs, desc=desc, disable=not progress)):
            images[i], points[i] = _convert_one(job)
    return images, points


# --- the sources -------------------------------------------------------------

def youtube_faces(root=None, split="all", progress=True):
    """YouTube-Faces frames (Udacity P1 layout) as 96x96 crops with 15 keypoints.

    `split` is the download's own ("train" = training_frames_keypoints.csv,
    "test" = test_frames_keypoints.csv, or "all"); note that both share people,
    which is why the default dataset re-splits by person.
    """
    root = find_root("youtube-faces", root, split=split)
    names = _split_names(split)
    sets = []
    for name in names:
        csv_name, folder = YOUTUBE_FACES_PARTS[name]
        files, keypoints = read_youtube_faces_list(root / csv_name)
        images, points = convert_photos([root / folder / f for f in files], keypoints,
                                        progress=progress, desc=f"youtube-faces {name}")
        meta = pd.DataFrame({"source": "youtube-faces", "file": [f"{folder}/{f}" for f in files],
                             "person": [person_of(f) for f in files], "origin_split": name})
        sets.append(FaceSet(images, points, meta))
    return FaceSet.concat(sets)


def read_youtube_faces_list(path):
    """File names and Kaggle keypoints (N, 30), in photo pixels, of a Udacity P1 CSV."""
    table = pd.read_csv(path)
    coords = table.iloc[:, 1:].to_numpy(dtype=np.float64)
    if coords.shape[1] != 136:
        raise LandmarkError(f"{path}: expected 136 coordinate columns "
                         f"(68 points), got {coords.shape[1]}")
    return table.iloc[:, 0].astype(str).to_numpy(), kp.from_ibug68(coords.reshape(-1, 68, 2))


def youtube_faces_annotations(root):
    """Every YouTube-Faces photo's Kaggle keypoints (30,), in photo pixels, by file.

    Args:
        root: the YouTube-Faces folder (``find_root("youtube-faces")``).

    Returns {"training/<name>.jpg": keypoints, "test/<name>.jpg": ...}, the
    file names as ``youtube_faces`` writes them to a FaceSet's meta.
    """
    out = {}
    for csv_name, folder in YOUTUBE_FACES_PARTS.values():
        files, points = read_youtube_faces_list(Path(root) / csv_name)
        out.update({f"{folder}/{f}": p for f, p in zip(files, points)})
    return out


def mtfl_keypoints(table):
    """Kaggle keypoints (N, 30), in photo pixels, of a ``read_mtfl_list`` table."""
    xs = table[[f"x{i}" for i in range(1, 6)]].to_numpy()
    ys = table[[f"y{i}" for i in range(1, 6)]].to_numpy()
    return kp.from_mtfl5(np.stack([xs, ys], axis=-1))


def read_mtfl_list(path):
    """Parse MTFL's training.txt / testing.txt into a DataFrame.

    Columns: file (with / separators), x1..x5, y1..y5, gender, smile, glasses, pose.
    """
    rows = []
    for line_no, line in enumerate(Path(path).read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 15:
            raise LandmarkError(f"{path}, line {line_no}: expected 15 fields (file, 10 "
                             f"coordinates, 4 attributes), got {len(fields)}")
        try:
            values = [float(v) for v in fields[1:]]
        except ValueError:
            raise LandmarkError(f"{path}, line {line_no}: expected numbers after the file "
                                f"name (10 coordinates, 4 attributes), got "
                                f"{quote(' '.join(fields[1:]))}") from None
        rows.append([fields[0].replace("\\", "/")] + values)
    columns = (["file"] + [f"x{i}" for i in range(1, 6)] + [f"y{i}" for i in range(1, 6)]
               + list(MTFL_ATTRIBUTES))
    df = pd.DataFrame(rows, columns=columns)
    for a in MTFL_ATTRIBUTES:
        df[a] = df[a].astype(int)
    return df


def mtfl(root=None, split="all", progress=True):
    """MTFL faces as 96x96 crops: 5 of the 15 keypoints labelled, 10 missing.

    `split`: "train" (training.txt), "test" (testing.txt) or "all". The
    attributes gender (1 male, 2 female), smile (1 yes), glasses (1 yes) and
    pose (1 left profile ... 3 frontal ... 5 right profile) are kept in meta.
    """
    root = find_root("mtfl", root, split=split)
    sets = []
    for name in _split_names(split):
        table = read_mtfl_list(root / ("training.txt" if name == "train" else "testing.txt"))
        images, points = convert_photos([root / f for f in table["file"]],
                                        mtfl_keypoints(table), progress=progress,
                                        desc=f"mtfl {name}")
        files = table["file"]
        person = [person_of(f) if f.startswith("lfw") else Path(f).stem for f in files]
        meta = pd.DataFrame({"source": "mtfl", "file": files, "person": person,
                             "origin_split": name})
        for a in MTFL_ATTRIBUTES:
            meta[a] = table[a].to_numpy()
        sets.append(FaceSet(images, points, meta))
    return FaceSet.concat(sets)


def kaggle(root=None, split="train", progress=True):
    """The competition's training.csv (labelled) or test.csv (images only)."""
    root = find_root("kaggle", root, split=split)
    sets = []
    for name in _split_names(split):
        faces = read_kaggle_csv(root / ("training.csv" if name == "train" else "test.csv"))
        faces.meta["source"] = "kaggle"
        faces.meta["origin_split"] = name
        faces.meta["person"] = [f"kaggle-{name}-{i}" for i in range(len(faces))]
        sets.append(faces)
    return FaceSet.concat(sets)


def csv(path, split="all", progress=True):
    """Any Kaggle-format CSV file."""
    faces = read_kaggle_csv(path)
    faces.meta["origin_split"] = "all"
    faces.meta["person"] = [f"{Path(path).stem}-{i}" for i in range(len(faces))]
    return faces


def _split_names(split):
    if split not in ("train", "test", "all"):
        raise LandmarkError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return ("train", "test") if split == "all" else (split,)


def load_source(source, root=None, split="all", progress=True):
    """Convert one source (see SOURCES) to a FaceSet of 96x96 crops."""
    if source == "youtube-faces":
        return youtube_faces(root, split, progress)
    if source == "mtfl":
        return mtfl(root, split, progress)
    if source == "kaggle":
        return kaggle(root, split, progress)
    if source == "csv":
        if root is None:
            raise LandmarkError("the csv source needs --root pointing at a Kaggle-format CSV file")
        return csv(root, split, progress)
    raise LandmarkError(f"unknown source {source!r}; choose one of {SOURCES}")
