"""Frame decoding for the technician tools (``tactile monitor``, ``tactile decode``, ``--trace``).

A :class:`StreamDecoder` hunts frames of BOTH protocols in one direction's byte stream and
tells them apart by their header: an EF01 fingerprint-module frame starts ``EF 01`` (then the
address, the packet id, a length and a 16-bit sum), a TPP pad frame starts ``A5`` (then a
length, seq, ref, type and a CRC-8 header check, and ends with a CRC-16).  Every frame is
reported with its checksum verdict; bytes that belong to no frame are reported as garbage, so
nothing on the line goes unseen.  The decoding itself is the protocol packages' own
(``protocol.ef01.schema`` and ``protocol.tpp.schema``): nothing here re-implements a message.

Masking: no PIN digit is ever on the wire (the pad sends counts and enciphered blocks only), but
the display masks every PIN-related field anyway: the PIN block (``block``), the PAN a block is
bound to (``customer_data``: first 6 and last 4 digits kept, as PCI DSS allows), key material
(``LoadKey.key``), EF01 passwords (VfyPwd/SetPwd), and a digit key a pad would name while a PIN
entry runs (a pad breaking SPEC section 8; shown as ``digit``).

The recording format of ``tactile monitor --raw FILE`` (one chunk per line, as read)::

    # tactile monitor recording v1
    0.000000 host->device EF01FFFFFFFF010003010005
    0.012345 device->host EF01FFFFFFFF07000300000A

:func:`read_capture` reads that, a pyserial ``spy://`` hex dump (``TX`` = host->device), a
plain hex dump (``EF 01 FF ...``, ``0000: A5 00 ...``, optional leading ``>``/``<`` or
``TX``/``RX`` for the direction) or a binary file.
"""

from __future__ import annotations

import re
import struct
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from protocol.errors import ProtocolError
from protocol.layout import DIGIT_KEY_NAMES

__all__ = ["Frame", "StreamDecoder", "DecodeContext", "Chunk", "read_capture", "format_frame",
           "HOST_TO_DEVICE", "DEVICE_TO_HOST", "RECORDING_HEADER", "recording_line"]

HOST_TO_DEVICE = "host->device"
DEVICE_TO_HOST = "device->host"
RECORDING_HEADER = "# tactile monitor recording v1"

_EF01_HEADER = b"\xef\x01"
_EF01_PIDS = {0x01: "command", 0x02: "data", 0x07: "reply", 0x08: "end-data"}
_EF01_MAX_LENGTH = 256 + 2          # the largest data packet plus the checksum
_TPP_SOF = 0xA5
_TPP_MAX_PAYLOAD = 1024
_MASK = "****"


@dataclass
class Frame:
    """One decoded frame, or a run of garbage (``protocol`` None)."""

    protocol: str | None              # "ef01", "tpp" or None (garbage)
    direction: str | None
    time: float | None
    raw: bytes
    checksum_ok: bool = True
    message: str = ""                 # "VfyPwd", "reply", "GetInfo", "garbage" ...
    fields: dict[str, Any] = field(default_factory=dict)
    note: str = ""                    # a decoding problem or a hint
    masked: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"time": self.time, "dir": self.direction,
                               "protocol": self.protocol, "message": self.message,
                               "length": len(self.raw)}
        if self.protocol is not None and self.message != "ready-byte":
            out["checksum"] = "ok" if self.checksum_ok else "bad"
        out.update(self.fields)
        if self.note:
            out["note"] = self.note
        if not self.masked:
            out["hex"] = self.raw.hex().upper()
        return out


@dataclass
class DecodeContext:
    """What the two directions share: the EF01 command a reply answers, whether a PIN entry
    runs (TPP), and the protocol seen last (so a lone reply is still attributed)."""

    ef01_instruction: Any = None
    ef01_opcodes: str = "standard"
    in_pin_entry: bool = False


