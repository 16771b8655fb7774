"""Downloading a public dataset's archive: resuming, checksums, an atomic checked unpack.

A dataset (YouTube-Faces, MTFL) can be fetched from several places
(``data.archives.ARCHIVES``): its primary home and public mirrors, tried in
order. For each one:

1. the zip is downloaded into ``<dest>.<source>.zip.part`` beside the cache
   folder, with a progress bar (size, speed); a dropped connection, or a run
   that was stopped, resumes where it ended (an HTTP ``Range`` request);
2. its sha256 is compared with the one recorded in ``ARCHIVES``: a mismatch
   deletes the file and moves on to the next source; where no hash is
   recorded yet the computed one is printed, for a maintainer to record;
3. it is unpacked into a temporary folder, the dataset's folder inside it is
   found (the one holding the layout's marker file, at any depth: a GitHub
   archive adds a ``<repo>-<commit>/`` top folder) and checked by the
   layout's ``problems`` (``data.sources.download_problems``: every file the
   label lists name must be there), and only then renamed to ``dest``: the
   cache holds a whole dataset or nothing.

The next run finds ``dest`` and never downloads again. When every source
fails, one ``ConnectionError`` line says what to fetch by hand and where to put it.
What a dataset's folder holds is the business of ``data.sources`` (which calls
``fetch``); this module only moves and checks bytes.
"""
import hashlib
import http.client
import os
import shutil
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .archives import sources_for

CHUNK_BYTES = 1 << 20         # read and hash 1 MiB at a time
TIMEOUT_S = 60                # a connection silent this long counts as dropped
ATTEMPTS = 3                  # per source; each after the first resumes the .part file
RETRY_PAUSE_S = 2.0           # wait before a resumed attempt (times the attempt number)
USER_AGENT = "landmarklib-download/1"
MACOS_JUNK = "__MACOSX"       # resource forks some zips carry; never a dataset folder
LFS_POINTER = b"version https://git-lfs"  # what a Git LFS file is before `git lfs pull`


@dataclass(frozen=True)
class Layout:
    """How to find a dataset in an unpacked archive, and check that it is whole.

    Args:
        marker: the file whose folder is the dataset's root.
        problems: a function of that root folder: what it lacks to be the
            whole dataset, one string per problem ([]: nothing).
    """

    marker: str
    problems: Callable


class DownloadError(ConnectionError):
    """One source could not deliver a usable archive (the next one is tried)."""


class ChecksumError(DownloadError):
    """The archive's sha256 differs from the recorded one."""


# --- one file over HTTP, resumable -----------------------------------------------------

def download(url, path, progress=True, desc=None, attempts=ATTEMPTS):
    """Download `url` to `path` through ``<path>.part``, resuming after a drop.

    Args:
        url: the file's address (http or https).
        path: where the complete file goes (renamed from the .part file).
        progress: show a tqdm bar (size, speed).
        desc: the bar's label.
        attempts: tries; each after the first resumes with an HTTP Range request.

    Raises DownloadError for an HTTP error status, or when every attempt
    dropped; the .part file stays for the next run to resume.
    """
    path = Path(path)
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    last = None
    for attempt in range(1, attempts + 1):
        if attempt > 1:
            time.sleep(RETRY_PAUSE_S * (attempt - 1))
        try:
            _transfer(url, part, progress, desc)
        except urllib.error.HTTPError as err:
            if err.code != 416:  # 416: the .part is not a prefix of this file
                raise DownloadError(f"HTTP {err.code} {err.reason} for {url}") from None
            part.unlink(missing_ok=True)
            last = err
        except (OSError, http.client.HTTPException) as err:  # refused, dropped, timed out
            last = err
        else:
            part.replace(path)
            return path
    raise DownloadError(f"{url}: {attempts} attempts failed, the last with {_reason(last)}")


def _transfer(url, part, progress, desc):
    """One request: append to `part` from where it ends (or start it over).

    Raises http.client.IncompleteRead when the connection closed before the
    length the server announced.
    """
    from tqdm.auto import tqdm

    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        if not (have and response.status == 206 and _range_start(response) == have):
            have = 0  # no .part, or the server sent the whole file
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        with open(part, "ab" if have else "wb") as out, tqdm(
                total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
                desc=desc, disable=not progress) as bar:
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size < total:
        raise http.client.IncompleteRead(b"", total - size)


def _range_start(response):
    """The first byte of a 206 answer (``Content-Range: bytes START-END/SIZE``), or None."""
    value = response.headers.get("Content-Range", "")
    start = value.removeprefix("bytes ").split("-", 1)[0]
    return int(start) if start.isdigit() else None


