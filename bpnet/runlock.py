"""The lock of an output folder: one process at a time, taken atomically, freed when it dies.

On POSIX the lock is an ``flock`` on ``<folder>/.lock``: the kernel grants it to exactly one
process and frees it when that process exits or is killed, so there is no stale lock to
take over and no window in which two processes both believe they hold it. The file holds
the owner's process id only so that a refusal can name it.

Elsewhere (no ``fcntl``) the lock is the file itself, created with ``O_CREAT | O_EXCL``
together with its content (a hard link of a finished temporary file), so a reader never
sees an empty lock; a lock whose process is gone is taken over by renaming it aside first.
"""
from __future__ import annotations

import os
from pathlib import Path

try:  # pragma: no cover - chosen by the platform
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["FolderLock", "LockHeld", "pid_alive"]


class LockHeld(Exception):
    """Another live process holds the lock; ``pid`` is its id (0 when unknown)."""

    def __init__(self, pid: int) -> None:
        super().__init__(pid)
        self.pid = pid


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a process of another user counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:  # pragma: no cover - e.g. a pid out of range
        return False
    return True


def _read_pid(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


class FolderLock:
    """``acquire()`` raises :class:`LockHeld` when another process holds ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`LockHeld` at once (never waits)."""
        if fcntl is None:  # pragma: no cover - Windows
            self._acquire_exclusive_file()
            return
        for _ in range(100):  # each retry follows a lock file removed by its releasing owner
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            except FileNotFoundError:  # the folder was removed by a run that failed to start
                self.path.parent.mkdir(parents=True, exist_ok=True)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise LockHeld(_read_pid(self.path)) from None
            try:  # the owner unlinks the file when it releases: then this inode is no lock
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            self._fd = fd
            return
        raise LockHeld(0)  # pragma: no cover - a hundred lost races in a row

    def _acquire_exclusive_file(self) -> None:  # pragma: no cover - Windows
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(str(os.getpid()))
        try:
            for _ in range(100):
                try:
                    os.link(tmp, self.path)  # atomic, and the lock has its content at once
                    self._fd = -1
                    return
                except FileExistsError:
                    pid = _read_pid(self.path)
                    if pid_alive(pid):
                        raise LockHeld(pid) from None
                    aside = self.path.with_name(f"{self.path.name}.stale.{os.getpid()}")
                    try:
                        os.replace(self.path, aside)
                    except FileNotFoundError:
                        continue
                    if pid_alive(_read_pid(aside)):  # moved a fresh lock aside: put it back
                        try:
                            os.link(aside, self.path)
                        except FileExistsError:
                            pass
                    aside.unlink(missing_ok=True)
            raise LockHeld(0)
        finally:
            tmp.unlink(missing_ok=True)

    def release(self) -> None:
        """Give the lock up and remove its file (nothing when not held)."""
        if self._fd is None:
            return
        # unlink first, then unlock: a process that opened this inode meanwhile sees that the
        # path no longer names it and tries again (the inode check in acquire)
        self.path.unlink(missing_ok=True)
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = None
