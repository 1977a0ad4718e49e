"""TPP codec cost: what the sans-I/O connection adds per frame (figures, no assertions).

Measures, for typical messages, send() on one connection plus receive_data()+next_event() on the
other (framing, construct schemas, ACK generation, state table), and the receive path over line
noise.  Run: ``python benchmarks/bench_tpp_codec.py``.
"""

from __future__ import annotations

import random
import statistics
import time

from protocol.layout import get_layout
from protocol.pinblock import PinBlockFormat
from protocol.tpp import NEED_DATA, Role, TppConnection
from protocol.tpp import messages as m
from protocol.tpp.codes import MessageType, PROTOCOL_VERSION, State

ROUNDS = 2000


def _pair() -> tuple[TppConnection, TppConnection]:
    host, pad = TppConnection(Role.HOST), TppConnection(Role.DEVICE)
    pad.receive_data(host.send(m.Hello(session=1)))
    while pad.next_event() is not NEED_DATA:
        pass
    host.receive_data(pad.data_to_send())
    host.receive_data(pad.send(m.HelloReply(PROTOCOL_VERSION, 1024, 1, State.IDLE)))
    while host.next_event() is not NEED_DATA:
        pass
    pad.receive_data(host.data_to_send())
    return host, pad


def _time_pad_to_host(message: m.Message, make_request: m.Request | None) -> list[float]:
    host, pad = _pair()
    samples = []
    for _ in range(ROUNDS):
        if make_request is not None:
            pad.receive_data(host.send(make_request))
            while pad.next_event() is not NEED_DATA:
                pass
            host.receive_data(pad.data_to_send())
        t0 = time.perf_counter()
        data = pad.send(message)
        host.receive_data(data)
        while host.next_event() is not NEED_DATA:
            pass
        ack = host.data_to_send()
        pad.receive_data(ack)
        samples.append(time.perf_counter() - t0)
    return samples


def _report(name: str, samples: list[float], size: int) -> None:
    samples.sort()
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(f"| {name} | {size} | {statistics.median(samples) * 1e6:.0f} us | {p99 * 1e6:.0f} us |")


def main() -> None:
    print("| pad -> host message (send, receive, ACK back) | frame bytes | median | p99 |")
    print("|---|---|---|---|")
    layout = m.KeyLayout.from_layout(get_layout("telephone"))
    cases = [
        ("HeadsetChanged (event)", m.HeadsetChanged(True), None),
        ("DeviceStatus (response)", m.DeviceStatus(State.IDLE, False, False, 500, 100, "en", 0,
                                                   0, 0, False, 120, True, True), m.GetStatus()),
        ("PinBlockReply ISO-4 + KSN", m.PinBlockReply(PinBlockFormat.ISO4, 1, bytes(16),
                                                      bytes(12)),
         None),
        ("KeyLayout telephone (16 keys)", layout, m.GetLayout()),
    ]
    for name, message, request in cases:
        if request is None and isinstance(message, m.Response):
            request = m.GetPinBlock(PinBlockFormat.ISO4, "4111111111111111")
        from protocol.tpp.schema import encode_message
        rtype = MessageType.GET_PIN_BLOCK if isinstance(message, m.PinBlockReply) else None
        size = len(encode_message(message, rtype)[1]) + 9
        _report(name, _time_pad_to_host(message, request), size)

    rng = random.Random(1)
    noise = bytes(rng.randrange(256) for _ in range(100_000))
    conn = TppConnection(Role.HOST)
    t0 = time.perf_counter()
    conn.receive_data(noise)
    while True:
        try:
            if conn.next_event() is NEED_DATA:
                break
        except Exception:  # noqa: BLE001 - a random valid frame may be refused: keep counting
            continue
    dt = time.perf_counter() - t0
    print(f"\nresynchronisation over 100,000 bytes of random noise: {dt * 1e3:.1f} ms "
          f"({len(noise) / dt / 1e6:.2f} MB/s; 115200 baud is 0.0115 MB/s)")


if __name__ == "__main__":
    main()