def _reason(err):
    """One line saying why a transfer failed."""
    if isinstance(err, http.client.IncompleteRead):
        return f"the connection closed {err.expected} bytes before the end"
    if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
        return str(err.reason)
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def sha256_of(path):
    """The sha256 (hex) of a file, read a chunk at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


# --- checking and unpacking -------------------------------------------------------------

def dataset_root(folder, marker):
    """The one folder below `folder` that holds `marker` (resource-fork folders ignored).

    Args:
        folder: an unpacked archive.
        marker: a file name, e.g. ``training.txt``.
    """
    found = [p.parent for p in Path(folder).rglob(marker)
             if p.is_file() and MACOS_JUNK not in p.parts]
    if len(found) != 1:
        where = ", ".join(str(p.relative_to(folder)) for p in found[:3]) or "none"
        raise DownloadError(f"expected one folder holding {marker} in the archive, "
                            f"found {len(found)} ({where})")
    return found[0]


def photo_problems(root, list_name, photos):
    """[] or one line saying what is wrong with the photos a label list names.

    Args:
        root: the unpacked dataset folder.
        list_name: the label list's file name (for the message).
        photos: the paths of the photos it names.

    Missing photos, or a Git LFS pointer (a repository cloned without
    ``git lfs pull``) where the first photo should be, are problems.
    """
    root = Path(root)
    missing = [p for p in photos if not Path(p).is_file()]
    if missing:
        return [f"{len(missing)} of the {len(photos)} images listed in {list_name} "
                f"are missing (first: {Path(missing[0]).relative_to(root)})"]
    if photos and Path(photos[0]).read_bytes()[:len(LFS_POINTER)] == LFS_POINTER:
        return [f"{Path(photos[0]).relative_to(root)} is a Git LFS pointer, not an image"]
    return []


def unpack(archive, dest, layout=None):
    """Unpack `archive` into `dest` atomically: all of it, checked, or nothing.

    Args:
        archive: a zip file.
        dest: the folder to create (an existing one is replaced once the new
            one is complete).
        layout: a ``Layout``: only the folder holding its marker is kept, and
            its ``problems`` must find none; None keeps the whole archive.
    """
    dest = Path(dest)
    work = dest.with_name(f".{dest.name}.unpacking-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    try:
        try:
            with zipfile.ZipFile(archive) as z:
                z.extractall(work)
        except zipfile.BadZipFile as err:
            raise DownloadError(f"{Path(archive).name} is not a zip archive ({err})") from None
        root = work if layout is None else dataset_root(work, layout.marker)
        problems = [] if layout is None else layout.problems(root)
        if problems:
            raise DownloadError("the archive is not the expected dataset: " + "; ".join(problems))
        _replace_folder(root, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def _replace_folder(new, dest):
    """Rename `new` to `dest`; an existing `dest` goes only after that succeeded."""
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    if dest.exists():
        dest.rename(old)
    try:
        Path(new).rename(dest)
    except OSError:
        if old.exists():
            old.rename(dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


# --- one source, then all of them ---------------------------------------------------------

def install(source, dest, layout=None, progress=True, label=None):
    """Download `source`'s zip, check its sha256, unpack it into `dest`.

    Args:
        source: a ``data.archives.Source``.
        dest: the dataset folder to create.
        layout: a ``Layout`` to find and check the dataset inside the zip.
        progress: show a progress bar.
        label: the dataset's name in messages.

    Returns `dest`. Raises DownloadError (ChecksumError for a wrong hash);
    an archive that was downloaded but is unusable is deleted.
    """
    dest = Path(dest)
    label = label or dest.name
    archive = dest.with_name(f"{dest.name}.{source.name}.zip")
    if not archive.exists():
        print(f"{label}: downloading {source.url}")
        download(source.url, archive, progress, desc=f"{label} ({source.name})")
    try:
        digest = sha256_of(archive)
        if source.sha256 is None:
            print(f"{label}: sha256 of {source.url} is {digest} (none recorded yet in "
                  f"landmarklib/data/archives.py; the unpacked files are checked instead)")
        elif digest != source.sha256.lower():
            raise ChecksumError(f"sha256 mismatch for {source.url}: expected {source.sha256}, "
                                f"got {digest} (the download was deleted)")
        unpack(archive, dest, layout)
    finally:
        archive.unlink(missing_ok=True)  # unpacked, or unusable: either way not kept
    return dest


def fetch(dataset, dest, layout, sources=None, progress=True):
    """Install `dataset` into `dest` from the first source that works.

    Args:
        dataset: a key of ``data.archives.ARCHIVES`` ("youtube-faces", "mtfl").
        dest: the cache folder (``data/raw/<dataset>/``).
        layout: a ``Layout``: how to find and check the dataset in an archive
            (``data.sources.download_layout(dataset)``).
        sources: ``data.archives.Source`` objects to try in order (default
            ``data.archives.sources_for(dataset)``).
        progress: show progress bars.

    Returns `dest`, which then holds the dataset's files directly.
    Raises ConnectionError with one line when every source failed.
    """
    dest = Path(dest)
    if (dest / layout.marker).is_file() and not layout.problems(dest):
        return dest  # already installed
    sources = tuple(sources or sources_for(dataset))
    failures = []
    for i, source in enumerate(sources):
        try:
            return install(source, dest, layout, progress, label=dataset)
        except DownloadError as err:
            failures.append(f"{source.name}: {err}")
            more = "; trying the next source" if i + 1 < len(sources) else ""
            print(f"{dataset}: {source.name} failed ({err}){more}")
    raise ConnectionError(manual_download_line(dataset, dest, layout.marker, sources, failures))


def manual_download_line(dataset, dest, marker, sources, failures=()):
    """One line: why the download failed, what to fetch by hand and where to put it.

    Args:
        dataset: the dataset's name, e.g. "mtfl".
        dest: the folder the code looks in.
        marker: the file that marks the dataset's folder, e.g. "training.txt".
        sources: the ``data.archives.Source`` objects that were tried.
        failures: "name: reason" for each of them.
    """
    urls = " or ".join(s.url for s in sources)
    why = f" ({'; '.join(failures)})" if failures else ""
    env = "LANDMARKLIB_" + dataset.upper().replace("-", "_")
    return (f"could not download {dataset} from any of its {len(sources)} sources{why}; "
            f"fetch {urls} by hand and unpack it so that {Path(dest) / marker} exists "
            f"(or set {env} to the folder holding {marker})")
