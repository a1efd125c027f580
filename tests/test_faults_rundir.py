"""Fault injection, output folders: a run folder is a sandbox, its lock is atomic, and a run
that fails to start leaves nothing that blocks the next. docs/reliability.rst lists every case.
"""
import json
import multiprocessing
import os
import shutil
import sys

import numpy as np
import pytest

from bpnet.outdir import RunDir, RunDirError


def _finished(path, files=("result.txt",)):
    with RunDir(path, "tool") as run:
        for name in files:
            run.write_text(name, "done")
        run.finish()


def _edit_marker(out, **changes):
    marker = json.loads((out / ".run.json").read_text())
    marker.update(changes)
    (out / ".run.json").write_text(json.dumps(marker))


# --- the marker cannot reach outside the folder ------------------------------------------
@pytest.mark.parametrize("entry", ["../victim.txt", "sub/../../victim.txt", "ABSOLUTE", "",
                                   "./..", 7])
def test_a_marker_naming_a_path_outside_the_folder_is_refused_as_corrupt(tmp_path, entry):
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's")
    out = tmp_path / "out"
    _finished(out)
    _edit_marker(out, files=["result.txt", str(victim) if entry == "ABSOLUTE" else entry])
    for flags in ({"force": True}, {"resume": True}, {}):
        with pytest.raises(RunDirError, match=r"\.run\.json is corrupt .*not a path inside"):
            RunDir(out, "tool", **flags).__enter__()
    assert victim.read_text() == "the user's" and (out / "result.txt").is_file()
    assert not (out / ".lock").exists()


@pytest.mark.parametrize("entry", ["sub/result.txt", "link"])
def test_a_marker_entry_a_symlink_leads_out_of_the_folder_is_refused(tmp_path, entry):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "result.txt").write_text("the user's")
    out = tmp_path / "out"
    _finished(out, files=("result.txt",))
    (out / "sub").symlink_to(outside, target_is_directory=True)   # a folder on the way
    (out / "link").symlink_to(outside, target_is_directory=True)   # a listed entry itself
    _edit_marker(out, files=["result.txt", entry])
    with pytest.raises(RunDirError, match=f"corrupt .*lists '{entry}', which a symbolic link "
                                          "leads out of the folder"):
        RunDir(out, "tool", force=True).__enter__()
    assert (outside / "result.txt").read_text() == "the user's"


