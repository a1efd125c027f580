"""RunDir: one run per folder, finished runs kept, no stale or temporary files left."""
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bpnet.outdir import RunDir, RunDirError


@pytest.fixture()
def dead_pid():
    """The id of a process that has exited."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def _finished(path, settings=None, files=("result.txt",)):
    with RunDir(path, "tool", settings=settings) as run:
        for name in files:
            run.write_text(name, "done")
        run.finish()


def test_a_finished_run_is_refused_unless_resumed_or_forced(tmp_path):
    out = tmp_path / "out"
    _finished(out)
    with pytest.raises(RunDirError, match="holds a finished tool run; use --resume"):
        RunDir(out, "tool").__enter__()
    with RunDir(out, "tool", resume=True) as run:
        assert run.resumed and (out / "result.txt").read_text() == "done"


def test_a_folder_of_other_files_is_never_used(tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"not ours")
    with pytest.raises(RunDirError, match="not empty and holds no tool run"):
        RunDir(foreign, "tool").__enter__()
    with pytest.raises(RunDirError, match="holds files that no tool run wrote"):
        RunDir(foreign, "tool", force=True).__enter__()
    assert (foreign / "holiday.jpg").read_bytes() == b"not ours"


def test_force_removes_the_old_runs_files_and_nothing_else(tmp_path):
    out = tmp_path / "out"
    _finished(out, files=("old.json", "plot.png"))
    (out / "notes.txt").write_text("mine")  # not written by the tool
    with RunDir(out, "tool", force=True) as run:
        assert not (out / "old.json").exists() and not (out / "plot.png").exists()
        assert (out / "notes.txt").read_text() == "mine"
        run.write_text("new.json", "{}")
        run.finish()
    assert json.loads((out / ".run.json").read_text())["files"] == ["new.json"]


def test_resume_refuses_other_settings(tmp_path):
    out = tmp_path / "out"
    _finished(out, settings={"folds": 5})
    with pytest.raises(RunDirError, match=r"other settings \(folds\)"):
        with RunDir(out, "tool", resume=True, settings={"folds": 20}):
            pass


_HOLDER = """
import sys, time
from bpnet.outdir import RunDir
with RunDir(sys.argv[1], "tool"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_concurrent_run_is_refused_and_a_killed_ones_lock_is_freed(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunDirError, match=f"another run \\(process {holder.pid}\\)"):
            RunDir(out, "tool").__enter__()
    finally:
        holder.kill()  # SIGKILL: no clean-up ran, the operating system frees the lock
        holder.wait()
        holder.stdout.close()
    with RunDir(out, "tool", resume=True) as run:
        run.finish()
    assert not (out / ".lock").exists()


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_a_start_killed_before_it_kept_anything_does_not_block_a_plain_rerun(tmp_path, sig):
    import signal

    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        holder.send_signal(getattr(signal, sig))  # no clean-up runs under either
        holder.wait()
    finally:
        holder.stdout.close()
    assert json.loads((out / ".run.json").read_text())["status"] == "running"
    with RunDir(out, "tool") as run:  # no --resume, no --force
        assert not run.resumed
        run.write_text("result.txt", "done")
        run.finish()
    assert json.loads((out / ".run.json").read_text())["status"] == "finished"


def test_a_killed_run_that_kept_a_file_still_needs_resume(tmp_path, dead_pid):
    out = tmp_path / "out"
    with RunDir(out, "tool") as run:
        run.write_text("stage1.json", "{}")
        marker = json.loads((out / ".run.json").read_text())
    marker.update(status="running", pid=dead_pid)  # as a SIGKILL leaves it
    (out / ".run.json").write_text(json.dumps(marker))
    with pytest.raises(RunDirError, match="unfinished tool run; use --resume to continue"):
        RunDir(out, "tool").__enter__()
    with RunDir(out, "tool", resume=True) as run:
        assert run.resumed and (out / "stage1.json").is_file()


def test_an_interrupted_run_needs_resume_and_leaves_no_temporary_files(tmp_path, dead_pid):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        with RunDir(out, "tool") as run:
            run.write_text("part.json", "{}")
            (out / f".part.json.{os.getpid()}.tmp").write_bytes(b"half a file")
            raise KeyboardInterrupt
    assert not list(out.glob("*.tmp"))
    assert json.loads((out / ".run.json").read_text())["status"] == "interrupted"
    with pytest.raises(RunDirError, match="unfinished tool run; use --resume to continue"):
        RunDir(out, "tool").__enter__()
    (out / f".part.json.{dead_pid}.tmp").write_bytes(b"from a killed run")
    with RunDir(out, "tool", resume=True):
        assert not list(out.glob("*.tmp"))  # cleaned when the folder is opened again


def test_write_problems_are_found_before_any_work(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirError, match="is a file, not a folder"):
        RunDir(tmp_path / "file", "tool").__enter__()

    def full_disk(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pathlib.Path.write_bytes", full_disk)
    with pytest.raises(RunDirError, match="no space left on the device"):
        RunDir(tmp_path / "new", "tool").__enter__()


def test_atomic_write_leaves_the_old_file_whole_when_the_writer_fails(tmp_path):
    from bpnet.outdir import atomic_write

    target = tmp_path / "sub" / "model.bin"
    assert atomic_write(target, lambda name: Path(name).write_bytes(b"first")) == target
    assert target.read_bytes() == b"first"

    def fails(name):
        Path(name).write_bytes(b"half")
        raise KeyboardInterrupt  # Ctrl-C mid-write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, fails)
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.bin"]  # no temporary file
