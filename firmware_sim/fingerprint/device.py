"""The simulated EF01 fingerprint module: protocol.ef01 in the DEVICE role plus a module model.

On the wire it behaves like the real part: fixed-length replies (also on errors), no reply to
another address, no byte it would not send (0x55 only after power-up on R503 and after
SoftRst), the password lock, SetSysPara applied at the next power-up where the profile says
so, a power-up delay during which commands are lost.

Captures come from :mod:`firmware_sim.biometrics`: GenImg renders the finger on the sensor into
the image buffer; Img2Tz extracts a template from whatever image is in the buffer (a capture or
a DownImage); RegModel merges, Match/Search score with the matcher.  Nothing but the image
reaches the extractor and nothing but templates reach the matcher.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

import numpy as np

from firmware_sim import biometrics
from firmware_sim.base import SimulatedDevice
from firmware_sim.fingerprint.profiles import ModelProfile
from firmware_sim.fingerprint.state import Flash
from protocol.ef01 import (
    HANDSHAKE_BYTE,
    NEED_DATA,
    PAUSED,
    Command,
    Confirmation,
    Connection,
    DataPacket,
    DataTransfer,
    Instruction,
    InvalidCommand,
    RawByte,
    Reply,
    Role,
    Skipped,
    SysParam,
    build_index_table,
    describe_confirmation,
    packet_size_from_code,
)
from protocol.errors import ConfigurationError, ProtocolError

__all__ = ["FingerprintModule", "DEFECTS", "pack_image", "unpack_image"]

C = Confirmation
I = Instruction  # noqa: E741 - short alias for the dispatch table

#: module defects a test or technician can switch on with ``defect NAME`` (``defect clear``)
DEFECTS: dict[str, str] = {
    "sensor": "the sensor is broken: CheckSensor answers 29, captures fail with 03",
    "flash": "flash writes fail: Store/WriteNotepad/SetPwd/SetSysPara 18, DeletChar 10, Empty 11",
    "busy": "the module hangs: it receives commands but never answers (until power-cycle or clear)",
    "residue": "a latent print on the glass: with no finger GenImg answers 17 (AS608) or 03",
}

_SETTINGS = {SysParam.BAUD: ("baud_multiplier", range(1, 13)),
             SysParam.SECURITY: ("security_level", range(1, 6)),
             SysParam.PACKET_SIZE: ("packet_size_code", range(0, 4))}
#: instructions a locked module still answers (everything else: 0x21)
_UNLOCKED = frozenset({I.VFY_PWD, I.HANDSHAKE, I.GET_ECHO})
_NOTEPAD_PAGES = 16
_SOFT_RESET_TIME = 0.05
#: Aura LED control codes (R503): 1 breathing, 2 flashing, 3 on, 4 off, 5 fade in, 6 fade out
_LED_MODES = {1: "breathing", 2: "flashing", 3: "on", 4: "off", 5: "fade-in", 6: "fade-out"}
_LED_COLOURS = {1: "red", 2: "blue", 3: "purple", 4: "green", 5: "yellow", 6: "cyan", 7: "white"}


def pack_image(image: np.ndarray) -> bytes:
    """UART image format: top 4 bits per pixel, two per byte, left pixel in the high nibble."""
    flat = image.reshape(-1)
    return ((flat[0::2] & 0xF0) | (flat[1::2] >> 4)).astype(np.uint8).tobytes()


def unpack_image(data: bytes, width: int, height: int) -> np.ndarray:
    """Inverse of :func:`pack_image` (each nibble becomes the top 4 bits of a pixel)."""
    packed = np.frombuffer(data, dtype=np.uint8)
    out = np.empty(packed.size * 2, dtype=np.uint8)
    out[0::2] = packed & 0xF0
    out[1::2] = (packed & 0x0F) << 4
    return out.reshape(height, width)


class FingerprintModule(SimulatedDevice):
    """One EF01 module of a given :class:`ModelProfile`.

    ``flash`` is its non-volatile memory (library, notepad, parameters, password, address);
    ``rng`` drives capture variation and GetRandomCode; ``trace`` emits one decoded event per
    frame in each direction.
    """

    kind = "fingerprint"

    def __init__(self, prof: ModelProfile, flash: Flash, *, rng: np.random.Generator,
                 trace: bool = False, serial: str = "00000001", timing: bool = False) -> None:
        super().__init__()
        self.profile = prof
        #: model processing time (capture, search, flash writes) before each reply
        self.timing = timing
        self._outbox: deque[tuple[float, bytes, dict[str, Any] | None]] = deque()
        self._busy_until = 0.0
        self.flash = flash
        self.rng = rng
        self.trace = trace
        self.serial = serial
        self.finger: tuple[int, int] | None = None       # (finger id, quality) on the sensor
        self.defects: set[str] = set()
        self.led: dict[str, Any] = {"mode": "off", "colour": None}
        self.image: np.ndarray | None = None
        self.buffers: list[bytes | None] = [None] * prof.char_buffers
        self.match_found = False
        self.powered = False
        self._ready_at: float | None = None      # booting until then (commands are lost)
        self._handshake_at: float | None = None  # 0x55 due then
        self._download_target: int | None = None  # DownChar buffer id
        self._next_capture: np.ndarray | None = None  # rendered when the finger was placed
        self.conn = self._new_connection()
        self._handlers: dict[Instruction, Callable[[Command], None]] = {
            I.GEN_IMG: self._gen_img, I.GET_IMAGE_EX: self._gen_img, I.IMG2TZ: self._img2tz,
            I.MATCH: self._match, I.SEARCH: self._search, I.HIGH_SPEED_SEARCH: self._search,
            I.REG_MODEL: self._reg_model, I.STORE: self._store, I.LOAD_CHAR: self._load_char,
            I.UP_CHAR: self._up_char, I.DOWN_CHAR: self._down_start, I.UP_IMAGE: self._up_image,
            I.DOWN_IMAGE: self._down_start, I.DELETE_CHAR: self._delete_char, I.EMPTY: self._empty,
            I.SET_SYS_PARA: self._set_sys_para, I.READ_SYS_PARA: self._read_sys_para,
            I.SET_PWD: self._set_pwd, I.VFY_PWD: self._vfy_pwd, I.GET_RANDOM_CODE: self._random,
            I.SET_ADDER: self._set_adder, I.READ_INF_PAGE: self._read_inf_page,
            I.PORT_CONTROL: self._port_control, I.WRITE_NOTEPAD: self._write_notepad,
            I.READ_NOTEPAD: self._read_notepad, I.TEMPLATE_NUM: self._template_num,
            I.READ_INDEX_TABLE: self._read_index_table, I.AURA_LED_CONFIG: self._aura_led,
            I.CHECK_SENSOR: self._check_sensor, I.GET_ALG_VER: self._versions,
            I.GET_FW_VER: self._versions, I.READ_PROD_INFO: self._prod_info,
            I.SOFT_RST: self._soft_rst, I.HANDSHAKE: self._ok, I.GET_ECHO: self._echo,
        }
        missing = prof.opcodes.instructions - set(self._handlers)
        assert not missing, f"no handler for {missing}"

    # -- properties ---------------------------------------------------------------------------
    @property
    def baudrate(self) -> int:
        """The UART speed the module runs at now (9600 x N)."""
        return 9600 * self.flash.baud_multiplier

    @property
    def packet_size(self) -> int:
        return packet_size_from_code(self.flash.packet_size_code)

    @property
    def ready(self) -> bool:
        return self.powered and self._ready_at is None

    def _new_connection(self) -> Connection:
        return Connection(Role.DEVICE, address=self.flash.address, model=self.profile.opcodes,
                          packet_size=self.packet_size, baudrate=self.baudrate,
                          password=self.flash.password)

    # -- runner interface ---------------------------------------------------------------------
    def power_on(self) -> None:
        """Power-up: apply settings written since the last one, clear RAM, boot for a while."""
        if self.flash.pending:
            for name, value in self.flash.pending.items():
                setattr(self.flash, name, value)
            self.flash.pending.clear()
            self.flash.save()
        self._clear_ram()
        self._outbox.clear()
        self._busy_until = 0.0
        self.powered = True
        self._ready_at = self.now() + self.profile.power_up_delay
        self._handshake_at = None
        self.event("power", model=self.profile.name, baudrate=self.baudrate,
                   ready_in=self.profile.power_up_delay)

    def _clear_ram(self) -> None:
        self.image = None
        self.buffers = [None] * self.profile.char_buffers
        self.match_found = False
        self.conn = self._new_connection()

    def tick(self, now: float) -> float | None:
        if self._ready_at is not None and now >= self._ready_at:
            self._ready_at = None
            if self.profile.handshake_byte:
                self._handshake_at = now
        while self._outbox and self._outbox[0][0] <= now:
            _, data, trace = self._outbox.popleft()
            if trace is not None:
                self._trace("device->host", **trace)
            self.send(data)
        if self._handshake_at is not None and now >= self._handshake_at and not self._outbox:
            self._handshake_at = None
            self._send_raw(RawByte(HANDSHAKE_BYTE))
        due = [t for t in (self._ready_at, self._handshake_at) if t is not None]
        if self._outbox:
            due.append(self._outbox[0][0])
        return min(due) if due else None

    def receive(self, data: bytes) -> None:
        if self.powered and self._ready_at is not None and self.now() >= self._ready_at:
            self.tick(self.now())  # the runner may deliver bytes before it ticks us
        if not self.ready:
            self._trace("host->device", packet="lost", reason="module still booting", hex=data.hex())
            return
        self.conn.receive_data(data)
        while True:
            try:
                event = self.conn.next_event()
            except ProtocolError as exc:
                self._trace("host->device", packet="error", error=str(exc))
                continue
            if event is NEED_DATA:
                return
            if event is PAUSED:  # only if a handler left a reply unsent: a hung module
                self.conn.cancel()
                continue
            self._handle(event)

    def close(self) -> None:
        self.flash.save()

    # -- control commands ---------------------------------------------------------------------
    def command(self, line: str) -> dict[str, Any]:
        words = line.split()
        if not words:
            raise ConfigurationError("empty command; try `place 3 90`, `lift`, `defect sensor` or `status`")
        head, args = words[0].lower(), words[1:]
        if head == "place":
            if not 1 <= len(args) <= 2:
                raise ConfigurationError("usage: place FINGER [QUALITY] (finger id >= 0, quality 0..100)")
            finger = _int(args[0], "finger id", 0, 2**31)
            quality = _int(args[1], "quality", 0, 100) if len(args) > 1 else 90
            self.finger = (finger, quality)
            # the first capture is rendered now, so GenImg answers as fast as a real sensor
            # (building a synthetic finger the first time costs far longer than a capture)
            self._next_capture = self._render()
            return {"ok": True, "command": "place", "finger": finger, "quality": quality}
        if head == "lift":
            if args:
                raise ConfigurationError("lift takes no argument")
            self.finger = None
            self._next_capture = None
            return {"ok": True, "command": "lift"}
        if head in ("defect", "fault"):  # the runner keeps `fault` for byte faults today
            if len(args) != 1 or (args[0] not in DEFECTS and args[0] != "clear"):
                usage = "; ".join(f"defect {k}: {v}" for k, v in DEFECTS.items())
                raise ConfigurationError(f"usage: defect NAME | defect clear. {usage}")
            if args[0] == "clear":
                self.defects.clear()
            else:
                self.defects.add(args[0])
            return {"ok": True, "command": "defect", "active": sorted(self.defects)}
        if head == "status":
            return {"ok": True, "command": "status", **self.status()}
        if head == "help":
            return {"ok": True, "command": "help", "commands": [
                "place FINGER [QUALITY]", "lift", *[f"defect {k}" for k in DEFECTS], "defect clear",
                "status"]}
        raise ConfigurationError(f"unknown command {words[0]!r}; the fingerprint module knows "
                                 "place FINGER [QUALITY], lift, defect NAME|clear, status, help")

    def status(self) -> dict[str, Any]:
        f = self.flash
        return {"model": self.profile.name, "address": f"{f.address:08X}", "baudrate": self.baudrate,
                "packet_size": self.packet_size, "security_level": f.security_level,
                "pending": dict(f.pending), "templates": sum(t is not None for t in f.library),
                "capacity": f.capacity, "finger": None if self.finger is None else
                {"id": self.finger[0], "quality": self.finger[1]},
                "defects": sorted(self.defects), "locked": self.conn.locked, "ready": self.ready,
                "led": dict(self.led)}

    # -- protocol events ----------------------------------------------------------------------
    def _handle(self, event: Any) -> None:
        if isinstance(event, Skipped):
            self._trace("host->device", packet="skipped", reason=event.reason, hex=event.data.hex())
        elif isinstance(event, DataPacket):
            self._trace("host->device", packet="data", last=event.last, length=len(event.data))
        elif isinstance(event, DataTransfer):
            self._download_done(event)
        elif isinstance(event, InvalidCommand):
            self._trace("host->device", packet="command", instruction=_label(event.instruction),
                        invalid=event.reason)
            if "busy" in self.defects:
                self.conn.cancel()
            else:
                self._reply(event.instruction, C.PACKET_ERROR)
        elif isinstance(event, Command):
            self._trace("host->device", packet="command", instruction=_label(event.instruction),
                        params=_jsonable(event.params), address=f"{event.address:08X}")
            self._command(event)

    def _command(self, cmd: Command) -> None:
        if "busy" in self.defects:
            self.conn.cancel()  # a hung module: nothing comes back, and nothing is owed
            return
        ins = cmd.instruction
        if self.timing:
            self._busy_until = max(self._busy_until, self.now()) + self._processing_time(cmd)
        if not isinstance(ins, Instruction):
            self._reply(ins, self.profile.unsupported_code)
            return
        if self.conn.locked and ins not in _UNLOCKED:
            self._reply(ins, C.PASSWORD_REQUIRED)
            return
        self._handlers[ins](cmd)

    def _reply(self, ins: Instruction | int, code: int, **fields: Any) -> None:
        data = self.conn.send(Reply(ins, code, fields))
        self._emit(data, {"packet": "ack", "instruction": _label(ins), "code": code,
                          "meaning": describe_confirmation(code).meaning, "fields": _jsonable(fields)})

    def _emit(self, data: bytes, trace: dict[str, Any] | None) -> None:
        """Send now, or (timing model) once the module has finished processing."""
        if self.timing and (self._outbox or self._busy_until > self.now()):
            self._outbox.append((max(self._busy_until, self.now()), data, trace))
            return
        if trace is not None:
            self._trace("device->host", **trace)
        self.send(data)

    def _processing_time(self, cmd: Command) -> float:
        """Seconds the real module spends before answering (data-sheet figures)."""
        ins = cmd.instruction
        if ins in (I.GEN_IMG, I.GET_IMAGE_EX):
            return self.profile.capture_time if self.finger is not None else 0.05
        if ins in (I.SEARCH, I.HIGH_SPEED_SEARCH):
            count = max(0, min(cmd.params["count"], self.flash.capacity - cmd.params["start"]))
            return 0.01 + self.profile.search_time_per_print * count
        if ins in (I.IMG2TZ, I.REG_MODEL):
            return self.profile.extract_time
        if ins in (I.STORE, I.DELETE_CHAR, I.WRITE_NOTEPAD, I.SET_SYS_PARA, I.SET_PWD, I.SET_ADDER):
            return 0.03  # a flash page write
        if ins is I.EMPTY:
            return 0.2
        return 0.002
    def _send_data(self, ins: Instruction, data: bytes) -> None:
        size = self.conn.packet_size
        chunks = [data[i:i + size] for i in range(0, len(data), size)]
        for n, chunk in enumerate(chunks):
            last = n == len(chunks) - 1
            wire = self.conn.send(DataPacket(chunk, last))
            self._emit(wire, {"packet": "data", "last": last, "length": len(chunk)})

    def _send_raw(self, event: RawByte) -> None:
        self._trace("device->host", packet="raw", value=event.value)
        self.send(self.conn.send(event))

    def _trace(self, direction: str, **fields: Any) -> None:
        if self.trace:
            self.event("trace", dir=direction, **fields)

    def _save(self) -> None:
        self.flash.save()

    # -- buffers ------------------------------------------------------------------------------
    def _buffer_index(self, buffer_id: int) -> int | None:
        """ZFM: id 1 is CharBuffer1, any other id CharBuffer2.  R503: ids 1..6, others invalid."""
        if self.profile.char_buffers == 2:
            return 0 if buffer_id == 1 else 1
        return buffer_id - 1 if 1 <= buffer_id <= self.profile.char_buffers else None

    def _template(self, index: int) -> bytes | None:
        t = self.buffers[index]
        return t if t is not None and biometrics.is_template(t) else None

    # -- instructions -------------------------------------------------------------------------
    def _ok(self, cmd: Command) -> None:
        self._reply(cmd.instruction, C.OK)

    def _echo(self, cmd: Command) -> None:
        self._reply(cmd.instruction, C.ALIVE)

    def _gen_img(self, cmd: Command) -> None:
        ins = cmd.instruction
        if "sensor" in self.defects:
            self._reply(ins, C.CAPTURE_FAILED)
            return
        if self.finger is None:
            if "residue" in self.defects:
                self._reply(ins, C.RESIDUAL_PRINT if self.profile.dry_wet_codes else C.CAPTURE_FAILED)
            else:
                self._reply(ins, C.NO_FINGER)
            return
        image, self._next_capture = self._next_capture, None
        if image is None:
            image = self._render()
        # the image buffer holds the sensor's 8-bit pixels; only UpImage reduces them to 4 bits
        # (a DownImage'd image therefore has 16 grey levels, and Img2Tz takes it as it is)
        self.image = image
        self.match_found = False
        code = C.OK
        if self.profile.dry_wet_codes:
            code = _skin_check(self.image)
        elif ins is I.GET_IMAGE_EX:
            try:
                biometrics.extract_template(self.image, size=self.profile.template_size)
            except biometrics.FingerImageError:
                code = C.TOO_FEW_POINTS  # GetImageEx rejects a poor image at once (07)
        self._reply(ins, code)

    def _render(self) -> np.ndarray:
        assert self.finger is not None
        finger, quality = self.finger
        return biometrics.render_capture(finger, quality, self.rng, width=self.profile.width,
                                         height=self.profile.height)

    def _img2tz(self, cmd: Command) -> None:
        index = self._buffer_index(cmd.params["buffer"])
        if index is None:
            self._reply(cmd.instruction, C.PACKET_ERROR)
            return
        if self.image is None:
            self._reply(cmd.instruction, C.NO_PRIMARY_IMAGE)
            return
        try:
            self.buffers[index] = biometrics.extract_template(self.image, size=self.profile.template_size)
        except biometrics.FingerImageError as exc:
            self.buffers[index] = None
            self._reply(cmd.instruction, exc.code)
            return
        self._reply(cmd.instruction, C.OK)

    def _match(self, cmd: Command) -> None:
        a, b = self._template(0), self._template(1)
        score = biometrics.match_score(a, b) if a is not None and b is not None else 0
        score = min(score, 0xFFFF)
        self.match_found = score >= biometrics.threshold_for_level(self.flash.security_level)
        self._reply(cmd.instruction, C.OK if self.match_found else C.NO_MATCH, score=score)

    def _search(self, cmd: Command) -> None:
        index = self._buffer_index(cmd.params["buffer"])
        start, count = cmd.params["start"], cmd.params["count"]
        if index is None:
            self._reply(cmd.instruction, C.PACKET_ERROR)
            return
        if start >= self.flash.capacity:
            self._reply(cmd.instruction, C.BAD_SLOT)
            return
        probe = self._template(index)
        end = min(self.flash.capacity, start + count)
        self.match_found = False
        if probe is not None and end > start:
            hit, score = biometrics.best_match(probe, self.flash.library[start:end])
            if hit >= 0 and score >= biometrics.threshold_for_level(self.flash.security_level):
                self.match_found = True
                self._reply(cmd.instruction, C.OK, slot=start + hit, score=min(score, 0xFFFF))
                return
        self._reply(cmd.instruction, C.NOT_FOUND)  # slot and score 0, per the manual

    def _reg_model(self, cmd: Command) -> None:
        a, b = self._template(0), self._template(1)
        if a is None or b is None:
            self._reply(cmd.instruction, C.MERGE_FAILED)
            return
        try:
            merged = biometrics.merge_templates(a, b)
        except biometrics.MergeError:
            self._reply(cmd.instruction, C.MERGE_FAILED)
            return
        self.buffers[0] = self.buffers[1] = merged
        self._reply(cmd.instruction, C.OK)

    def _store(self, cmd: Command) -> None:
        index, slot = self._buffer_index(cmd.params["buffer"]), cmd.params["slot"]
        if index is None:
            self._reply(cmd.instruction, C.PACKET_ERROR)
        elif slot >= self.flash.capacity:
            self._reply(cmd.instruction, C.BAD_SLOT)
        elif self.buffers[index] is None:
            self._reply(cmd.instruction, C.PACKET_ERROR)  # nothing in the buffer to store
        elif "flash" in self.defects:
            self._reply(cmd.instruction, C.FLASH_ERROR)
        else:
            self.flash.library[slot] = self.buffers[index]
            self._save()
            self._reply(cmd.instruction, C.OK)

    def _load_char(self, cmd: Command) -> None:
        index, slot = self._buffer_index(cmd.params["buffer"]), cmd.params["slot"]
        if index is None:
            self._reply(cmd.instruction, C.PACKET_ERROR)
        elif slot >= self.flash.capacity:
            self._reply(cmd.instruction, C.BAD_SLOT)
        elif self.flash.library[slot] is None or not biometrics.is_template(self.flash.library[slot]):
            self._reply(cmd.instruction, C.TEMPLATE_READ_ERROR)
        else:
            self.buffers[index] = self.flash.library[slot]
            self._reply(cmd.instruction, C.OK)

    def _up_char(self, cmd: Command) -> None:
        index = self._buffer_index(cmd.params["buffer"])
        if index is None:
            self._reply(cmd.instruction, C.PACKET_ERROR)
            return
        template = self.buffers[index]
        if template is None:
            self._reply(cmd.instruction, C.TEMPLATE_UPLOAD_ERROR)
            return
        self._reply(cmd.instruction, C.OK)
        self._send_data(cmd.instruction, template)

    def _up_image(self, cmd: Command) -> None:
        if self.image is None:
            self._reply(cmd.instruction, C.IMAGE_UPLOAD_ERROR)
            return
        self._reply(cmd.instruction, C.OK)
        self._send_data(cmd.instruction, pack_image(self.image))

    def _down_start(self, cmd: Command) -> None:
        if cmd.instruction is I.DOWN_CHAR and self._buffer_index(cmd.params["buffer"]) is None:
            self._reply(cmd.instruction, C.DATA_RECEIVE_ERROR)
            return
        self._download_target = cmd.params.get("buffer")
        self._reply(cmd.instruction, C.OK)

    def _download_done(self, transfer: DataTransfer) -> None:
        self._trace("host->device", packet="transfer", instruction=_label(transfer.instruction),
                    length=len(transfer.data), packets=transfer.packets)
        data = transfer.data
        if transfer.instruction is I.DOWN_IMAGE:
            if len(data) == self.profile.image_bytes:
                self.image = unpack_image(data, self.profile.width, self.profile.height)
            else:  # a short or long image leaves no valid image (Img2Tz then answers 15)
                self.image = None
            return
        index = self._buffer_index(self._download_target)
        size = self.profile.template_size
        # the buffer has a fixed size: bytes beyond it are lost, missing ones are zero
        self.buffers[index] = (bytes(data[:size]) + bytes(max(0, size - len(data))))

    def _delete_char(self, cmd: Command) -> None:
        start, count = cmd.params["start"], cmd.params["count"]
        if start + count > self.flash.capacity or "flash" in self.defects:
            self._reply(cmd.instruction, C.DELETE_FAILED)
            return
        for slot in range(start, start + count):
            self.flash.library[slot] = None
        self._save()
        self._reply(cmd.instruction, C.OK)

    def _empty(self, cmd: Command) -> None:
        if "flash" in self.defects:
            self._reply(cmd.instruction, C.CLEAR_FAILED)
            return
        self.flash.library = [None] * self.flash.capacity
        self._save()
        self._reply(cmd.instruction, C.OK)

    def _set_sys_para(self, cmd: Command) -> None:
        register, value = cmd.params["register"], cmd.params["value"]
        try:
            name, allowed = _SETTINGS[SysParam(register)]
        except ValueError:
            self._reply(cmd.instruction, C.BAD_REGISTER)
            return
        if value not in allowed:
            self._reply(cmd.instruction, C.BAD_REGISTER_CONFIG)
            return
        if "flash" in self.defects:
            self._reply(cmd.instruction, C.FLASH_ERROR)
            return
        deferred = SysParam(register) in self.profile.deferred
        if deferred:
            self.flash.pending[name] = value
        else:
            self.flash.pending.pop(name, None)
        self._save()
        self._reply(cmd.instruction, C.OK)  # acknowledged with the old settings
        if not deferred:
            setattr(self.flash, name, value)
            self._save()
            if register == SysParam.PACKET_SIZE:
                self.conn.packet_size = self.packet_size
        self.event("settings", register=name, value=value,
                   applies="at next power-up" if deferred else "now")

    def _read_sys_para(self, cmd: Command) -> None:
        f = self.flash
        status = ((0x02 if self.match_found else 0) | (0 if self.conn.locked else 0x04)
                  | (0x08 if self.image is not None else 0))
        self._reply(cmd.instruction, C.OK, status=status, system_id=self.profile.system_id,
                    capacity=f.capacity, security_level=f.security_level, device_address=f.address,
                    packet_size_code=f.packet_size_code, baud_multiplier=f.baud_multiplier)

    def _set_pwd(self, cmd: Command) -> None:
        if "flash" in self.defects:
            self._reply(cmd.instruction, C.FLASH_ERROR)
            return
        self.flash.password = cmd.params["password"]
        self._save()
        self._reply(cmd.instruction, C.OK)

    def _vfy_pwd(self, cmd: Command) -> None:
        ok = cmd.params["password"] == self.flash.password
        self._reply(cmd.instruction, C.OK if ok else C.WRONG_PASSWORD)

    def _random(self, cmd: Command) -> None:
        self._reply(cmd.instruction, C.OK, value=int(self.rng.integers(0, 2**32)))

    def _set_adder(self, cmd: Command) -> None:
        self.flash.address = cmd.params["new_address"]
        self._save()
        self._reply(cmd.instruction, C.OK)  # the connection sends it from the new address

    def _read_inf_page(self, cmd: Command) -> None:
        self._reply(cmd.instruction, C.OK)
        self._send_data(cmd.instruction, self._info_page())

    def _info_page(self) -> bytes:
        text = (f"{self.profile.title}|{self.profile.firmware}|{self.profile.algorithm}|"
                f"SN {self.serial}|{self.profile.width}x{self.profile.height}|"
                f"templates {self.profile.template_size}|library {self.flash.capacity}")
        return text.encode("ascii")[:512].ljust(512, b"\x00")

    def _port_control(self, cmd: Command) -> None:
        self._reply(cmd.instruction, C.OK if cmd.params["on"] in (0, 1) else C.PORT_FAILED)

    def _write_notepad(self, cmd: Command) -> None:
        page = cmd.params["page"]
        if page >= _NOTEPAD_PAGES:
            self._reply(cmd.instruction, C.BAD_NOTEPAD_PAGE)
        elif "flash" in self.defects:
            self._reply(cmd.instruction, C.FLASH_ERROR)
        else:
            self.flash.notepad[page] = bytes(cmd.params["data"])
            self._save()
            self._reply(cmd.instruction, C.OK)

    def _read_notepad(self, cmd: Command) -> None:
        page = cmd.params["page"]
        if page >= _NOTEPAD_PAGES:
            self._reply(cmd.instruction, C.BAD_NOTEPAD_PAGE)
        else:
            self._reply(cmd.instruction, C.OK, data=self.flash.notepad[page])

    def _template_num(self, cmd: Command) -> None:
        self._reply(cmd.instruction, C.OK, count=sum(t is not None for t in self.flash.library))

    def _read_index_table(self, cmd: Command) -> None:
        page = cmd.params["page"]
        if page > 3:
            self._reply(cmd.instruction, C.BAD_SLOT)
            return
        used = [i for i, t in enumerate(self.flash.library) if t is not None]
        self._reply(cmd.instruction, C.OK, table=build_index_table(used, page))

    def _aura_led(self, cmd: Command) -> None:
        p = cmd.params
        if p["control"] not in _LED_MODES or (p["control"] != 4 and p["colour"] not in _LED_COLOURS):
            self._reply(cmd.instruction, C.PACKET_ERROR)
            return
        self.led = {"mode": _LED_MODES[p["control"]], "colour": _LED_COLOURS.get(p["colour"]),
                    "speed": p["speed"], "times": p["times"]}
        self._reply(cmd.instruction, C.OK)
        self.event("led", **self.led)

    def _check_sensor(self, cmd: Command) -> None:
        self._reply(cmd.instruction, C.SENSOR_FAULT if "sensor" in self.defects else C.OK)

    def _versions(self, cmd: Command) -> None:
        text = self.profile.firmware if cmd.instruction is I.GET_FW_VER else self.profile.algorithm
        self._reply(cmd.instruction, C.OK, version=text.encode("ascii").ljust(32, b"\x00"))

    def _prod_info(self, cmd: Command) -> None:
        p = self.profile
        self._reply(cmd.instruction, C.OK, model=p.name.upper().encode().ljust(16, b"\x00"),
                    batch=b"SIM1", serial=self.serial.encode("ascii")[:8].ljust(8, b"\x00"),
                    hw_major=1, hw_minor=0, sensor=p.sensor.encode("ascii").ljust(8, b"\x00"),
                    width=p.width, height=p.height, template_size=p.template_size,
                    database_size=self.flash.capacity)

    def _soft_rst(self, cmd: Command) -> None:
        self._reply(cmd.instruction, C.OK)
        if self.flash.pending:
            for name, value in self.flash.pending.items():
                setattr(self.flash, name, value)
            self.flash.pending.clear()
            self._save()
        self._clear_ram()
        now = max(self.now(), self._busy_until)
        self._ready_at = now + _SOFT_RESET_TIME
        self._handshake_at = self._ready_at  # every model sends 0x55 after SoftRst


def _skin_check(image: np.ndarray) -> int:
    """Synochip GenImg verdict from the image alone: 04 too dry/light, 05 too wet/dark."""
    contact = image < 0xE0
    area = int(contact.sum())
    if area < image.size // 20:
        return C.OK  # too little contact to judge; Img2Tz will report it (07)
    dark = float((image[contact] < 0x60).mean())
    if dark < 0.08:
        return C.TOO_DRY
    if dark > 0.75:
        return C.TOO_WET
    return C.OK


def _int(text: str, what: str, low: int, high: int) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise ConfigurationError(f"{what} must be an integer, not {text!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{what} must be {low}..{high}, not {value}")
    return value


def _label(ins: Instruction | int) -> str:
    return ins.name if isinstance(ins, Instruction) else f"0x{ins:02X}"


def _jsonable(values: Any) -> Any:
    return {k: (v.hex() if isinstance(v, (bytes, bytearray)) else int(v)) for k, v in dict(values).items()}
