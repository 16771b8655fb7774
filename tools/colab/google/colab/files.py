"""``google.colab.files``: ``download`` records the file, ``upload`` copies given files."""
import os
import shutil

from ._record import record, unsupported

DOWNLOADS_ENV = "COLAB_STANDIN_DOWNLOADS"
UPLOAD_ENV = "COLAB_STANDIN_UPLOAD"
DOWNLOADED = []  # paths passed to download(), in order


def download(filename):
    """Colab sends the file to the browser; here the path is recorded (and copied
    into $COLAB_STANDIN_DOWNLOADS when that is set). A missing file raises, as on Colab."""
    record("files.download", filename)
    if not os.path.exists(filename):
        raise FileNotFoundError(f"Cannot find file: {filename}")
    DOWNLOADED.append(os.path.abspath(filename))
    target = os.environ.get(DOWNLOADS_ENV)
    if target:
        os.makedirs(target, exist_ok=True)
        shutil.copy(filename, os.path.join(target, os.path.basename(filename)))


def upload(target_dir=""):
    """The files named by $COLAB_STANDIN_UPLOAD, copied into ``target_dir`` (default:
    the working folder); returns {name: bytes} like Colab. None named: {}."""
    record("files.upload", target_dir=target_dir)
    uploaded = {}
    for path in filter(None, os.environ.get(UPLOAD_ENV, "").split(os.pathsep)):
        name = os.path.basename(path)
        with open(path, "rb") as f:
            data = f.read()
        with open(os.path.join(target_dir or ".", name), "wb") as f:
            f.write(data)
        uploaded[name] = data
    return uploaded


def __getattr__(name):
    raise unsupported("files", name)
