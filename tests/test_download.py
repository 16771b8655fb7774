"""Downloading YouTube-Faces and MTFL: mirrors, checksums, resuming, the cache.

A local HTTP server on 127.0.0.1 serves small zips made here from the shared
data, in each source's layout: Udacity's train-test-data.zip and CUHK's
MTFL.zip (the dataset's files at the top), and GitHub archives of the mirror
repositories (a ``<repo>-<commit>/`` top folder, the data in ``data/`` or
``MTFL/``). The cache is a temporary folder, never the checkout's data/.
"""
import hashlib
import io
import os
import socket
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from landmarklib import config
from landmarklib.data import download, sources
from landmarklib.data.archives import ARCHIVES, DEEPL18_COMMIT, UDACITY_COMMIT, Source, urls_env

YOUTUBE_ROWS = {"training_frames_keypoints.csv": ("training", 3),
                "test_frames_keypoints.csv": ("test", 2)}
MTFL_LISTS = ("training.txt", "testing.txt")


# --- the archives, made from the shared data ------------------------------------------

def _youtube_files(shared):
    """{relative path: bytes}: a few photos of each split and their CSV rows."""
    root = shared / "youtube-faces"
    files = {}
    for csv_name, (folder, rows) in YOUTUBE_ROWS.items():
        lines = (root / csv_name).read_text().splitlines()
        files[csv_name] = ("\n".join(lines[:rows + 1]) + "\n").encode()
        for line in lines[1:rows + 1]:
            name = line.split(",", 1)[0]
            files[f"{folder}/{name}"] = (root / folder / name).read_bytes()
    return files


def _mtfl_files(shared):
    """{relative path: bytes}: lines of every image folder, with MTFL's own formatting."""
    root = shared / "mtfl"
    lines = (root / "training.txt").read_text().splitlines()
    picked = [next(l for l in lines if folder in l) for folder in ("lfw_5590", "net_7876")]
    tests = (root / "testing.txt").read_text().splitlines()[:2]
    files = {"readme.txt": (root / "readme.txt").read_bytes(),
             "training.txt": ("\n".join(picked) + "\n").encode(),
             "testing.txt": ("\n".join(tests) + "\n").encode()}
    for line in picked + tests:
        name = line.split()[0].replace("\\", "/")
        files[name] = (root / name).read_bytes()
    return files


def _zip(files, top=""):
    """A zip (bytes) of {path: bytes}, every path below the folder `top`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(top + name, data)
    return buffer.getvalue()


def github_archive(files, repo, commit, folder):
    """A GitHub archive zip: ``<repo>-<commit>/``, the data in `folder`, a README beside it."""
    top = f"{repo}-{commit}/"
    return _zip({"README.md": b"# mirror\n", **{f"{folder}/{k}": v for k, v in files.items()}},
                top)


@pytest.fixture(scope="module")
def archives(shared_data):
    """Name -> zip bytes, one per source layout."""
    youtube, mtfl = _youtube_files(shared_data), _mtfl_files(shared_data)
    return {
        "udacity.zip": _zip(youtube),  # the S3 zip: the files at the top
        "p1.zip": github_archive(youtube, "P1_Facial_Keypoints", UDACITY_COMMIT, "data"),
        "MTFL.zip": _zip(mtfl),
        "deepl18.zip": github_archive(mtfl, "deepl18_project", DEEPL18_COMMIT, "MTFL"),
    }


# --- the server -------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    """GET with Range support; /status/503 answers 503; truncations on request."""

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        if self.path.startswith("/status/"):
            self.send_error(int(self.path.rsplit("/", 1)[1]))
            return
        body = server.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        start = 0
        asked = self.headers.get("Range")
        if asked:
            start = int(asked.removeprefix("bytes=").split("-", 1)[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("Content-Type", "application/zip")
        self.end_headers()
        payload = body[start:]
        if server.truncations.get(self.path, 0) > 0:  # drop the connection half-way
            server.truncations[self.path] -= 1
            payload = payload[:len(payload) // 2]
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(archives):
    """A local HTTP server: ``.url(name)``, ``.requests``, ``.truncations[path]``."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.requests, httpd.truncations = dict(archives), [], {}
    httpd.url = lambda name: f"http://127.0.0.1:{httpd.server_port}/{name}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """config.DATA in tmp_path, no shared copy and no root variables: find_root must download."""
    monkeypatch.setattr(config, "DATA", tmp_path / "data")
    monkeypatch.setattr(config, "SHARED_DATA", tmp_path / "no-shared-data")
    monkeypatch.setattr(download, "RETRY_PAUSE_S", 0)
    for name in ("LANDMARKLIB_YOUTUBE_FACES", "LANDMARKLIB_MTFL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data" / "raw"


def closed_port_url():
    """An address on 127.0.0.1 where nothing listens (a dead host)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/train-test-data.zip"


