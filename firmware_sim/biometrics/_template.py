"""The character-buffer / template byte format of the simulated module (ours, documented here).

Layout (little-endian), exactly ``size`` bytes (size >= 512):

    0   3  magic b"SFM"
    3   1  version (1)
    4   1  minutia count n
    5   1  flags: bit0 = merged from several captures
    6   2  reserved, 0
    8   4  reserved, 0
    12  4  CRC-32 (zlib) of bytes 0..11 and 16..size-1
    16  6n minutiae: x int16, y int16 (pixels, image or enrolment frame), angle uint8
           (direction in 1/256 turns), kind uint8 (bits 0-1: 1 ending, 2 bifurcation;
           bits 2-7: reliability 0..63, how often / how clearly it was seen)
    ..     zero padding (covered by the CRC)

The module only promises that its own templates round-trip and match, and so does this one.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

__all__: list[str] = []

MAGIC = b"SFM"
VERSION = 1
HEADER = 16
MIN_SIZE = 512
ENDING, BIFURCATION = 1, 2
_REC = np.dtype([("x", "<i2"), ("y", "<i2"), ("a", "u1"), ("k", "u1")])


@dataclass(frozen=True, slots=True)
class Minutiae:
    """Decoded minutiae: float arrays of equal length."""

    x: np.ndarray
    y: np.ndarray
    angle: np.ndarray  # radians 0..2pi
    kind: np.ndarray  # 1 ending, 2 bifurcation
    reliability: np.ndarray  # 0..63
    merged: bool = False

    def __len__(self) -> int:
        return int(self.x.shape[0])


def capacity(size: int) -> int:
    return min(255, (size - HEADER) // _REC.itemsize)


def encode(m: Minutiae, size: int) -> bytes:
    """Pack minutiae into exactly ``size`` bytes (the caller has trimmed to capacity)."""
    if size < MIN_SIZE:
        raise ValueError(f"template size {size} is below the minimum {MIN_SIZE}")
    n = len(m)
    if n > capacity(size):
        raise ValueError(f"{n} minutiae do not fit a {size}-byte template")
    rec = np.zeros(n, _REC)
    rec["x"] = np.clip(np.rint(m.x), -32768, 32767)
    rec["y"] = np.clip(np.rint(m.y), -32768, 32767)
    rec["a"] = np.rint(np.mod(m.angle, 2 * np.pi) * (256 / (2 * np.pi))).astype(np.int64) % 256
    rel = np.clip(np.rint(m.reliability), 0, 63).astype(np.uint8)
    rec["k"] = (m.kind.astype(np.uint8) & 3) | (rel << 2)
    body = bytearray(size)
    body[0:3] = MAGIC
    body[3] = VERSION
    body[4] = n
    body[5] = 1 if m.merged else 0
    body[HEADER:HEADER + rec.nbytes] = rec.tobytes()
    crc = zlib.crc32(bytes(body[16:]), zlib.crc32(bytes(body[0:12])))
    struct.pack_into("<I", body, 12, crc)
    return bytes(body)


def decode(data: bytes) -> Minutiae:
    """Unpack a template; ValueError says why it is not one."""
    data = bytes(data)
    if len(data) < MIN_SIZE:
        raise ValueError(f"template too short: {len(data)} bytes, at least {MIN_SIZE} expected")
    if data[0:3] != MAGIC or data[3] != VERSION:
        raise ValueError("not a template of this module (bad magic or version)")
    (crc,) = struct.unpack_from("<I", data, 12)
    if zlib.crc32(data[16:], zlib.crc32(data[0:12])) != crc:
        raise ValueError("template checksum mismatch (corrupted)")
    n = data[4]
    if n > capacity(len(data)) or data[5] & 0xFE or data[6:12] != bytes(6):
        raise ValueError("template header fields out of range")
    if any(data[HEADER + n * _REC.itemsize:]):
        raise ValueError("template padding is not zero")
    rec = np.frombuffer(data, _REC, count=n, offset=HEADER)
    kind = (rec["k"] & 3).astype(np.int8)
    if n and not np.all((kind == ENDING) | (kind == BIFURCATION)):
        raise ValueError("template holds an unknown minutia kind")
    return Minutiae(
        x=rec["x"].astype(np.float32),
        y=rec["y"].astype(np.float32),
        angle=(rec["a"].astype(np.float32) * (2 * np.pi / 256)).astype(np.float32),
        kind=kind,
        reliability=(rec["k"] >> 2).astype(np.float32),
        merged=bool(data[5] & 1),
    )


def is_template(data: bytes) -> bool:
    """True if ``data`` decodes as a template of this format."""
    try:
        decode(data)
    except (ValueError, TypeError):
        return False
    return True
