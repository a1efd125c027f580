"""Output folders that one run owns: locked, never silently overwritten, never left half-stale.

Every command that writes a folder of results (``bpnet cv --out``, ``bpnet tune --out``,
``resnet-fer train --out``, ``fer-compare --out``) opens it as a :class:`RunDir`::

    with RunDir(out, tool="fer-compare", resume=args.resume, force=args.force) as run:
        ...write files (atomically: run.write_text / run.write_bytes)...
        run.finish()

What it guarantees:

* **One run at a time.** The folder's lock (:mod:`bpnet.runlock`) is taken atomically; a
  second run into the same folder stops at once with a one-line error. A killed run's lock
  is freed by the operating system.
* **A finished run is never overwritten** unless the user says ``resume`` (reuse what is
  there) or ``force`` (start again). An interrupted run is continued only with ``resume``.
* **A sandbox.** ``force`` removes only the files the tool itself wrote, as listed in the
  run's marker file, inside the folder: an entry that leads outside it (``../x``, an
  absolute path, a path through a symbolic link) makes the marker corrupt and the folder is
  refused; a symbolic link the run wrote is removed, never followed. Other files in the
  folder are left alone, and a folder holding files that are not a run of this tool is
  refused.
* **A failed start leaves nothing behind.** A run that fails before it has kept any file
  removes its marker (and the folder, when it created it and it is empty), so the same
  command can simply be run again.
* **No temporary files left behind**: writes go to ``.<name>.<pid>.tmp`` and are renamed into
  place; the leftovers of a killed run are removed when the folder is opened again. Only
  the temporary files of files the run wrote are touched: a user's ``notes.tmp`` stays.
* **Write errors early**: the folder is created and probed for writing before any work.
"""
from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import shutil
import stat
import time
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from .runlock import FolderLock, LockHeld, pid_alive

__all__ = ["RunDir", "RunDirError", "WriteError", "atomic_write", "atomic_write_bytes",
           "atomic_write_text", "save_figure"]

MARKER = ".run.json"
LOCK = ".lock"
#: ``.<name>.<pid>.tmp``, the temporary file of :func:`atomic_write_bytes` (and of the
#: checkpoints and caches written the same way)
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp$")


class RunDirError(ValueError):
    """The output folder cannot be used as asked; the message says why and what to do."""


class WriteError(OSError):
    """A file could not be written; the message names it and says why (no errno prefix)."""

    def __str__(self) -> str:
        return str(self.strerror)


def _why(exc: OSError) -> str:
    return "no space left on the device" if exc.errno == errno.ENOSPC else (
        exc.strerror or str(exc))


def _via_temporary(path: Path, write: Callable[[str], object]) -> Path:
    """``write(tmp)`` into ``.<name>.<pid>.tmp`` beside ``path``, then rename it over
    ``path`` (never half a file); on any failure, Ctrl-C included, the temporary file goes."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(str(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half a file).

    A failure (a full disk, a read-only folder) is raised as :class:`WriteError` naming
    ``path`` itself, never the temporary file or no file at all.
    """
    path = Path(path)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    try:
        return _via_temporary(path, write)
    except OSError as exc:
        raise WriteError(exc.errno, f"cannot write {path}: {_why(exc)}") from None


