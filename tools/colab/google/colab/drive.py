"""``google.colab.drive``: ``mount`` links the mount point to a local folder."""
import os
import tempfile

from ._record import record, unsupported

DRIVE_ENV = "COLAB_STANDIN_DRIVE"
_mounts = {}  # mount point -> folder


def _drive_root():
    root = os.environ.get(DRIVE_ENV) or tempfile.mkdtemp(prefix="colab-standin-drive-")
    os.makedirs(os.path.join(root, "MyDrive"), exist_ok=True)
    return root


def mount(mountpoint, force_remount=False, timeout_ms=120000, readonly=False):
    """Make ``mountpoint`` a symlink to $COLAB_STANDIN_DRIVE (or a temporary folder).

    Like Colab: ``mountpoint/MyDrive`` is the user's Drive; a mount point that
    already holds files is refused; mounting twice says so unless
    ``force_remount``.
    """
    record("drive.mount", mountpoint, force_remount=force_remount, readonly=readonly)
    mountpoint = os.path.abspath(os.path.expanduser(mountpoint))
    if os.path.islink(mountpoint):
        if not force_remount:
            print(f"Drive already mounted at {mountpoint}; to attempt to forcibly remount, "
                  f'call drive.mount("{mountpoint}", force_remount=True).')
            return
        os.unlink(mountpoint)
    elif os.path.isdir(mountpoint):
        if os.listdir(mountpoint):
            raise ValueError("Mountpoint must not already contain files")
        os.rmdir(mountpoint)
    elif os.path.exists(mountpoint):
        raise ValueError("Mountpoint must be a directory")
    root = _drive_root()
    os.makedirs(os.path.dirname(mountpoint), exist_ok=True)
    os.symlink(root, mountpoint)
    _mounts[mountpoint] = root
    print(f"Mounted at {mountpoint}")


def flush_and_unmount(timeout_ms=86400000):
    record("drive.flush_and_unmount")
    for mountpoint in list(_mounts):
        if os.path.islink(mountpoint):
            os.unlink(mountpoint)
        del _mounts[mountpoint]


def mounts():
    """Stand-in only: mount point -> the local folder behind it."""
    return dict(_mounts)


def __getattr__(name):
    raise unsupported("drive", name)