def sha(data):
    return hashlib.sha256(data).hexdigest()


def leftovers(raw):
    """Everything in the cache's raw/ folder (names relative to it)."""
    return sorted(str(p.relative_to(raw)) for p in raw.rglob("*")) if raw.exists() else []


# --- the tests --------------------------------------------------------------------------

@pytest.mark.parametrize("source, archive, rows", [
    ("youtube-faces", "udacity.zip", 5), ("youtube-faces", "p1.zip", 5),
    ("mtfl", "MTFL.zip", 4), ("mtfl", "deepl18.zip", 4)])
def test_each_archive_layout_installs_and_converts(source, archive, rows, server, cache,
                                                   monkeypatch):
    monkeypatch.setenv(urls_env(source), server.url(archive))
    faces = sources.load_source(source, progress=False)
    assert len(faces) == rows
    root = cache / source
    assert (root / sources.download_layout(source).marker).is_file()
    assert sources.download_problems(source, root) == []
    assert [p.name for p in cache.iterdir()] == [source]  # no zip, .part or temporary folder


def test_dead_primary_falls_back_to_the_mirror(server, cache, capsys):
    mirrors = [Source("primary", closed_port_url()),
               Source("s3-503", server.url("status/503")),
               Source("github", server.url("p1.zip"))]
    root = sources.download_source("youtube-faces", cache / "youtube-faces", mirrors,
                                   progress=False)
    out = capsys.readouterr().out
    assert "primary failed" in out and "HTTP 503" in out and "trying the next source" in out
    assert sorted(p.name for p in (root / "training").iterdir()) == sorted(
        line.split(",")[0] for line in
        (root / "training_frames_keypoints.csv").read_text().splitlines()[1:])
    assert [p for p, _ in server.requests] == ["/status/503", "/p1.zip"]


def test_truncated_transfer_resumes_with_a_range_request(server, cache, archives):
    server.truncations["/MTFL.zip"] = 1
    whole = archives["MTFL.zip"]
    recorded = [Source("cuhk", server.url("MTFL.zip"), sha(whole))]
    sources.download_source("mtfl", cache / "mtfl", recorded, progress=False)
    assert server.requests == [("/MTFL.zip", None), ("/MTFL.zip", f"bytes={len(whole) // 2}-")]
    assert (cache / "mtfl" / "training.txt").is_file()  # and the recorded sha256 matched
    assert sorted(p.name for p in cache.iterdir()) == ["mtfl"]  # no .part, no zip


def test_part_file_of_an_interrupted_run_is_resumed(server, cache, archives):
    whole = archives["udacity.zip"]
    source = Source("s3", server.url("udacity.zip"), sha(whole))
    part = cache / "youtube-faces.s3.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(whole[:1000])
    sources.download_source("youtube-faces", cache / "youtube-faces", [source], progress=False)
    assert server.requests == [("/udacity.zip", "bytes=1000-")]
    assert not part.exists()


def test_connection_that_keeps_dropping_is_a_clear_error_and_resumable(server, cache):
    server.truncations["/MTFL.zip"] = 99
    with pytest.raises(ConnectionError) as err:
        sources.download_source("mtfl", cache / "mtfl", [Source("cuhk", server.url("MTFL.zip"))],
                                progress=False)
    message = str(err.value)
    assert "\n" not in message
    assert f"{download.ATTEMPTS} attempts failed" in message and "closed" in message
    assert not (cache / "mtfl").exists()
    assert leftovers(cache) == ["mtfl.cuhk.zip.part"]  # kept for the next run to resume
    assert len(server.requests) == download.ATTEMPTS
    assert all(r is not None for _, r in server.requests[1:])  # each retry resumed


def test_checksum_mismatch_is_a_clear_error_and_leaves_nothing(server, cache, archives):
    wrong = "0" * 64
    with pytest.raises(ConnectionError) as err:
        sources.download_source("youtube-faces", cache / "youtube-faces",
                                [Source("s3", server.url("udacity.zip"), wrong)], progress=False)
    message = str(err.value)
    assert "sha256 mismatch" in message
    assert f"expected {wrong}, got {sha(archives['udacity.zip'])}" in message
    assert leftovers(cache) == []


def test_checksum_mismatch_on_the_primary_uses_the_mirror(server, cache, archives):
    mirrors = [Source("s3", server.url("udacity.zip"), "0" * 64),
               Source("github", server.url("p1.zip"), sha(archives["p1.zip"]))]
    sources.download_source("youtube-faces", cache / "youtube-faces", mirrors, progress=False)
    assert (cache / "youtube-faces" / "training_frames_keypoints.csv").is_file()