def atomic_write(path: str | Path, write: Callable[[str], object]) -> Path:
    """Make ``path`` whole or not at all with a writer that takes a file name.

    ``write(tmp)`` fills a temporary file beside ``path`` (a library's own ``save(obj,
    name)``), which then replaces ``path``: a reader never sees half a file. On any
    failure the temporary file is removed and the error raised as it came. Returns ``path``.

    The temporary file is named as :func:`atomic_write_bytes`'s (so a killed run's leftover
    is found the same way) and created by the writer itself: the file gets the permissions
    of any other the run writes (``0o666`` less the umask), where ``tempfile.mkstemp`` would
    make every saved model owner-only (``0o600``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return _via_temporary(path, write)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` for text (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def save_figure(fig, path, **savefig_kwargs) -> None:
    """``fig.savefig(path)``; a file path is written as :func:`atomic_write_bytes` does (a
    full disk names it, no half-written image stays); a file object is written directly."""
    if not isinstance(path, (str, os.PathLike)):
        fig.savefig(path, **savefig_kwargs)
        return
    buffer = io.BytesIO()
    fig.savefig(buffer, format=Path(path).suffix.lstrip(".").lower() or "png", **savefig_kwargs)
    atomic_write_bytes(path, buffer.getvalue())


def _member_name(name: object) -> str | None:
    """``name`` as a relative path inside the folder, or None when it leads out of it."""
    if not isinstance(name, str) or not name or "\x00" in name or "\\" in name:
        return None
    parts = PurePosixPath(name).parts
    if PurePosixPath(name).is_absolute() or any(p in ("..", ".") for p in parts):
        return None
    return "/".join(parts)


def _holds_a_file(path: Path) -> bool:
    """Whether ``path`` is a file or link, or a real folder holding one at any depth."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    if not stat.S_ISDIR(mode):
        return True
    return any(_holds_a_file(child) for child in path.iterdir())


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
    inputs : dict, optional
        The content digests of the run's input files (:func:`bpnet.digest.input_digests`),
        recorded in the marker; ``resume`` refuses a folder whose inputs changed since,
        naming the first changed file.

    Attributes
    ----------
    path : Path
    resumed : bool
        True when an earlier run's files are being reused.
    """

    def __init__(self, path: str | Path, tool: str, *, resume: bool = False,
                 force: bool = False, settings: dict[str, Any] | None = None,
                 resumable: bool = True, inputs: dict[str, list] | None = None) -> None:
        if resume and force:
            raise RunDirError("use either resume or force, not both")
        self.path, self.tool = Path(path), tool
        self.resume, self.force = resume, force
        self.settings = settings
        self.resumed = False
        self.resumable = resumable
        self.inputs = inputs
        self._lock = FolderLock(self.path / LOCK)
        self._created = False
        self._written: set[str] = set()

    # --- opening ----------------------------------------------------------------------
    def __enter__(self) -> "RunDir":
        self._prepare_folder()
        try:
            self._lock.acquire()
        except LockHeld as held:
            who = f"process {held.pid}" if held.pid else "another process"
            raise RunDirError(f"another run ({who}) is writing to {self.path}; wait for it or "
                              "choose another output folder") from None
        try:
            self._check_previous_run()
            self._clean_temporary_files(all_of_them=False)
            self._write_marker("running")
        except BaseException:
            self._release()
            raise
        return self

    def _prepare_folder(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"{self.path} is a file, not a folder; choose another output folder")
        try:
            self._created = not self.path.exists()
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".probe.{os.getpid()}.tmp"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            why = "no space left on the device" if exc.errno == errno.ENOSPC else exc.strerror
            raise RunDirError(f"cannot write to {self.path}: {why}") from None

    def _corrupt(self, why: str) -> RunDirError:
        return RunDirError(
            f"{self.path / MARKER} is corrupt ({why}); it says which files a run wrote, so "
            "nothing here can be resumed or replaced safely: delete the folder yourself or "
            "choose another output folder")

    def marker(self) -> dict[str, Any] | None:
        """The marker of the run found in the folder (None when there is none).

        Raises
        ------
        RunDirError
            When the marker is unreadable, or lists a file outside the folder.
        """
        path = self.path / MARKER
        if not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise self._corrupt(f"not readable JSON: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("tool"), str):
            raise self._corrupt("no tool named")
        files = doc.get("files", [])
        if not isinstance(files, list):
            raise self._corrupt("its file list is not a list")
        root = os.path.realpath(self.path)
        for name in files:
            if _member_name(name) is None:
                raise self._corrupt(f"it lists {name!r}, which is not a path inside the folder")
            real = os.path.realpath(os.path.join(root, name))
            if os.path.commonpath([root, real]) != root:
                raise self._corrupt(f"it lists {name!r}, which a symbolic link leads out of the "
                                    "folder")
        return doc

    def _check_previous_run(self) -> None:
        previous = self.marker()
        others = [p.name for p in self.path.iterdir()
                  if p.name not in (LOCK, MARKER) and not _TEMPORARY.match(p.name)]
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
        if not finished and not self._kept_any(previous):
            # a start killed before it kept any work (SIGKILL, SIGTERM, a power cut: no clean-up
            # ran): nothing to resume and nothing to protect, so a plain rerun starts afresh
            self._remove(set(previous.get("files", [])))
            return
        if self.force:
            self._written = set(previous.get("files", []))
            if finished:
                self._refuse_later_files(previous.get("time"))
            self._clean_temporary_files(all_of_them=True)
            self._remove(self._written)
            self._written = set()
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
            if not isinstance(old, dict):
                raise self._corrupt("its settings are not a mapping")
            diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise RunDirError(f"cannot resume {self.path}: it was written with other settings "
                              f"({', '.join(diff)}); use the same settings, --force, or a new folder")
        self._check_inputs(previous)
        self._written = set(previous.get("files", []))
        self.resumed = True

    def _refuse_later_files(self, finished_at: Any) -> None:
        """Refuse ``force`` when a folder the run wrote holds a file put there after the run
        finished (a user's): removing the folder would remove it too."""
        if isinstance(finished_at, bool) or not isinstance(finished_at, (int, float)):
            return
        try:  # a copied folder: its files are as new as its marker
            finished_at = max(finished_at, os.lstat(self.path / MARKER).st_mtime)
        except OSError:
            pass
        for name in sorted(self._written):
            folder = self._inside(name)
            if folder is None or not folder.is_dir() or folder.is_symlink():
                continue
            for base, _dirs, names in os.walk(folder, followlinks=False):
                for entry in sorted(names):
                    path = Path(base) / entry
                    if os.lstat(path).st_mtime > finished_at + 2.0:
                        raise RunDirError(
                            f"{path} was put into {folder} after the run finished; --force "
                            "would remove it with the run's folder: move it out first, or "
                            "delete the folder yourself")

    def _check_inputs(self, previous: dict[str, Any]) -> None:
        """Refuse to resume when an input file changed since the run started."""
        from .digest import describe_change

        if self.inputs is None:
            return
        old = previous.get("inputs")
        if not isinstance(old, dict) or not all(
                isinstance(v, list) and len(v) == 3 for v in old.values()):
            raise RunDirError(f"cannot resume {self.path}: its marker holds no digest of the "
                              "input files, so changed data would go unnoticed; use --force "
                              "to start over")
        change = describe_change(old, self.inputs)
        if change is not None:
            raise RunDirError(f"cannot resume {self.path}: {change} since the run started; "
                              "use --force to start over on the data as it is now")

    def _inside(self, name: str) -> Path | None:
        """The path of member ``name``, or None when a folder on the way is a link or missing.

        The last component may be a link (it is removed, not followed); every folder before
        it must be a real folder inside this one.
        """
        target = self.path
        parts = name.split("/")
        for part in parts[:-1]:
            target = target / part
            try:
                if not stat.S_ISDIR(os.lstat(target).st_mode):
                    return None  # a link (possibly out of the folder), a file, a device
            except OSError:
                return None
        return target / parts[-1]

    def _remove(self, files: set[str]) -> None:
        for name in sorted(files):
            target = self._inside(name)
            if target is None:
                continue
            try:
                mode = os.lstat(target).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                shutil.rmtree(target, ignore_errors=True)  # does not follow links inside
            else:
                target.unlink(missing_ok=True)  # a link itself, never what it points to

    def _is_ours(self, relative: str) -> bool:
        """Whether ``relative`` is a file this run wrote, or lies in a folder it wrote."""
        parts = relative.split("/")
        return any("/".join(parts[:i]) in self._written for i in range(1, len(parts) + 1))

    def _clean_temporary_files(self, all_of_them: bool) -> None:
        """Remove the temporary files of the files this run wrote (and of its marker).

        Those of a live process are kept unless ``all_of_them`` (the folder is locked, so a
        live owner can only be this process, or a pid reused since a kill).
        """
        for folder, _dirs, names in os.walk(self.path, followlinks=False):
            base = Path(folder)
            rel = base.relative_to(self.path).as_posix()
            for name in names:
                match = _TEMPORARY.match(name)
                if match is None:
                    continue
                target = match["name"] if rel == "." else f"{rel}/{match['name']}"
                ours = (target in (MARKER, "probe") or self._is_ours(target))
                pid = int(match["pid"])
                if ours and (all_of_them or pid == os.getpid() or not pid_alive(pid)):
                    (base / name).unlink(missing_ok=True)

    def _write_marker(self, status: str) -> None:
        doc = {"tool": self.tool, "status": status, "pid": os.getpid(), "time": time.time(),
               "settings": self.settings, "inputs": self.inputs,
               "files": sorted(self._written)}
        atomic_write_text(self.path / MARKER, json.dumps(doc, indent=1))

    # --- writing ----------------------------------------------------------------------
    def file(self, name: str) -> Path:
        """The path of ``name`` in the folder, recorded as written by this run (for ``force``)."""
        member = _member_name(name)
        if member is None:
            raise ValueError(f"{name!r} is not a path inside the output folder")
        if member not in self._written:
            self._written.add(member)
            self._write_marker("running")
        return self.path / member

    def write_text(self, name: str, text: str) -> Path:
        return atomic_write_text(self.file(name), text)

    def write_bytes(self, name: str, data: bytes) -> Path:
        return atomic_write_bytes(self.file(name), data)

    @contextlib.contextmanager
    def writing(self, what: str):
        """Within the block, an OSError (a full disk) becomes one error naming ``what`` here."""
        try:
            yield
        except OSError as exc:
            raise RunDirError(f"cannot write {self.path / what}: {_why(exc)}; free some space, "
                              "then run the same command with --resume") from None

    def finish(self) -> None:
        """Mark the run finished: the folder is now protected against being overwritten."""
        self._write_marker("finished")

    def _kept_any(self, marker: dict[str, Any]) -> bool:
        """Whether a file the marker lists (or one inside a folder it lists) exists."""
        return any((p := self._inside(name)) is not None and _holds_a_file(p)
                   for name in marker.get("files", []))

    def _kept_nothing(self) -> bool:
        return not self.resumed and not self._kept_any({"files": self._written})

    def _release(self) -> None:
        self._lock.release()
        if self._created:  # a run that failed to start leaves no empty folder either
            try:
                self.path.rmdir()
            except OSError:
                pass

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self._clean_temporary_files(all_of_them=False)
                if self._kept_nothing():  # failed before any work was kept: leave no trace
                    self._remove(self._written)
                    (self.path / MARKER).unlink(missing_ok=True)
                else:
                    marker = self.marker()
                    if marker and marker.get("status") != "finished":
                        self._write_marker("interrupted")
        finally:
            self._release()