def _plain(value: Any) -> Any:
    import enum
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).rstrip(b"\x00")
        if text and all(32 <= b < 127 for b in text):   # a name or version the module reports
            return text.decode("ascii")
        return bytes(value).hex().upper()
    if isinstance(value, dict):
        return {k: (f"{v:08X}" if k.endswith("address") and isinstance(v, int) else _plain(v))
                for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _mask_pan(pan: str) -> str:
    if len(pan) > 10:
        return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]
    return "*" * len(pan)


class StreamDecoder:
    """Decode one direction of a link; ``feed`` returns the frames completed so far.

    ``protocol``: "auto" (both, by header), "ef01" or "tpp".  A frame cut at the end of the
    data waits for the next ``feed``; :meth:`flush` reports what is left as incomplete.
    """

    def __init__(self, direction: str | None = None, context: DecodeContext | None = None,
                 protocol: str = "auto") -> None:
        self.direction = direction
        self.context = context if context is not None else DecodeContext()
        self.protocols = ("ef01", "tpp") if protocol == "auto" else (protocol,)
        self._buf = bytearray()
        self._garbage = bytearray()
        self._time: float | None = None
        self._garbage_time: float | None = None

    def feed(self, data: bytes, when: float | None = None) -> list[Frame]:
        if not self._buf:
            self._time = when
        self._buf += data
        out: list[Frame] = []
        while self._buf:
            result = self._try_frame(final=False)
            if result is None:         # a frame may be starting: wait for more bytes
                break
            if result is False:        # not a frame start: garbage up to the next candidate
                if not self._garbage:
                    self._garbage_time = self._time if self._time is not None else when
                cut = self._next_start()
                self._garbage += self._buf[:cut]
                del self._buf[:cut]
                continue
            out.extend(self._take_garbage())
            out.append(result)
            self._time = when      # what follows arrived (at the latest) in this chunk
        if not self._buf:
            out.extend(self._take_garbage())
        return out

    def flush(self) -> list[Frame]:
        """The bytes left at the end of the stream: garbage, or a frame cut short."""
        out: list[Frame] = []
        while self._buf:
            result = self._try_frame(final=True)
            if isinstance(result, Frame):
                out.extend(self._take_garbage())
                out.append(result)
                continue
            if not self._garbage:
                self._garbage_time = self._time
            self._garbage.append(self._buf.pop(0))
        out.extend(self._take_garbage())
        return out

    # ------------------------------------------------------------------ hunting
    def _next_start(self) -> int:
        """Where the next possible frame start is (at least 1: the first byte is not one)."""
        starts = [i for i in (self._buf.find(b"\xef", 1) if "ef01" in self.protocols else -1,
                              self._buf.find(b"\xa5", 1) if "tpp" in self.protocols else -1)
                  if i > 0]
        return min(starts) if starts else len(self._buf)

    def _take_garbage(self) -> list[Frame]:
        if not self._garbage:
            return []
        data = bytes(self._garbage)
        self._garbage.clear()
        frame = Frame(None, self.direction, self._garbage_time, data, message="garbage")
        if data == b"\x55" and self.direction != HOST_TO_DEVICE:
            frame.message = "ready-byte"
            frame.protocol = "ef01"
            frame.note = "0x55: an EF01 module that (re)started says it is ready"
        else:
            frame.note = (f"{len(data)} byte(s) that are no frame: line noise, a wrong baud "
                          "rate, or a device speaking another protocol")
        return [frame]

    def _try_frame(self, *, final: bool) -> "Frame | None | bool":
        """A frame at the buffer's start; None: need more bytes; False: no frame here."""
        buf = self._buf
        first = buf[0]
        if first == 0xEF and "ef01" in self.protocols:
            return self._try_ef01(final)
        if first == _TPP_SOF and "tpp" in self.protocols:
            return self._try_tpp(final)
        return False

    def _try_ef01(self, final: bool) -> "Frame | None | bool":
        buf = self._buf
        if len(buf) < 9:
            return None if not final and (len(buf) < 2 or buf[:2] == _EF01_HEADER) else False
        if buf[:2] != _EF01_HEADER or buf[6] not in _EF01_PIDS:
            return False
        length = struct.unpack_from(">H", buf, 7)[0]
        if not 3 <= length <= _EF01_MAX_LENGTH:
            return False
        total = 9 + length
        if len(buf) < total:
            return None if not final else False
        raw = bytes(buf[:total])
        ok = (sum(raw[6:-2]) & 0xFFFF) == struct.unpack_from(">H", raw, total - 2)[0]
        if not ok and not self._plausible_end(total):
            return False            # most likely a false header inside other bytes
        del buf[:total]
        return self._decode_ef01(raw, ok)

    def _try_tpp(self, final: bool) -> "Frame | None | bool":
        from protocol.tpp.schema import crc8, crc16
        buf = self._buf
        if len(buf) < 7:
            return None if not final else False
        length = struct.unpack_from(">H", buf, 1)[0]
        if length > _TPP_MAX_PAYLOAD or crc8(bytes(buf[1:6])) != buf[6]:
            return False
        total = 9 + length
        if len(buf) < total:
            return None if not final else False
        raw = bytes(buf[:total])
        ok = crc16(raw[1:7 + length]) == struct.unpack_from(">H", raw, total - 2)[0]
        del buf[:total]   # the header check passed: a corrupted frame, not a false start
        return self._decode_tpp(raw, ok)

    def _plausible_end(self, total: int) -> bool:
        """A frame with a bad sum is believed (and consumed) when the bytes after it are the
        end of the data or the start of another frame."""
        rest = self._buf[total:total + 2]
        return not rest or rest[:1] == b"\xa5" or rest[:2] in (_EF01_HEADER, _EF01_HEADER[:1])

    # ------------------------------------------------------------------ EF01
    def _decode_ef01(self, raw: bytes, ok: bool) -> Frame:
        from protocol.ef01 import describe_confirmation
        from protocol.ef01.schema import parse_command, parse_reply

        address = struct.unpack_from(">I", raw, 2)[0]
        pid = raw[6]
        frame = Frame("ef01", self.direction, self._time, raw, checksum_ok=ok,
                      message=_EF01_PIDS[pid], fields={"address": f"{address:08X}"})
        if not ok:
            frame.note = "bad checksum: the frame was corrupted on the line"
            return frame
        ctx = self.context
        try:
            if pid == 0x01:
                _, instruction, params = parse_command(raw, ctx.ef01_opcodes)
                name = getattr(instruction, "name", None) or f"opcode {instruction:#04x}"
                frame.message = _camel(name)
                params = _plain(params)
                if "password" in params:
                    params["password"] = _MASK
                    frame.masked = True
                frame.fields.update(params)
                ctx.ef01_instruction = instruction if hasattr(instruction, "name") else None
            elif pid == 0x07:
                instruction = ctx.ef01_instruction
                try:
                    _, code, payload = parse_reply(raw, instruction)
                except ProtocolError:
                    _, code, payload = parse_reply(raw, None)
                    instruction = None
                info = describe_confirmation(code)
                frame.message = "reply" + (f" to {_camel(instruction.name)}" if instruction
                                           is not None else "")
                frame.fields.update(code=f"0x{code:02X}", meaning=info.meaning, **_plain(payload))
            else:
                frame.fields["data_bytes"] = len(raw) - 11
        except ProtocolError as exc:
            frame.note = str(exc)
        return frame

    # ------------------------------------------------------------------ TPP
    def _decode_tpp(self, raw: bytes, ok: bool) -> Frame:
        from protocol.tpp import describe
        from protocol.tpp.schema import decode_message

        seq, ref, type_byte = raw[3], raw[4], raw[5]
        frame = Frame("tpp", self.direction, self._time, raw, checksum_ok=ok,
                      fields={"seq": seq, "ref": ref})
        if not ok:
            frame.message = f"type 0x{type_byte:02X}"
            frame.note = "bad CRC: the frame was corrupted on the line"
            frame.masked = True     # a corrupted PinBlockReply is still not shown
            return frame
        if type_byte == 0x00:
            frame.message = "ACK"
            frame.fields = {"acks": ref}      # the seq of the frame acknowledged
            return frame
        try:
            message = decode_message(type_byte, raw[7:-2], seq=seq)
        except ProtocolError as exc:
            frame.message = f"type 0x{type_byte:02X}"
            frame.note = str(exc)
            frame.masked = True
            return frame
        described = describe(message)
        frame.message = described.pop("message")
        self._mask_tpp(frame, message, described)
        frame.fields.update(described)
        return frame

    def _mask_tpp(self, frame: Frame, message: Any, fields: dict[str, Any]) -> None:
        name = type(message).__name__
        ctx = self.context
        if name in ("PinEntry", "PinChange"):
            ctx.in_pin_entry = True
        elif name in ("PinEntryCompleted", "PinChangeCompleted", "PowerOn", "Tamper",
                      "HelloReply"):
            ctx.in_pin_entry = False
        elif name == "Refused" and ctx.in_pin_entry and fields.get("request_type") in (
                "pin_entry", "pin_change"):
            ctx.in_pin_entry = False
        if name == "GetPinBlock" and isinstance(fields.get("customer_data"), str):
            fields["customer_data"] = _mask_pan(fields["customer_data"])
            frame.masked = True
        if name == "PinBlockReply":
            fields["block"] = _MASK
            frame.masked = True
        if name == "LoadKey":
            fields["key"] = _MASK
            frame.masked = True
        if name == "KeyPressed" and ctx.in_pin_entry and fields.get("key") in DIGIT_KEY_NAMES:
            fields["key"] = "digit"
            frame.masked = True
            frame.note = "a digit key named during PIN entry: the pad breaks SPEC section 8"


