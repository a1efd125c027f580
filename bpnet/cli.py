"""The ``bpnet`` command line.

``bpnet check``
    Gradient check and PyTorch equivalence of every activation/loss pair and
    optimiser, on the installed package; exits 1 if anything fails.
"""
from __future__ import annotations

import argparse
import sys


def _cmd_check(args: argparse.Namespace) -> int:
    from . import selfcheck

    use_torch = selfcheck.have_torch() and not args.no_torch
    if not use_torch:
        print("PyTorch is not installed (or --no-torch): running the finite-difference "
              "checks only. Install the 'torch' extra for the equivalence checks.")
    rows = selfcheck.run_checks(use_torch=use_torch)
    print(selfcheck.format_report(rows))
    failed = [r.name for r in rows if not r.passed]
    print(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bpnet", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="verify gradients and PyTorch equivalence")
    check.add_argument("--no-torch", action="store_true",
                       help="skip the PyTorch comparisons even if torch is installed")
    check.set_defaults(func=_cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
