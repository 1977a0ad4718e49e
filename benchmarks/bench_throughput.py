"""Codec throughput (frames per second) for both protocols, and the host's protocol cost per
command as a ratio to the wire time at 57600 and 115200 baud and to the simulator's own cost.

    python benchmarks/bench_throughput.py [--rounds 2000]

Throughput: frames encoded (``send``) and decoded (``receive_data`` + ``next_event``, the hunt,
CRC / checksum, schema parse and state table included) per second, one thread, per protocol and
role.  Per command: a HOST connection and the simulated device exchange one request and its
answer byte for byte (ACKs included for TPP); the host side's time (build the request, parse the
answer, ACK) and the device side's time (the model: parse, act, build) are clocked separately,
the wire time is 10 bits per byte of every frame both ways.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from firmware_sim import registry  # noqa: E402
from protocol import ef01, tpp  # noqa: E402
from protocol.ef01 import Instruction, build_command, build_reply  # noqa: E402
from protocol.tpp import messages as m  # noqa: E402
from protocol.tpp.codes import State  # noqa: E402

BAUDS = (57600, 115200)


def _rate(fn, seconds: float = 1.0) -> float:
    """Calls per second of ``fn`` over about ``seconds``."""
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(50):
            fn()
        n += 50
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


# ------------------------------------------------------------------ TPP throughput
def _tpp_pair() -> tuple[tpp.TppConnection, tpp.TppConnection]:
    host, pad = tpp.TppConnection(tpp.Role.HOST), tpp.TppConnection(tpp.Role.DEVICE)
    pad.receive_data(host.send(m.Hello(session=1, host="bench")))
    _drain(pad)
    host.receive_data(pad.data_to_send())
    pad.send(m.HelloReply(version=m.Version(1, 0), max_payload=1024, boot_count=1,
                          mode=State.STARTING))
    host.receive_data(pad.data_to_send())
    _drain(host)
    pad.receive_data(host.data_to_send())
    _drain(pad)
    return host, pad


def _drain(conn) -> list:
    out = []
    while True:
        ev = conn.next_event()
        if ev is tpp.NEED_DATA or ev is ef01.NEED_DATA or ev is getattr(ef01, "PAUSED", None):
            return out
        out.append(ev)


def tpp_throughput() -> list[tuple[str, float]]:
    rows = []
    host, pad = _tpp_pair()
    event = m.HeadsetChanged(True)

    def send_event() -> None:
        pad.send(event)
        host.receive_data(pad.data_to_send())
        _drain(host)
        pad.receive_data(host.data_to_send())     # the ACK frees the next frame
        _drain(pad)

    # encode only: a fresh pad connection per 200 frames would re-handshake; instead clock the
    # schema + framing the connection uses
    frame_t, payload = tpp.encode_message(event)
    rows.append(("TPP encode HeadsetChanged (schema + frame)",
                 _rate(lambda: tpp.build_frame(1, 0, *tpp.encode_message(event)))))
    wire = tpp.build_frame(1, 0, frame_t, payload)
    rows.append(("TPP decode HeadsetChanged (schema only)",
                 _rate(lambda: tpp.decode_message(frame_t, payload))))
    rows.append(("TPP event round (pad send, host receive + ACK, pad takes ACK)", _rate(send_event)))
    status = m.DeviceStatus(State.IDLE, False, False, 500, 100, "en", 0, 0, 0, False, 120, True,
                            True)
    st_t, st_p = tpp.encode_message(status)
    rows.append(("TPP decode DeviceStatus (schema only)", _rate(lambda: tpp.decode_message(st_t, st_p))))
    noise_pad = tpp.TppConnection(tpp.Role.DEVICE)
    request = m.GetStatus()
    req_t, req_p = tpp.encode_message(request)
    frames = b"".join(tpp.build_frame(i % 256, 0, req_t, req_p) for i in range(200))

    def device_decodes() -> None:
        conn = tpp.TppConnection(tpp.Role.DEVICE)
        conn.receive_data(frames)
        _drain(conn)

    rate = _rate(device_decodes, 1.0) * 200
    rows.append(("TPP device role: decode a stream of GetStatus frames (connection)", rate))
    del noise_pad, wire
    return rows


# ------------------------------------------------------------------ EF01 throughput
def ef01_throughput() -> list[tuple[str, float]]:
    rows = []
    addr = 0xFFFFFFFF
    cmd = build_command(addr, Instruction.TEMPLATE_NUM, {})
    rows.append(("EF01 encode TempleteNum command", _rate(
        lambda: build_command(addr, Instruction.TEMPLATE_NUM, {}))))
    reply = build_reply(addr, Instruction.TEMPLATE_NUM, 0, {"count": 5})

    def host_round() -> None:
        conn = ef01.Connection(ef01.Role.HOST)
        conn.send(ef01.Command(Instruction.TEMPLATE_NUM))
        conn.receive_data(reply)
        _drain(conn)

    rows.append(("EF01 host: send TempleteNum + decode its reply (connection)", _rate(host_round)))
    stream = cmd * 200

    def device_decodes() -> None:
        conn = ef01.Connection(ef01.Role.DEVICE)
        conn.receive_data(stream)
        got = 0
        while got < 200:
            ev = conn.next_event()
            if ev is ef01.NEED_DATA:
                break
            if isinstance(ev, ef01.Command):
                got += 1
                conn.send(ef01.Reply(Instruction.TEMPLATE_NUM, 0, {"count": 1}))
            elif ev is getattr(ef01, "PAUSED", None):
                conn.send(ef01.Reply(Instruction.TEMPLATE_NUM, 0, {"count": 1}))
                got += 1

    rows.append(("EF01 device role: decode a command stream + reply (connection)",
                 _rate(device_decodes) * 200))
    data = ef01.schema.build_data_frame(addr, bytes(128), False) \
        if hasattr(ef01.schema, "build_data_frame") else None
    if data is not None:
        rows.append(("EF01 data packet parse, struct fast path",
                     _rate(lambda: ef01.schema.parse_data_frame(data))))
    return rows


# ------------------------------------------------------------------ per command vs wire time
class _Pad:
    def __init__(self) -> None:
        self.t = 100.0
        self.out = bytearray()
        self.dev = registry.create_device("pinpad", seed="1")
        self.dev.bind(self.out.extend, lambda e: None, lambda: self.t)
        self.dev.power_on()
        self.host = tpp.TppConnection(tpp.Role.HOST)
        self.host.receive_data(bytes(self.out))        # PowerOn
        self.out.clear()
        _drain(self.host)
        self.dev.receive(self.host.data_to_send())    # its ACK
        self.out.clear()
        self.exchange(m.Hello(session=1, host="bench"))

    def exchange(self, request) -> tuple[float, float, int]:
        """(host seconds, device seconds, wire bytes) for one request and its answer."""
        wire = 0
        self.out.clear()
        h0 = time.perf_counter()
        data = self.host.send(request)
        host = time.perf_counter() - h0
        wire += len(data)
        d0 = time.perf_counter()
        self.dev.receive(data)
        dev = time.perf_counter() - d0
        answered = False
        while self.out:
            chunk = bytes(self.out)
            self.out.clear()
            wire += len(chunk)
            h0 = time.perf_counter()
            self.host.receive_data(chunk)
            for ev in _drain(self.host):
                if isinstance(ev, m.Response):
                    answered = True
            ack = self.host.data_to_send()
            host += time.perf_counter() - h0
            if ack:
                wire += len(ack)
                d0 = time.perf_counter()
                self.dev.receive(ack)
                dev += time.perf_counter() - d0
        assert answered
        return host, dev, wire


class _Module:
    def __init__(self) -> None:
        self.out = bytearray()
        self.dev = registry.create_device("fingerprint", model="r307", seed="1")
        self.dev.bind(self.out.extend, lambda e: None, lambda: 1.0)
        self.dev.power_on()
        self.dev.tick(2.0)

    def exchange(self, ins: Instruction) -> tuple[float, float, int]:
        conn = ef01.Connection(ef01.Role.HOST)
        self.out.clear()
        h0 = time.perf_counter()
        data = conn.send(ef01.Command(ins))
        host = time.perf_counter() - h0
        d0 = time.perf_counter()
        self.dev.receive(data)
        dev = time.perf_counter() - d0
        reply = bytes(self.out)
        h0 = time.perf_counter()
        conn.receive_data(reply)
        _drain(conn)
        host += time.perf_counter() - h0
        return host, dev, len(data) + len(reply)


def per_command(rounds: int) -> list[tuple[str, float, float, int]]:
    rows = []
    pad = _Pad()
    for name, request in (("TPP GetStatus", m.GetStatus()), ("TPP GetInfo", m.GetInfo()),
                          ("TPP GetLayout", m.GetLayout()),
                          ("TPP SpeakPrompt", m.SpeakPrompt(prompt=23, lang="en"))):
        samples = [pad.exchange(request) for _ in range(rounds)]
        rows.append((name, statistics.median(s[0] for s in samples),
                     statistics.median(s[1] for s in samples), samples[0][2]))
        pad.t += 10.0
        pad.dev.tick(pad.t)
    module = _Module()
    for name, ins in (("EF01 ReadSysPara", Instruction.READ_SYS_PARA),
                      ("EF01 TempleteNum", Instruction.TEMPLATE_NUM),
                      ("EF01 ReadIndexTable", None)):
        if ins is None:
            continue
        samples = [module.exchange(ins) for _ in range(rounds)]
        rows.append((name, statistics.median(s[0] for s in samples),
                     statistics.median(s[1] for s in samples), samples[0][2]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f}\n")
    print("| codec operation | frames per second |")
    print("|---|---|")
    for name, rate in tpp_throughput() + ef01_throughput():
        print(f"| {name} | {rate:,.0f} |")
    print()
    print("| command | host | simulator's own cost | host / simulator | wire bytes | "
          + " | ".join(f"host / wire at {b}" for b in BAUDS) + " |")
    print("|---|---|---|---|---|" + "---|" * len(BAUDS))
    for name, host, dev, wire in per_command(args.rounds):
        ratios = " | ".join(f"{host / (wire * 10 / b) * 100:.2f} %" for b in BAUDS)
        print(f"| {name} | {host * 1e6:.0f} us | {dev * 1e6:.0f} us | {host / dev:.2f} | {wire} | "
              f"{ratios} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