def _camel(name: str) -> str:
    """GEN_IMG -> GenImg (the manuals' names)."""
    return _MANUAL_NAMES.get(name) or "".join(part.capitalize() for part in name.split("_"))


_MANUAL_NAMES = {"IMG2TZ": "Img2Tz"}


# ---------------------------------------------------------------------- text for people
def format_frame(frame: Frame, *, start: float | None = None) -> str:
    """One line: time, direction, protocol, message and fields, checksum verdict."""
    when = ""
    if frame.time is not None:
        when = f"{frame.time - (start or 0.0):10.3f}  "
    arrow = {HOST_TO_DEVICE: "host>dev", DEVICE_TO_HOST: "dev>host"}.get(frame.direction or "",
                                                                         "        ")
    proto = (frame.protocol or "----").upper()
    skip = {"address"} if frame.fields.get("address") == "FFFFFFFF" else set()
    parts = []
    for key, value in frame.fields.items():
        if key in skip:
            continue
        text = value if isinstance(value, str) else repr(value) if not isinstance(
            value, (int, float, bool)) else str(value)
        if len(text) > 48:
            text = text[:45] + "..."
        parts.append(f"{key}={text}")
    if frame.protocol is None or frame.message == "ready-byte":
        verdict = ""
        body = f"{frame.message} {frame.raw[:24].hex(' ').upper()}" + (
            " ..." if len(frame.raw) > 24 else "")
    else:
        verdict = "  [ok]" if frame.checksum_ok else "  [CHECKSUM BAD]"
        body = frame.message + (" " + " ".join(parts) if parts else "")
    note = f"  ({frame.note})" if frame.note and frame.protocol is not None else ""
    return f"{when}{arrow}  {proto:4}  {body}{verdict}{note}"


