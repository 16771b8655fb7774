"""Where each public dataset's archive can be downloaded from, and its recorded sha256.

A dataset (YouTube-Faces, MTFL) has a primary home and public mirrors
(``ARCHIVES``), tried in that order by ``data.download.fetch``.

Environment: ``LANDMARKLIB_<SOURCE>_URLS`` (e.g. ``LANDMARKLIB_MTFL_URLS``), a
space-separated list of zip URLs, replaces the built-in list (a local mirror).

The recorded hashes live here, not in ``sources.py``, so that recording one
leaves the training cache key (``training.runs.TRAINING_MODULES``) unchanged.
"""
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """One place a dataset's zip can be downloaded from.

    Args:
        name: a short label used in messages and in the .part file's name.
        url: the zip's address.
        sha256: the archive's recorded sha256 (hex), or None: not recorded
            yet (the unpacked layout is still checked).
    """

    name: str
    url: str
    sha256: str | None = None


# sha256 = None: not measured yet. The machine that wrote this table had no
# network, so no archive could be hashed; the first download prints the
# value to record. GitHub makes its archive zips on demand and does not
# promise the same bytes forever, so the mirrors may stay unrecorded: their
# unpacked layout is checked file by file instead. The GitHub archives are
# pinned to a commit, so their contents do not change.
UDACITY_COMMIT = "6e55adc6bd032d9fb1ad41a4c3e68aae847cdf81"
DEEPL18_COMMIT = "b5a142425fa83472ebc95617a1ce20658c4995d2"
ARCHIVES = {
    "youtube-faces": (
        Source("udacity-s3", "https://s3.amazonaws.com/video.udacity-data.com/topher/2018/"
                             "May/5aea1b91_train-test-data/train-test-data.zip"),
        # udacity/P1_Facial_Keypoints, folder data/ (about 340 MB of files, no LFS)
        Source("github-udacity", "https://github.com/udacity/P1_Facial_Keypoints/archive/"
                                 f"{UDACITY_COMMIT}.zip"),
    ),
    "mtfl": (
        Source("cuhk", "http://mmlab.ie.cuhk.edu.hk/projects/TCDCN/data/MTFL.zip"),
        # nieag/deepl18_project, folder MTFL/ (about 152 MB of files, no LFS)
        Source("github-deepl18", "https://github.com/nieag/deepl18_project/archive/"
                                 f"{DEEPL18_COMMIT}.zip"),
    ),
}


def urls_env(dataset):
    """The environment variable that replaces `dataset`'s list of URLs.

    Args:
        dataset: a dataset name, e.g. "youtube-faces" (-> LANDMARKLIB_YOUTUBE_FACES_URLS).
    """
    return "LANDMARKLIB_" + dataset.upper().replace("-", "_") + "_URLS"


def sources_for(dataset):
    """`dataset`'s sources: $LANDMARKLIB_<DATASET>_URLS if set, else ``ARCHIVES``.

    A URL of the variable that is also in ``ARCHIVES`` keeps its recorded sha256.

    Args:
        dataset: a key of ``ARCHIVES``.
    """
    text = os.environ.get(urls_env(dataset), "").split()
    if not text:
        return ARCHIVES[dataset]
    recorded = {s.url: s.sha256 for s in ARCHIVES.get(dataset, ())}
    return tuple(Source(f"url{i}", url, recorded.get(url)) for i, url in enumerate(text, 1))
