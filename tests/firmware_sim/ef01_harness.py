"""Drive a simulated EF01 module through its bytes with protocol.ef01 in the HOST role."""

from __future__ import annotations

from typing import Any

from firmware_sim.fingerprint import FingerprintModule, create
from protocol.ef01 import (
    NEED_DATA,
    Command,
    Connection,
    DataTransfer,
    Instruction,
    RawByte,
    Reply,
    Role,
    Skipped,
)


class ModuleHarness:
    """A module with a fake clock, its output captured, and a host connection to talk to it."""

    def __init__(self, *, boot: bool = True, **options: str) -> None:
        options.setdefault("seed", "7")
        self.dev: FingerprintModule = create(**options)
        self.t = 100.0
        self.out = bytearray()
        self.events: list[dict[str, Any]] = []
        self.dev.bind(self.out.extend, self.events.append, lambda: self.t)
        self.dev.power_on()
        self.host = self._host()
        if boot:
            self.advance(1.0)
            self.out.clear()

    def _host(self) -> Connection:
        return Connection(Role.HOST, model=self.dev.profile.opcodes, address=self.dev.flash.address,
                          packet_size=self.dev.packet_size, baudrate=self.dev.baudrate)

    def advance(self, seconds: float) -> None:
        self.t += seconds
        self.dev.tick(self.t)

    def power_cycle(self, boot: bool = True) -> None:
        self.dev.power_on()
        self.host = self._host()
        if boot:
            self.advance(1.0)
            self.out.clear()

    def raw(self, data: bytes) -> bytes:
        """Bytes the module sends in answer to ``data``."""
        self.out.clear()
        self.dev.receive(data)
        answer = bytes(self.out)
        self.out.clear()
        return answer

    def call(self, ins: Instruction, **params: Any) -> Reply:
        reply, _ = self.exchange(ins, **params)
        return reply

    def exchange(self, ins: Instruction, **params: Any) -> tuple[Reply, bytes | None]:
        """Send one command; return the reply and, for an upload, the uploaded data."""
        wire = self.host.send(Command(ins, params))
        answer = self.raw(wire)
        self.host.receive_data(answer)
        events = []
        while (ev := self.host.next_event()) is not NEED_DATA:
            events.append(ev)
        assert not any(isinstance(e, (Skipped, RawByte)) for e in events), events
        replies = [e for e in events if isinstance(e, Reply)]
        assert len(replies) == 1, events
        transfers = [e for e in events if isinstance(e, DataTransfer)]
        reply = replies[0]
        if transfers:
            return reply, transfers[0].data
        return reply, None

    def download(self, ins: Instruction, data: bytes, **params: Any) -> Reply:
        """DownChar/DownImage: command, ack, then our data packets (nothing comes back)."""
        reply = self.call(ins, **params)
        if reply.ok:
            assert self.raw(self.host.send(DataTransfer(ins, data))) == b""
        return reply

    def place(self, finger: int, quality: int = 90) -> None:
        assert self.dev.command(f"place {finger} {quality}")["ok"]

    def lift(self) -> None:
        assert self.dev.command("lift")["ok"]

    def capture(self, buffer: int, finger: int, quality: int = 95) -> Reply:
        self.place(finger, quality)
        assert self.call(Instruction.GEN_IMG).ok
        reply = self.call(Instruction.IMG2TZ, buffer=buffer)
        self.lift()
        return reply

    def enroll(self, finger: int, slot: int) -> None:
        for buffer in (1, 2):
            for _ in range(5):
                if self.capture(buffer, finger).ok:
                    break
            else:
                raise AssertionError(f"finger {finger} never gave a template")
        assert self.call(Instruction.REG_MODEL).ok
        assert self.call(Instruction.STORE, buffer=1, slot=slot).ok
