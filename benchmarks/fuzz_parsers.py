"""Coverage-guided fuzzing of every parser, both roles, with atheris (libFuzzer for Python).

Targets (``TARGET`` argument):

* ``tpp-host``     TppConnection(HOST) after a Hello, with a request pending: random bytes in
* ``tpp-device``   TppConnection(DEVICE): random bytes in
* ``tpp-schema``   decode_message(type, payload) for every message type, and KeyLayout ->
                   Layout for what decodes
* ``ef01-host``    ef01 Connection(HOST) with a pending command (instruction from the input)
* ``ef01-device``  ef01 Connection(DEVICE)
* ``ef01-schema``  parse_frame / parse_command / parse_reply / parse_data_frame
* ``all``          one after the other, each with the budget

Only the protocol's typed errors may escape a parser (``protocol.errors.ProtocolError``, and
``TactileError`` for a layout a host cannot use); anything else is a crash: atheris stops,
prints the input and writes it as ``crash-*``.  Every crash found becomes a test in
tests/hardening/test_fuzz_parsers.py (or tests/protocol).

atheris is not a project dependency (it needs a wheel or clang): use a scratch venv::

    python3 -m venv /tmp/fz && /tmp/fz/bin/pip install atheris -e .
    /tmp/fz/bin/python benchmarks/fuzz_parsers.py all --budget 60

Budget: ``--budget SECONDS`` per target (default 60 s: six targets, 6 minutes on one core),
passed to libFuzzer as ``-max_total_time``; other libFuzzer flags follow ``--``.  Recorded
results are in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import atheris  # noqa: E402

with atheris.instrument_imports():
    from protocol import ef01, tpp
    from protocol.ef01 import schema as ef01_schema
    from protocol.errors import ProtocolError, TactileError
    from protocol.tpp import messages as m
    from protocol.tpp.codes import State

_TPP_TYPES = sorted(tpp.PAYLOADS)
_INSTRUCTIONS = list(ef01.Instruction)


def _drain(next_event, need_data) -> None:
    for _ in range(10_000):
        try:
            if next_event() in need_data:
                return
        except ProtocolError:
            continue
    raise AssertionError("next_event never returned NEED_DATA: a parser loops")


def _tpp_host_after_hello() -> tpp.TppConnection:
    host, pad = tpp.TppConnection(tpp.Role.HOST), tpp.TppConnection(tpp.Role.DEVICE)
    pad.receive_data(host.send(m.Hello(session=1, host="fuzz")))
    _drain(pad.next_event, (tpp.NEED_DATA,))
    host.receive_data(pad.data_to_send())
    pad.send(m.HelloReply(version=m.Version(1, 0), max_payload=1024, boot_count=1,
                          mode=State.STARTING))
    host.receive_data(pad.data_to_send())
    _drain(host.next_event, (tpp.NEED_DATA,))
    return host


def tpp_host(data: bytes) -> None:
    host = _tpp_host_after_hello()
    host.send(m.GetStatus())
    host.receive_data(data)
    _drain(host.next_event, (tpp.NEED_DATA,))


def tpp_device(data: bytes) -> None:
    pad = tpp.TppConnection(tpp.Role.DEVICE)
    pad.receive_data(data)
    _drain(pad.next_event, (tpp.NEED_DATA,))


def tpp_schema(data: bytes) -> None:
    if not data:
        return
    type_byte = _TPP_TYPES[data[0] % len(_TPP_TYPES)]
    try:
        message = tpp.decode_message(type_byte, data[1:])
    except ProtocolError:
        return
    if isinstance(message, m.KeyLayout):
        try:
            message.to_layout()
        except TactileError:
            pass


def ef01_host(data: bytes) -> None:
    if not data:
        return
    conn = ef01.Connection(ef01.Role.HOST)
    try:
        conn.send(ef01.Command(_INSTRUCTIONS[data[0] % len(_INSTRUCTIONS)]))
    except (ProtocolError, TypeError, KeyError, ValueError):
        pass  # needs parameters: nothing pending, still fuzz the stream
    conn.receive_data(data[1:])
    _drain(conn.next_event, (ef01.NEED_DATA, getattr(ef01, "PAUSED", ef01.NEED_DATA)))


def ef01_device(data: bytes) -> None:
    conn = ef01.Connection(ef01.Role.DEVICE)
    conn.receive_data(data)
    _drain(conn.next_event, (ef01.NEED_DATA, getattr(ef01, "PAUSED", ef01.NEED_DATA)))


def ef01_schema_target(data: bytes) -> None:
    if not data:
        return
    ins = _INSTRUCTIONS[data[0] % len(_INSTRUCTIONS)]
    for parse in (ef01_schema.parse_frame, lambda d: ef01_schema.parse_command(d, "r503"),
                  lambda d: ef01_schema.parse_reply(d, ins), ef01_schema.parse_data_frame):
        try:
            parse(data[1:])
        except ProtocolError:
            pass


TARGETS = {"tpp-host": tpp_host, "tpp-device": tpp_device, "tpp-schema": tpp_schema,
           "ef01-host": ef01_host, "ef01-device": ef01_device, "ef01-schema": ef01_schema_target}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=sorted(TARGETS) + ["all"])
    parser.add_argument("--budget", type=int, default=60, help="seconds per target (default 60)")
    args = parser.parse_args(argv)
    if args.target == "all":
        import subprocess
        worst = 0
        for name in TARGETS:
            print(f"== {name} ({args.budget} s)", flush=True)
            worst = max(worst, subprocess.call([sys.executable, __file__, name, "--budget",
                                                str(args.budget), "--", *extra]))
        return worst
    target = TARGETS[args.target]
    atheris.Setup([sys.argv[0], f"-max_total_time={args.budget}", *extra], target)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
