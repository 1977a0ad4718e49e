"""EF01 codec figures: construct schema vs the struct fast path, and a whole image upload.

1. One 128-byte data packet: parse and build with the construct ``DataFrame`` schema and with
   the ``struct`` fast path (``parse_data_frame`` / ``build_data_frame``).
2. One 12-byte acknowledge: ``parse_reply`` (construct) - commands and replies stay on construct.
3. A 256x288 image upload (288 packets of 128 bytes, 40,032 bytes on the wire) through
   ``Connection``: the device role building it, the host role parsing it, fed in 4 KiB chunks.
   Compared with its 6.95 s wire time at 57600 baud.

Run: python benchmarks/bench_ef01_codec.py
"""

from __future__ import annotations

import timeit

from protocol.ef01 import (
    NEED_DATA,
    Command,
    Connection,
    DataFrame,
    DataTransfer,
    Instruction,
    Reply,
    Role,
    build_data_frame,
    build_reply,
    parse_data_frame,
    parse_reply,
)

ADDR = 0xFFFFFFFF


def _per_call(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def main() -> None:
    payload = bytes(range(128))
    frame = build_data_frame(ADDR, payload, False)
    value = {"address": ADDR, "body": {"value": {"packet_id": "DATA", "content": {"data": payload}}}}
    rows = [
        ("data packet parse, construct", _per_call(lambda: DataFrame.parse(frame), 2000)),
        ("data packet parse, struct fast path", _per_call(lambda: parse_data_frame(frame), 20000)),
        ("data packet build, construct", _per_call(lambda: DataFrame.build(value), 2000)),
        ("data packet build, struct fast path", _per_call(lambda: build_data_frame(ADDR, payload, False), 20000)),
    ]
    ack = build_reply(ADDR, Instruction.GEN_IMG, 0)
    rows.append(("12-byte ack parse, construct", _per_call(lambda: parse_reply(ack, Instruction.GEN_IMG), 2000)))

    image = bytes(i & 0xFF for i in range(256 * 288 // 2))

    def upload() -> None:
        host, dev = Connection(Role.HOST), Connection(Role.DEVICE)
        dev.receive_data(host.send(Command(Instruction.UP_IMAGE)))
        dev.next_event()
        wire = dev.send(Reply(Instruction.UP_IMAGE)) + dev.send(DataTransfer(Instruction.UP_IMAGE, image))
        for i in range(0, len(wire), 4096):
            host.receive_data(wire[i:i + 4096])
            while host.next_event() is not NEED_DATA:
                pass
        assert len(wire) == 40_032 + 12

    upload_s = _per_call(upload, 5)
    print("| operation | time |")
    print("|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds * 1e6:.1f} us |")
    print(f"| image upload 256x288, both roles (288 packets) | {upload_s * 1e3:.1f} ms "
          f"({upload_s / 6.95 * 100:.2f} % of the 6.95 s wire time) |")


if __name__ == "__main__":
    main()
