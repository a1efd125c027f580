"""bpnet.cli_tools: the one formatter, error wrapper and set of shared arguments of every command."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bpnet import cli_tools
from bpnet.cli import build_parser


def _run(capsys, work, **kw):
    status = cli_tools.run_command("tool", work, **kw)
    return status, capsys.readouterr().err


def test_a_mistake_is_one_line_and_exit_2(capsys):
    def work():
        raise ValueError("bad\n   thing")

    status, err = _run(capsys, work)
    assert status == 2 and err == "tool: error: bad thing\n"


def test_an_error_not_named_as_a_mistake_is_not_caught():
    def work():
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        cli_tools.run_command("tool", work, errors=(cli_tools.UsageError,))


def test_ctrl_c_exits_130_with_the_tools_hint(capsys):
    def work():
        raise KeyboardInterrupt

    status, err = _run(capsys, work, interrupted="run it again with --resume")
    assert status == 130 and err == "\ntool: interrupted; run it again with --resume\n"


@pytest.mark.parametrize("module, hinted", [("torch", True), ("torch.nn", True), ("cv2", True),
                                            ("onnx", False), ("scipy", False)])
def test_a_missing_module_gets_the_torch_extras_hint_only_when_the_extra_holds_it(
        capsys, module, hinted):
    def work():
        raise ImportError(f"No module named {module!r}", name=module)

    status, err = _run(capsys, work, notes=False)
    assert status == 2 and err.startswith(f"tool: error: No module named {module!r}")
    assert ("'torch' extra" in err) is hinted


def test_a_closed_output_pipe_is_silent_with_the_sigpipe_status(capsys):
    def work():
        raise BrokenPipeError(32, "Broken pipe")  # an OSError, yet not the user's mistake

    status, err = _run(capsys, work)
    assert status == 141 and err == ""


def test_python_m_bpnet_exercises_list_into_a_closed_pipe_says_nothing():
    """``python -m bpnet.exercises list | head -1``: the reader is gone before the output."""
    read, write = os.pipe()
    os.close(read)  # every write now fails with EPIPE
    try:
        done = subprocess.run([sys.executable, "-m", "bpnet.exercises", "list"], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120,
                              cwd=Path(__file__).resolve().parents[1])
    finally:
        os.close(write)
    assert done.stderr == "" and done.returncode == 141


def test_the_status_of_the_work_is_returned(capsys):
    assert _run(capsys, lambda: 1)[0] == 1 and _run(capsys, lambda: None)[0] == 0


def test_resume_and_force_together_are_a_usage_error(capsys):
    parser = argparse.ArgumentParser(prog="tool")
    cli_tools.add_output_arguments(parser, out_help="folder", force_help="replace",
                                   resume_help="continue")
    args = parser.parse_args(["--out", "x", "--resume", "--force"])
    with pytest.raises(SystemExit) as stop:
        cli_tools.check_output_arguments(parser, args)
    assert stop.value.code == 2 and "use --resume or --force, not both" in capsys.readouterr().err


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.option_strings[-1]: a for a in parser._actions if a.option_strings}


def test_bpnet_cv_and_tune_share_their_protocol_and_run_arguments():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    cv, tune = _options(sub.choices["cv"]), _options(sub.choices["tune"])
    for name in ("--data", "--folds", "--split", "--seed", "--out", "--force", "--no-progress"):
        a, b = cv[name], tune[name]
        assert (a.default, a.choices, a.type) == (b.default, b.choices, b.type), name
    assert cv["--split"].choices == cli_tools.SPLITS and "--inner-folds" not in cv


def test_the_formatter_shows_a_default_once_and_none_for_flags():
    parser = argparse.ArgumentParser(formatter_class=cli_tools.HelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", help="folder (default: none)")
    cli_tools.add_progress_argument(parser)
    text = parser.format_help()
    assert "default: 5" in text and text.count("default") == 2 and "False" not in text


def test_fer_compare_takes_its_shared_arguments_from_the_toolkit(capsys):
    pytest.importorskip("torch")
    from resnet_fer import compare

    ours = _options(compare.build_parser())
    ref = argparse.ArgumentParser()
    cli_tools.add_split_arguments(ref, folds=5)
    cli_tools.add_output_arguments(ref, out_help="o", force_help="f", resume_help="r")
    cli_tools.add_progress_argument(ref)
    cli_tools.add_seed_argument(ref, help="s")
    for name, want in _options(ref).items():
        got = ours[name]
        assert (type(got), got.type, got.choices) == (type(want), want.type, want.choices), name
    assert ours["--split"].choices is cli_tools.SPLITS  # the toolkit's own, not a copy
    assert ours["--no-progress"].help == _options(ref)["--no-progress"].help
    with pytest.raises(SystemExit) as stop:
        compare.main(["--resume", "--force"])
    assert stop.value.code == 2 and "use --resume or --force, not both" in capsys.readouterr().err
