"""Output folders that one run owns: locked, never silently overwritten, never left half-stale.

Every command that writes a folder of results (``bpnet cv --out``, ``bpnet tune --out``,
``resnet-fer train --out``, ``fer-compare --out``) opens it as a :class:`RunDir`::

    with RunDir(out, tool="fer-compare", resume=args.resume, force=args.force) as run:
        ...write files (atomically: run.write_text / run.write_bytes)...
        run.finish()

What it guarantees:

* **One run at a time.** A lock file holding the process id is created with ``O_EXCL``; a
  second run into the same folder stops at once with a one-line error. A lock left by a
  process that no longer exists (killed) is taken over.
* **A finished run is never overwritten** unless the user says ``resume`` (reuse what is
  there) or ``force`` (start again). An interrupted run is continued only with ``resume``.
* **No stale files mixed with new ones.** ``force`` removes the files the tool itself wrote
  (listed in the run's marker file) before starting; other files in the folder are left
  alone, and a folder holding files that are not a run of this tool is refused.
* **No temporary files left behind**: writes go to ``.<name>.<pid>.tmp`` and are renamed into
  place; leftovers of a crashed run are removed when the folder is opened again.
* **Write errors early**: the folder is created and probed for writing before any work.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

__all__ = ["RunDir", "RunDirError", "atomic_write_bytes", "atomic_write_text"]

MARKER = ".run.json"
LOCK = ".lock"


class RunDirError(ValueError):
    """The output folder cannot be used as asked; the message says why and what to do."""


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half a file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` for text (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


class RunDir:
    """Open ``path`` as the output folder of one run of ``tool``.

    Parameters
    ----------
    path : str or Path
    tool : str
        The command, as users type it (used in messages and in the marker file).
    resume : bool
        Continue (or reuse) the run found in the folder.
    force : bool
        Start again: the files a previous run of this tool wrote are removed first.
    settings : dict, optional
        Recorded in the marker; ``resume`` refuses a folder written with other settings.
    resumable : bool
        False for a tool that has no ``--resume``: its refusal then names only ``--force``.

    Attributes
    ----------
    path : Path
    resumed : bool
        True when an earlier run's files are being reused.
    """

    def __init__(self, path: str | Path, tool: str, *, resume: bool = False,
                 force: bool = False, settings: dict[str, Any] | None = None,
                 resumable: bool = True) -> None:
        if resume and force:
            raise RunDirError("use either resume or force, not both")
        self.path, self.tool = Path(path), tool
        self.resume, self.force = resume, force
        self.settings = settings
        self.resumed = False
        self.resumable = resumable
        self._locked = False
        self._written: set[str] = set()

    # --- opening ----------------------------------------------------------------------
    def __enter__(self) -> "RunDir":
        self._prepare_folder()
        self._lock()
        try:
            self._check_previous_run()
            self._clean_temporary_files()
            self._write_marker("running")
        except BaseException:
            self._unlock()
            raise
        return self

    def _prepare_folder(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"{self.path} is a file, not a folder; choose another output folder")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".probe.{os.getpid()}.tmp"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            why = "no space left on the device" if exc.errno == errno.ENOSPC else exc.strerror
            raise RunDirError(f"cannot write to {self.path}: {why}") from None

    def _lock(self) -> None:
        lock = self.path / LOCK
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid = int(lock.read_text().strip() or 0)
                except (OSError, ValueError):
                    pid = 0
                if pid != os.getpid() and _pid_alive(pid):
                    raise RunDirError(f"another run (process {pid}) is writing to {self.path}; "
                                      "wait for it or choose another output folder") from None
                lock.unlink(missing_ok=True)  # left by a process that is gone
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(str(os.getpid()))
            self._locked = True
            return
        raise RunDirError(f"cannot lock {self.path}")

    def _unlock(self) -> None:
        if self._locked:
            (self.path / LOCK).unlink(missing_ok=True)
            self._locked = False

    def marker(self) -> dict[str, Any] | None:
        """The marker of the run found in the folder (None when there is none)."""
        try:
            return json.loads((self.path / MARKER).read_text())
        except (OSError, ValueError):
            return None

    def _check_previous_run(self) -> None:
        previous = self.marker()
        others = [p.name for p in self.path.iterdir()
                  if p.name not in (LOCK, MARKER) and not p.name.endswith(".tmp")]
        if previous is None or previous.get("tool") != self.tool:
            if others and not self.force:
                raise RunDirError(
                    f"{self.path} is not empty and holds no {self.tool} run; choose an empty or "
                    f"new output folder")
            if others and self.force:
                raise RunDirError(
                    f"{self.path} holds files that no {self.tool} run wrote; --force only "
                    f"replaces a {self.tool} run: choose another output folder")
            return
        finished = previous.get("status") == "finished"
        if self.force:
            self._remove(previous.get("files", []))
            return
        if not self.resume:
            what = "a finished" if finished else "an unfinished"
            if not self.resumable:
                raise RunDirError(f"{self.path} holds {what} {self.tool} run; pass --force to "
                                  "replace it or choose another output folder")
            raise RunDirError(f"{self.path} holds {what} {self.tool} run; use --resume to "
                              f"{'reuse' if finished else 'continue'} it or --force to start over")
        if self.settings is not None and previous.get("settings") not in (None, self.settings):
            old, new = previous["settings"], self.settings
            diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise RunDirError(f"cannot resume {self.path}: it was written with other settings "
                              f"({', '.join(diff)}); use the same settings, --force, or a new folder")
        self._written = set(previous.get("files", []))
        self.resumed = True

    def _remove(self, files: list[str]) -> None:
        for name in files:
            target = self.path / name
            if target.is_dir():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)

    def _clean_temporary_files(self) -> None:
        for tmp in self.path.rglob("*.tmp"):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)

    def _write_marker(self, status: str) -> None:
        doc = {"tool": self.tool, "status": status, "pid": os.getpid(), "time": time.time(),
               "settings": self.settings, "files": sorted(self._written)}
        atomic_write_text(self.path / MARKER, json.dumps(doc, indent=1))

    # --- writing ----------------------------------------------------------------------
    def file(self, name: str) -> Path:
        """The path of ``name`` in the folder, recorded as written by this run (for ``force``)."""
        if name not in self._written:
            self._written.add(name)
            self._write_marker("running")
        return self.path / name

    def write_text(self, name: str, text: str) -> Path:
        return atomic_write_text(self.file(name), text)

    def write_bytes(self, name: str, data: bytes) -> Path:
        return atomic_write_bytes(self.file(name), data)

    def finish(self) -> None:
        """Mark the run finished: the folder is now protected against being overwritten."""
        self._write_marker("finished")

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self._clean_temporary_files()
                if self.marker() and self.marker().get("status") != "finished":
                    self._write_marker("interrupted")
        finally:
            self._unlock()
