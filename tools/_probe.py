"""What answers on a serial port?  Used by ``tactile list --probe`` and ``tactile diag``.

One probe asks, in this order, with a short deadline each: an EF01 fingerprint module at 57600
baud (the factory rate) and the default address FFFFFFFF, a TPP pad at 115200 (its default),
an EF01 module at every other standard rate (9600 x N, N 1..12), a TPP pad at 9600.  The
question is one frame the device must answer whatever its state: ReadSysPara for EF01 (a module
with a password still answers, with "password not verified"), Hello for TPP.  The answer is
recognised by the frame decoder of :mod:`tools._frames` (header and checksum), so a device at
the wrong speed, which only produces garbage, is not mistaken for one.  A port is opened once
(exclusively) and its speed changed in place; the worst case is about 2.5 s per port, and
:func:`probe_ports` runs one thread per port.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from drivers.transport import PortBusyError, SerialTransport
from protocol.errors import ConfigurationError, TactileError, TransportError
from tools._frames import DEVICE_TO_HOST, DecodeContext, StreamDecoder

__all__ = ["ProbeResult", "probe_port", "probe_ports", "EF01_RATES", "TPP_RATES",
           "NO_ANSWER_CAUSES"]

#: the EF01 rates in the order they are tried (the factory rate first)
EF01_RATES = (57600, 115200, 9600, 19200, 38400, 28800, 48000, 67200, 76800, 86400, 96000,
              105600)
TPP_RATES = (115200, 9600)
#: seconds to wait for the answer at one rate
EF01_WAIT = 0.15
TPP_WAIT = 0.3
#: the causes a technician checks when nothing answers (words for diag and list)
NO_ANSWER_CAUSES = (
    "no power to the device",
    "wiring: TX and RX crossed or loose, or no common ground",
    "a baud rate outside the standard ones (EF01: 9600 x N; TPP: 115200 or 9600)",
    "an EF01 module at another address than FFFFFFFF (use --address)",
    "another program holding the port or talking on it",
    "not one of our devices (EF01 fingerprint module or TPP PIN pad)",
)


@dataclass
class ProbeResult:
    """What a probe found on one port."""

    port: str
    kind: str | None = None              # "fingerprint", "pinpad" or None
    baudrate: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None             # the port could not be probed (busy, missing)
    seconds: float = 0.0
    tried: list[str] = field(default_factory=list)
    garbage: int = 0                     # bytes that were no frame (a wrong rate answers so)
    #: a TPP pad's link layer acknowledged Hello, but no answer followed (firmware hung)
    acked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"port": self.port, "answer": self.kind, "baudrate": self.baudrate,
                "details": self.details, "error": self.error,
                "seconds": round(self.seconds, 3), "garbage_bytes": self.garbage}

    @property
    def summary(self) -> str:
        if self.error:
            return self.error
        if self.kind == "fingerprint":
            d = self.details
            text = f"EF01 fingerprint module at {self.baudrate} baud, address {d.get('address')}"
            if d.get("capacity") is not None:
                text += f", {d['capacity']} slots"
            if d.get("note"):
                text += f" ({d['note']})"
            return text
        if self.kind == "pinpad":
            d = self.details
            return (f"TPP PIN pad at {self.baudrate} baud, TPP {d.get('version')}, mode "
                    f"{d.get('mode')}")
        if self.acked:
            return ("a TPP pad's link acknowledges but its firmware does not answer: restart "
                    "the pad")
        extra = f"; {self.garbage} bytes of garbage seen (a wrong baud rate?)" if self.garbage \
            else ""
        return "nothing answered" + extra


def _ef01_question(address: int) -> bytes:
    from protocol.ef01 import Instruction
    from protocol.ef01.schema import build_command
    return build_command(address, Instruction.READ_SYS_PARA)


def _ask_ef01(port: SerialTransport, address: int, result: ProbeResult,
              stop_at: float) -> Any:
    """ReadSysPara; the first intact EF01 reply that comes back, or None."""
    from protocol.ef01 import Instruction
    port.reset_input()
    port.write(_ef01_question(address))
    context = DecodeContext(ef01_instruction=Instruction.READ_SYS_PARA)
    decoder = StreamDecoder(DEVICE_TO_HOST, context, protocol="ef01")
    deadline = min(time.monotonic() + EF01_WAIT, stop_at)
    while (left := deadline - time.monotonic()) > 0:
        data = port.read(4096, left)
        for frame in decoder.feed(data) if data else ():
            if frame.protocol is None:
                result.garbage += len(frame.raw)
            elif frame.checksum_ok and frame.message.startswith("reply"):
                return frame
    return None


def _ask_tpp(port: SerialTransport, result: ProbeResult, stop_at: float) -> Any:
    """Hello through a real host-role connection (so the pad's answer is acknowledged and it
    does not retransmit it at the next program); the HelloReply / Refused, or None."""
    from protocol.tpp import NEED_DATA, Hello, Resynchronised, Role, TppConnection
    from protocol.tpp import messages as m
    # a fresh sequence number and session each time: a pad drops a frame identical to one it
    # saw in the last few seconds as a retransmission (SPEC 4.3), so a second probe would
    # otherwise get no answer
    rng = random.SystemRandom()
    conn = TppConnection(Role.HOST, baudrate=port.baudrate, response_timeout=TPP_WAIT,
                         initial_seq=rng.randrange(1, 256))
    port.reset_input()
    port.write(conn.send(Hello(session=rng.getrandbits(32), host="tactile-probe")))
    deadline = min(time.monotonic() + TPP_WAIT, stop_at)
    while (left := deadline - time.monotonic()) > 0:
        data = port.read(4096, left)
        if not data:
            continue
        conn.receive_data(data)
        port.write(conn.data_to_send())
        while True:
            try:
                event = conn.next_event()
            except TactileError:
                continue
            if event is NEED_DATA:
                break
            if isinstance(event, Resynchronised):
                result.garbage += event.skipped
            elif isinstance(event, (m.HelloReply, m.Refused)):
                return event
    if not conn.awaiting_ack and conn.pending_requests:
        result.acked = True          # the link answered, the firmware did not
    return None


def probe_port(port: str, *, address: int = 0xFFFFFFFF, budget: float = 4.0,
               opener: Callable[[str, int], SerialTransport] = SerialTransport) -> ProbeResult:
    """Ask what answers on ``port`` (see the module docstring); never raises for the device's
    sake: a port that cannot be opened is ``error``, a silent one has ``kind`` None."""
    start = time.monotonic()
    stop_at = start + budget
    result = ProbeResult(port)
    try:
        link = opener(port, EF01_RATES[0])
    except PortBusyError as exc:
        result.error = str(exc).split(". ", 1)[0]
        return result
    except (TransportError, ConfigurationError) as exc:
        result.error = str(exc).split(". Check", 1)[0]
        return result
    plan: list[tuple[str, int]] = [("ef01", EF01_RATES[0]), ("tpp", TPP_RATES[0])]
    plan += [("ef01", rate) for rate in EF01_RATES[1:]] + [("tpp", rate) for rate in TPP_RATES[1:]]
    try:
        for protocol, rate in plan:
            if time.monotonic() >= stop_at:
                break
            try:
                link.set_baudrate(rate)
            except ConfigurationError:
                continue                  # this port cannot run at that rate
            result.tried.append(f"{protocol}@{rate}")
            if protocol == "ef01":
                frame = _ask_ef01(link, address, result, stop_at)
                if frame is not None:
                    result.kind, result.baudrate = "fingerprint", rate
                    result.details = _ef01_details(frame, address)
                    break
            else:
                reply = _ask_tpp(link, result, stop_at)
                if reply is not None:
                    from protocol.tpp import describe
                    result.kind, result.baudrate = "pinpad", rate
                    fields = describe(reply)
                    result.details = {k: fields[k] for k in
                                      ("version", "boot_count", "mode", "max_payload")
                                      if k in fields}
                    if "result" in fields:
                        result.details["note"] = f"refused Hello: {fields['result']}"
                    break
    except TactileError as exc:
        result.error = f"{port}: {str(exc).split('. ', 1)[0]}"
    finally:
        link.close()
        result.seconds = time.monotonic() - start
    return result


def _ef01_details(frame: Any, address: int) -> dict[str, Any]:
    fields = frame.fields
    details: dict[str, Any] = {"address": f"{address:08X}", "code": fields.get("code"),
                               "meaning": fields.get("meaning")}
    if fields.get("code") == "0x00":
        details["capacity"] = fields.get("capacity")
        details["security_level"] = fields.get("security_level")
        if isinstance(fields.get("baud_multiplier"), int):
            details["configured_baudrate"] = 9600 * fields["baud_multiplier"]
    else:
        details["note"] = fields.get("meaning")
    return details


def probe_ports(ports: list[str], *, address: int = 0xFFFFFFFF, budget: float = 4.0,
                progress: Callable[[ProbeResult], None] | None = None) -> list[ProbeResult]:
    """Probe every port in parallel (one thread each); results in the order of ``ports``."""
    results: dict[str, ProbeResult] = {}
    lock = threading.Lock()

    def work(port: str) -> None:
        try:
            found = probe_port(port, address=address, budget=budget)
        except Exception as exc:  # noqa: BLE001 - one odd port must not hide the others
            found = ProbeResult(port, error=f"{port}: {type(exc).__name__}: {exc}")
        with lock:
            results[port] = found
        if progress is not None:
            progress(found)

    threads = [threading.Thread(target=work, args=(p,), name=f"tactile-probe {p}", daemon=True)
               for p in dict.fromkeys(ports)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(budget + 2.0)
    return [results.get(p) or ProbeResult(p, error="the probe did not finish in time")
            for p in dict.fromkeys(ports)]


def detect_tpp_baudrate(port: str, rates: tuple[int, ...] = TPP_RATES) -> int | None:
    """The rate a TPP pad on ``port`` answers Hello at (``tactile pin --baud auto``), or None.
    TransportError when the port cannot be opened (busy, missing)."""
    result = ProbeResult(port)
    stop_at = time.monotonic() + len(rates) * TPP_WAIT + 1.0
    link = SerialTransport(port, rates[0])
    try:
        for rate in rates:
            try:
                link.set_baudrate(rate)
            except ConfigurationError:
                continue
            if _ask_tpp(link, result, stop_at) is not None:
                return rate
        return None
    finally:
        link.close()