def test_unrecorded_checksum_is_printed_once(server, cache, archives, capsys, monkeypatch):
    monkeypatch.setenv(urls_env("mtfl"), server.url("MTFL.zip"))
    sources.find_root("mtfl")
    out = capsys.readouterr().out
    assert out.count(sha(archives["MTFL.zip"])) == 1 and "none recorded yet" in out
    sources.find_root("mtfl")
    assert sha(archives["MTFL.zip"]) not in capsys.readouterr().out


def test_second_run_is_served_from_the_cache(server, cache, monkeypatch):
    monkeypatch.setenv(urls_env("youtube-faces"), server.url("p1.zip"))
    first = sources.find_root("youtube-faces")
    assert len(server.requests) == 1
    assert sources.find_root("youtube-faces") == first == cache / "youtube-faces"
    assert len(sources.load_source("youtube-faces", progress=False)) == 5
    assert len(server.requests) == 1


def test_archive_without_the_listed_images_is_refused(server, cache, archives):
    with zipfile.ZipFile(io.BytesIO(archives["MTFL.zip"])) as z:
        kept = {n: z.read(n) for n in z.namelist() if not n.startswith("AFLW/")}
    server.files["broken.zip"] = _zip({**kept, "AFLW/": b""})
    with pytest.raises(ConnectionError, match="2 of the 2 images listed in testing.txt"):
        sources.download_source("mtfl", cache / "mtfl", [Source("x", server.url("broken.zip"))],
                                progress=False)
    assert leftovers(cache) == []


def test_archive_whose_label_list_does_not_read_is_refused_for_the_mirror(server, cache, archives,
                                                                          capsys):
    """The unpacked lists are read by the sources' own readers, as converting will read them."""
    with zipfile.ZipFile(io.BytesIO(archives["udacity.zip"])) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files["training_frames_keypoints.csv"] = b"name,x,y\na.jpg,1,2\n"  # 2 coordinates, not 136
    server.files["short.zip"] = _zip(files)
    mirrors = [Source("s3", server.url("short.zip")),
               Source("github", server.url("p1.zip"))]
    root = sources.download_source("youtube-faces", cache / "youtube-faces", mirrors,
                                   progress=False)
    out = capsys.readouterr().out
    assert ("s3 failed (the archive is not the expected dataset: training_frames_keypoints.csv "
            "is not a readable label list" in out and "expected 136 coordinate columns" in out)
    assert sources.download_problems("youtube-faces", root) == []
    assert [p for p, _ in server.requests] == ["/short.zip", "/p1.zip"]


def test_not_a_zip_is_refused(server, cache):
    server.files["page.zip"] = b"<html>sign in to continue</html>"
    with pytest.raises(ConnectionError, match="not a zip archive"):
        sources.download_source("mtfl", cache / "mtfl", [Source("x", server.url("page.zip"))],
                                progress=False)
    assert leftovers(cache) == []


def test_git_lfs_pointers_are_not_images(tmp_path):
    (tmp_path / "training").mkdir()
    (tmp_path / "test").mkdir()
    header = "," + ",".join(f"c{i}" for i in range(136))
    (tmp_path / "training_frames_keypoints.csv").write_text(f"{header}\na.jpg{',1' * 136}\n")
    (tmp_path / "test_frames_keypoints.csv").write_text(header + "\n")
    (tmp_path / "training" / "a.jpg").write_bytes(b"version https://git-lfs.github.com/spec/v1\n")
    problems = sources.download_problems("youtube-faces", tmp_path)
    assert problems == ["training/a.jpg is a Git LFS pointer, not an image"]


def test_every_source_dead_gives_one_line_and_exit_2(server, tmp_path):
    """What a user sees: the CLI's one line names the URLs and the folder to fill."""
    env = {**os.environ, "LANDMARKLIB_DATA": str(tmp_path / "data"),
           "LANDMARKLIB_SHARED_DATA": str(tmp_path / "none"),
           urls_env("mtfl"): f"{server.url('status/503')} {server.url('gone.zip')}"}
    env.pop("LANDMARKLIB_MTFL", None)
    out = tmp_path / "mtfl.csv"
    result = subprocess.run([sys.executable, "-m", "landmarklib", "convert", "--source", "mtfl",
                             "--out", str(out)], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: could not download mtfl from any of its 2 sources")
    assert server.url("status/503") in line and server.url("gone.zip") in line
    assert str(tmp_path / "data" / "raw" / "mtfl" / "training.txt") in line
    assert "LANDMARKLIB_MTFL" in line
    assert not out.exists() and leftovers(tmp_path / "data" / "raw") == []


def test_builtin_sources_list_a_primary_and_a_mirror_each():
    for dataset, mirrors in ARCHIVES.items():
        assert sources.download_layout(dataset).marker and len(mirrors) >= 2
        assert mirrors[0].url == sources.URLS[dataset]
        for m in mirrors:  # a hash is recorded (64 hex digits) or honestly absent
            assert m.sha256 is None or (len(m.sha256) == 64 and int(m.sha256, 16) >= 0)
