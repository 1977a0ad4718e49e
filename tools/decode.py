"""``tactile decode FILE``: decode a recorded line, either protocol, frame by frame.

FILE is a ``tactile monitor --raw`` recording, a pyserial ``spy://`` log (``spy:///dev/ttyUSB0
?file=log.txt``: TX is what the program sent), a plain hex dump (``EF 01 FF FF ...`` or
``A5 00 02 ...``, one chunk per line, optional ``>``/``<`` or ``TX``/``RX`` in front for the
direction, ``0000:`` offsets and ``#`` comments allowed) or a binary capture; ``-`` reads
stdin.  The protocol of each frame is told by its header (EF01: ``EF 01``; TPP: ``A5``).

Output: one line per frame (time, direction, protocol, message and fields, checksum verdict),
PIN-related fields masked; ``--json``: one object per frame, then a summary object
``{"summary": true, "frames": N, "bad_checksums": N, "garbage_bytes": N, "format": ...}``.
Exit status: 0 every frame intact, 1 a frame failed its checksum, 2 bad usage (no such
file, a line that is not hex).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools._frames import decode_chunks, format_frame, read_capture
from tools.args import JsonLines, add_json_flag
from tools.commands import COMMANDS

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "decode", help=COMMANDS["decode"],
        description="Decode EF01 fingerprint and TPP PIN pad frames from a `tactile monitor "
                    "--raw` recording, a pyserial spy:// log, a plain hex dump or a binary "
                    "capture (`-` for stdin). Exit status: 0 all frames intact, 1 a checksum "
                    "failed, 2 bad usage.")
    parser.add_argument("file", metavar="FILE", help="the capture to decode, or - for stdin")
    parser.add_argument("--protocol", choices=["auto", "ef01", "tpp"], default="auto",
                        help="decode only this protocol (default auto: by the frame header)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"tactile decode: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        fmt, chunks = read_capture(data)
    except ValueError as exc:
        print(f"tactile decode: {args.file}: {exc}", file=sys.stderr)
        return 2
    frames = decode_chunks(chunks, args.protocol)
    bad = sum(1 for f in frames if f.protocol is not None and not f.checksum_ok)
    garbage = sum(len(f.raw) for f in frames if f.protocol is None)
    decoded = sum(1 for f in frames if f.protocol is not None)
    summary = {"summary": True, "format": fmt, "frames": decoded, "bad_checksums": bad,
               "garbage_bytes": garbage}
    if args.json:
        out = JsonLines()
        for frame in frames:
            out(frame.to_dict())
        out(summary)
    else:
        from rich.console import Console
        from rich.markup import escape

        console = Console(highlight=False, soft_wrap=True)
        start = next((f.time for f in frames if f.time is not None), None)
        for frame in frames:
            line = escape(format_frame(frame, start=start))
            if frame.protocol is None:
                line = f"[dim]{line}[/dim]"
            elif not frame.checksum_ok:
                line = f"[red]{line}[/red]"
            console.print(line)
        colour = "red" if bad else "green"
        console.print(f"[{colour}]{fmt}: {decoded} frame(s), {bad} with a bad checksum, "
                      f"{garbage} byte(s) of garbage[/{colour}]")
        if not frames:
            console.print("No bytes found in the file: is it a capture?")
    return 1 if bad else 0
