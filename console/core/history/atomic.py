"""history.toml on disk: read as text, changed under an exclusive lock, replaced atomically.

Every write is a read-modify-write under an exclusive ``flock`` on the sibling
``.history.toml.lock`` (two console processes cannot lose each other's rows), and lands
atomically: a temporary file in the same folder, fsync, ``os.replace``, fsync of the
folder. Whatever fails, the previous version stays as it was.
"""

from __future__ import annotations

import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from console.core.history.schema import FIX
from console.errors import HistoryError

_NOT_A_FILE = (
    "{path} is not a regular file (a device, a FIFO, a folder): nothing was read or written there."
)
_NOT_A_FILE_HINT = "Pass --history with the path of a file (default: ./history.toml)."
MAX_BYTES = 64 * 1024 * 1024  # some 50,000 runs: a larger file is no history.toml


def lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


def read_text(path: Path) -> str:
    """The file's text ("" for a missing file). Only a regular file is read, and at most
    MAX_BYTES of it: a FIFO would block, /dev/zero would never end."""
    try:
        # Not blocking: opening a FIFO for reading waits for a writer otherwise.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise HistoryError(
            f"{path} cannot be read ({exc.strerror or exc}): {FIX}",
            "Check the file's permissions.",
        ) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise HistoryError(_NOT_A_FILE.format(path=path), _NOT_A_FILE_HINT)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise HistoryError(
            f"{path} cannot be read ({exc.strerror or exc}): {FIX}",
            "Check the file's permissions.",
        ) from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise HistoryError(
            f"{path} is larger than {MAX_BYTES // (1024 * 1024)} MiB: {FIX}",
            "Move it aside and start a new one; the old records stay in the old file.",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise HistoryError(f"{path} is not UTF-8 text: {FIX}") from None


def stamp(path: Path) -> tuple[int, int, int] | None:
    """Which file is there now (every write replaces it: a new inode), None when none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """The exclusive lock on ``path``'s lock file, held for the block."""
    try:
        fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise HistoryError(
            f"{path} cannot be locked for writing ({exc.strerror or exc}); nothing was written.",
            "Check that its folder exists and is writable.",
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` becomes the file (through a link, its target), all of it or nothing."""
    target = Path(os.path.realpath(path))
    folder = target.parent
    with suppress(FileNotFoundError):  # never replace a device, a FIFO or a folder
        if not stat.S_ISREG(os.stat(target).st_mode):
            raise HistoryError(_NOT_A_FILE.format(path=path), _NOT_A_FILE_HINT)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, target.stat().st_mode & 0o777)
        except FileNotFoundError:
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        tmp = None
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise HistoryError(
            f"{path} could not be written ({exc.strerror or exc}); "
            "the previous version is unchanged.",
            "Check free space and permissions, then run the command again.",
        ) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
