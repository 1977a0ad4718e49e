"""The ``tactile`` command: one entry point, one module per subcommand.

Each module named in ``_SUBCOMMANDS`` exposes ``register(subparsers) -> None``; the parser it
adds sets ``func`` (``func(args) -> int``) with ``set_defaults``.  Shared argument helpers live
in :mod:`tools.args`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import serial

from protocol.errors import TactileError

__all__ = ["main", "build_parser"]

# module names under tools/, in the order `tactile --help` lists them
_SUBCOMMANDS: list[str] = ["demo", "sim", "list", "diag", "fingerprint", "pin", "pad", "monitor",
                           "decode", "audit", "confirm", "tour"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tactile",
        description="Accessible PIN pad and fingerprint tools for technicians, CI and demos.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMANDS:
        importlib.import_module(f"tools.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