# ---------------------------------------------------------------------- recordings
@dataclass(frozen=True)
class Chunk:
    time: float | None
    direction: str | None
    data: bytes


def recording_line(when: float, direction: str, data: bytes) -> str:
    return f"{when:.6f} {direction} {data.hex().upper()}\n"


_SPY = re.compile(r"^\s*(\d+\.\d+)\s+(TX|RX)\s+([0-9A-F]{4})  (.*)$")
_OURS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+(host->device|device->host)\s+([0-9A-Fa-f]*)\s*$")
_DIR_PREFIX = re.compile(r"^\s*(>|<|TX:?|RX:?|host->device|device->host)\s+", re.I)
_OFFSET = re.compile(r"^\s*[0-9A-Fa-f]{4,8}:\s+")
_HEX_TOKEN = re.compile(r"^(?:0x)?[0-9A-Fa-f]+,?$")


def read_capture(data: bytes) -> tuple[str, list[Chunk]]:
    """(format name, chunks) of a recording, a spy:// log, a hex dump or a binary capture."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "binary", [Chunk(None, None, data)]
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    if text and printable < len(text) * 0.95:
        return "binary", [Chunk(None, None, data)]
    lines = text.splitlines()
    if any(line.startswith(RECORDING_HEADER) for line in lines[:3]):
        return "tactile recording", list(_read_ours(lines))
    if any(_SPY.match(line) for line in lines[:50]):
        return "pyserial spy log", list(_read_spy(lines))
    return "hex dump", list(_read_hex(lines))


def _read_ours(lines: list[str]) -> Iterator[Chunk]:
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _OURS.match(line)
        if match is None:
            raise ValueError(f"line {number} is not `SECONDS DIRECTION HEX`: {line[:60]!r}")
        yield Chunk(float(match.group(1)), match.group(2), bytes.fromhex(match.group(3)))


def _read_spy(lines: list[str]) -> Iterator[Chunk]:
    for line in lines:
        match = _SPY.match(line)
        if match is None:
            continue           # control lines (RTS, flushInput ...), RX <empty>
        hex_area = match.group(4)[:49]
        data = bytes.fromhex("".join(hex_area.split()))
        direction = HOST_TO_DEVICE if match.group(2) == "TX" else DEVICE_TO_HOST
        yield Chunk(float(match.group(1)), direction, data)


def _read_hex(lines: list[str]) -> Iterator[Chunk]:
    for number, line in enumerate(lines, 1):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        direction = None
        prefix = _DIR_PREFIX.match(body)
        if prefix:
            token = prefix.group(1).upper().rstrip(":")
            direction = HOST_TO_DEVICE if token in (">", "TX", "HOST->DEVICE") else DEVICE_TO_HOST
            body = body[prefix.end():]
        body = _OFFSET.sub("", body)
        tokens = body.replace(",", " ").split()
        hex_digits = []
        for token in tokens:
            if not _HEX_TOKEN.match(token):
                break          # the ASCII column of a dump, or a comment
            hex_digits.append(token[2:] if token.lower().startswith("0x") else token)
        joined = "".join(hex_digits).rstrip(",")
        if not joined:
            continue
        if len(joined) % 2:
            raise ValueError(f"line {number} has an odd number of hex digits: {line[:60]!r}")
        yield Chunk(None, direction, bytes.fromhex(joined))


def decode_chunks(chunks: Iterable[Chunk], protocol: str = "auto") -> list[Frame]:
    """Decode a whole capture: one decoder per direction, sharing the context."""
    context = DecodeContext()
    decoders: dict[str | None, StreamDecoder] = {}
    frames: list[Frame] = []
    for chunk in chunks:
        decoder = decoders.get(chunk.direction)
        if decoder is None:
            decoder = decoders[chunk.direction] = StreamDecoder(chunk.direction, context,
                                                                protocol)
        frames.extend(decoder.feed(chunk.data, chunk.time))
    for decoder in decoders.values():
        frames.extend(decoder.flush())
    return frames


def now() -> float:
    return time.time()
