"""One writer per folder: an OS file lock, held while a process writes a zoo or a results folder.

The lock is ``fcntl.flock`` on a small file beside the folder (``.<name>.nnenc-lock``, left in
place: removing a lock file races with the next writer). The OS releases it when its process
exits, however it exits (``kill -9`` included), so a stale lock never blocks a rerun. A second
writer does not wait: it fails at once with the holder's pid, before it reads anything that the
first writer may be changing.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class FolderBusyError(RuntimeError):
    """Another live process holds the folder's writer lock."""


class WriterLock:
    """The writer lock of ``folder``; a context manager, or :meth:`acquire`/:meth:`release`."""

    def __init__(self, folder: str | Path):
        folder = Path(folder).absolute()
        self.folder = folder
        self.path = folder.parent / f".{folder.name}.nnenc-lock"
        self._fd: int | None = None

    def acquire(self) -> WriterLock:
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise FolderBusyError(
                f"another nnenc process (pid {holder}) is writing {self.folder}; wait for it to "
                "finish (or stop it) and rerun: the rerun resumes where it stopped"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
