"""The ``tactile`` command: one entry point, one module per subcommand.

Each module named in :data:`tools.commands.COMMANDS` exposes ``register(subparsers) -> None``;
the parser it adds sets ``func`` (``func(args) -> int``) with ``set_defaults``.  Shared
argument helpers live in :mod:`tools.args`.

Only the module of the command being run is imported (its driver stack with it): the others
are listed by their one-line help alone, so ``tactile --help`` and every command start fast
(benchmarks/bench_startup.py).
"""

from __future__ import annotations

import argparse
import importlib
import sys

import serial

from protocol.errors import TactileError
from tools.commands import COMMANDS

__all__ = ["main", "build_parser"]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser: every subcommand in full when ``command`` is None, else ``command`` in full
    and the others by name and help only (without importing their modules)."""
    parser = argparse.ArgumentParser(
        prog="tactile",
        description="Accessible PIN pad and fingerprint tools for technicians, CI and demos.",
    )
    parser.add_argument("--version", action="store_true",
                        help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        if command is None or name == command:
            importlib.import_module(f"tools.{name}").register(sub)
        else:
            sub.add_parser(name, help=summary)
    return parser


def _command(argv: list[str]) -> str:
    """The subcommand named on the command line ("" for none: the top-level help)."""
    for word in argv:
        if not word.startswith("-"):
            return word
    return ""


def version() -> str:
    """The installed package's version (read only when asked: it costs start-up time)."""
    from importlib.metadata import PackageNotFoundError, version as _version

    try:
        return _version("tactile")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    if words[:1] == ["--version"]:
        print(f"tactile {version()}")
        return 0
    parser = build_parser(_command(words))
    args = parser.parse_args(words)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except TactileError as exc:
        from tools.args import cli_message  # driver wording -> the options a technician types

        print(f"tactile {args.command}: {type(exc).__name__}: {cli_message(str(exc))}",
              file=sys.stderr)
        return 1
    except (OSError, serial.SerialException) as exc:  # the edge: a plain message, no traceback
        print(f"tactile {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