def test_removal_never_follows_a_link_even_past_the_marker_check(tmp_path):
    """Defence in depth: a link made after the marker was read is removed, not followed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("the user's")
    out = tmp_path / "out"
    _finished(out, files=("result.txt",))
    run = RunDir(out, "tool", force=True)
    (out / "result.txt").unlink()
    (out / "result.txt").symlink_to(outside, target_is_directory=True)
    (out / "sub").symlink_to(outside, target_is_directory=True)
    run._remove({"result.txt", "sub/keep.txt"})
    assert (outside / "keep.txt").read_text() == "the user's"
    assert not (out / "result.txt").exists() and (out / "sub").is_symlink()


@pytest.mark.parametrize("flags", [{"resume": True}, {"force": True}])
def test_a_users_tmp_files_in_a_run_folder_are_never_deleted(tmp_path, flags):
    out = tmp_path / "out"
    _finished(out)
    users = ["notes.tmp", ".notes.123.tmp", ".draft.txt.99999999.tmp"]
    for name in users:
        (out / name).write_text("mine")
    with RunDir(out, "tool", **flags) as run:
        run.finish()
    with pytest.raises(KeyboardInterrupt):  # the clean-up after a failure spares them too
        with RunDir(out, "tool", resume=True):
            raise KeyboardInterrupt
    assert all((out / name).read_text() == "mine" for name in users)


def test_force_refuses_a_users_file_put_into_a_folder_the_run_wrote(tmp_path):
    out = tmp_path / "out"
    with RunDir(out, "tool") as run:
        run.file("checkpoints").mkdir()
        (out / "checkpoints" / "fold0.pt").write_text("the run's")
        run.finish()
    finished_at = json.loads((out / ".run.json").read_text())["time"]
    mine = out / "checkpoints" / "notes.txt"
    mine.write_text("mine")
    os.utime(out / ".run.json", (finished_at, finished_at))
    os.utime(mine, (finished_at + 60, finished_at + 60))  # put there after the run finished
    with pytest.raises(RunDirError, match=r"checkpoints/notes\.txt was put into .* after the "
                                          r"run finished; --force would remove it"):
        RunDir(out, "tool", force=True).__enter__()
    assert mine.read_text() == "mine" and (out / "checkpoints" / "fold0.pt").is_file()
    # a copy (cp -r): every file as new as its marker, none told apart: --force goes on
    shutil.copytree(out, tmp_path / "copy", copy_function=shutil.copy)
    with RunDir(tmp_path / "copy", "tool", force=True) as run:
        assert not (tmp_path / "copy" / "checkpoints").exists()
    mine.rename(tmp_path / "notes.txt")  # moved out, as the message says: --force goes on
    with RunDir(out, "tool", force=True) as run:
        assert not (out / "checkpoints").exists()
        run.finish()


@pytest.mark.parametrize("content", ["", "{", "{}", "[]", '{"tool": "tool", "files": "x"}',
                                     "\x00\xff garbage"])
def test_a_corrupt_marker_is_one_line_naming_it(tmp_path, content):
    out = tmp_path / "out"
    _finished(out)
    (out / ".run.json").write_text(content, errors="surrogateescape")
    with pytest.raises(RunDirError, match=r"out/\.run\.json is corrupt") as caught:
        RunDir(out, "tool", force=True).__enter__()
    assert "\n" not in str(caught.value) and (out / "result.txt").is_file()


# --- a failed start leaves nothing behind ------------------------------------------------
def test_a_run_that_fails_before_keeping_anything_leaves_no_trace(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(FileNotFoundError):
        with RunDir(out, "tool") as run:
            run.file("checkpoints").mkdir()  # recorded, created, still empty
            raise FileNotFoundError("--data typo: no such folder")
    assert not out.exists()  # it created the folder, so it removes it
    with RunDir(out, "tool") as run:  # the plain command again: no --force needed
        run.write_text("result.txt", "done")
        run.finish()


def test_a_failed_start_keeps_the_users_folder_and_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".hidden-by-user").mkdir()
    with pytest.raises(ValueError):
        with RunDir(out, "tool"):
            raise ValueError("bad data")
    assert sorted(p.name for p in out.iterdir()) == [".hidden-by-user"]


def test_a_run_that_kept_a_file_is_interrupted_and_resumes(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        with RunDir(out, "tool") as run:
            run.write_text("stage1.json", "{}")
            raise KeyboardInterrupt
    assert json.loads((out / ".run.json").read_text())["status"] == "interrupted"
    with pytest.raises(RunDirError, match="use --resume to continue"):
        RunDir(out, "tool").__enter__()
    with RunDir(out, "tool", resume=True) as run:
        assert run.resumed and (out / "stage1.json").is_file()


# --- the lock ------------------------------------------------------------------------------
def _contender(folder_of, barrier, trials, results):
    """One of two processes: each trial, open the same fresh folder at the same moment."""
    outcomes = {"held": 0, "refused": 0, "crashed": [], "both": 0}
    for i in range(trials):
        out = folder_of(i)
        barrier.wait()
        try:
            with RunDir(out, "tool") as run:
                outcomes["held"] += 1
                try:  # a second holder would find this file already there
                    fd = os.open(out / "holder", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                    os.close(fd)
                except FileExistsError:
                    outcomes["both"] += 1
                    continue
                os.sched_yield()
                (out / "holder").unlink()
                run.finish()
        except RunDirError:
            outcomes["refused"] += 1
        except Exception as exc:  # noqa: BLE001 - a crash is what the test counts
            outcomes["crashed"].append(f"{type(exc).__name__}: {exc}")
    results.put(outcomes)


class _Folders:
    def __init__(self, root):
        self.root = root

    def __call__(self, i):
        return self.root / f"run{i}"


@pytest.mark.skipif(sys.platform == "win32", reason="fork start method")
def test_two_processes_starting_at_once_never_both_hold_the_lock(tmp_path):
    trials = 300
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_contender, args=(_Folders(tmp_path), barrier, trials, results))
             for _ in range(2)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(o["crashed"] == [] for o in outcomes), outcomes
    assert sum(o["both"] for o in outcomes) == 0
    # every trial: one run held the folder; the other was refused (busy, or finished already)
    assert sum(o["held"] for o in outcomes) == trials
    assert sum(o["refused"] for o in outcomes) == trials
    assert not list(tmp_path.glob("run*/.lock")) and not list(tmp_path.glob("run*/holder"))


# --- the commands: a typo in --data does not block the corrected command -------------------
def _bpnet_cv(*argv):
    from bpnet import cli

    return cli.main(["cv", "--no-progress", *argv])


def _fer_compare(*argv):
    pytest.importorskip("torch")
    from resnet_fer import compare

    return compare.main(["--no-progress", "--device", "cpu", *argv])


def _bpnet_tune(*argv):
    from bpnet import cli

    return cli.main(["tune", "--no-progress", *argv])


def _resnet_fer_train(*argv):
    pytest.importorskip("torch")
    from resnet_fer import cli

    return cli.main(["train", "--no-progress", "--device", "cpu", "--size", "16", *argv])


@pytest.mark.parametrize("command", [_bpnet_cv, _bpnet_tune, _fer_compare, _resnet_fer_train])
def test_a_failed_start_of_a_command_leaves_nothing_that_blocks_a_rerun(tmp_path, capsys, command):
    """A mistake the command finds after it opened --out (here: an unreadable image)."""
    pytest.importorskip("PIL")
    from PIL import Image

    from bpnet.data.sfew import CLASS_NAMES

    data = tmp_path / "images"
    for cls in CLASS_NAMES:
        (data / cls).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((16, 16, 3), 60 * i, np.uint8)).save(data / cls / f"{cls}_{i}_1.png")
    (data / "Sad" / "Sad_0_1.png").write_bytes(b"\x89PNG\r\n\x1a\n and then nothing")
    out = tmp_path / "out"
    for _ in range(2):  # the second time it meets the same mistake, not a leftover marker
        assert command("--data", str(data), "--out", str(out), "--folds", "2") == 2
        err = capsys.readouterr().err.strip()
        assert "Sad_0_1.png" in err and "--force" not in err and "--resume" not in err, err
        assert not out.exists()
