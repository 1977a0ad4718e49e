"""Model profiles: what differs between EF01 module families (from the reference and manuals)."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from protocol.ef01 import OPCODE_TABLES, OpcodeTable, SysParam
from protocol.errors import ConfigurationError

__all__ = ["ModelProfile", "PROFILES", "profile"]


@dataclass(frozen=True)
class ModelProfile:
    """One module family.

    ``deferred``: SetSysPara registers acknowledged now but applied at the next power-up (the
    ZFM manual says so for all three; field reports say newer firmware applies security level
    and packet size at once).  ``char_buffers``: CharBuffer count (ZFM: 2, other buffer ids are
    treated as CharBuffer2; R503: 1..6).  ``power_up_delay``: seconds with no command accepted.
    ``handshake_byte``: sends 0x55 once ready after power-up (after SoftRst every model does).
    ``dry_wet_codes``: GenImg reports 04 too dry / 05 too wet / 17 residual print (Synochip).
    """

    name: str
    title: str
    opcodes: OpcodeTable
    capacity: int
    width: int
    height: int
    template_size: int
    char_buffers: int
    system_id: int
    power_up_delay: float
    handshake_byte: bool
    deferred: frozenset[SysParam]
    dry_wet_codes: bool
    firmware: str
    algorithm: str
    sensor: str
    #: timing model (option timing=1): seconds per capture, per extraction/merge, per print searched
    capture_time: float = 0.4
    extract_time: float = 0.15
    search_time_per_print: float = 0.0008

    @property
    def image_bytes(self) -> int:
        """UpImage/DownImage size over UART: 4 bits per pixel."""
        return self.width * self.height // 2

    @property
    def unsupported_code(self) -> int:
        return self.opcodes.unsupported_code


_ALL = frozenset(SysParam)

PROFILES: Mapping[str, ModelProfile] = MappingProxyType({
    "r307": ModelProfile(
        name="r307", title="R307 (ZFM-60 class)", opcodes=OPCODE_TABLES["r307"], capacity=1000,
        width=256, height=288, template_size=512, char_buffers=2, system_id=0x0009,
        power_up_delay=0.5, handshake_byte=False, deferred=_ALL, dry_wet_codes=False,
        firmware="R307-SIM FW 1.2", algorithm="ZFM ALG 2.0", sensor="OPTICAL"),
    "r503": ModelProfile(
        name="r503", title="R503 (Hangzhou Grow)", opcodes=OPCODE_TABLES["r503"], capacity=200,
        width=192, height=192, template_size=1536, char_buffers=6, system_id=0x0000,
        power_up_delay=0.05, handshake_byte=True, deferred=frozenset({SysParam.BAUD}),
        dry_wet_codes=False, firmware="R503-SIM FW 2.1", algorithm="GROW ALG 5.0", sensor="CAP192",
        capture_time=0.15, extract_time=0.05, search_time_per_print=0.002),
    "as608": ModelProfile(
        name="as608", title="AS608 (Synochip)", opcodes=OPCODE_TABLES["as608"], capacity=300,
        width=256, height=288, template_size=512, char_buffers=2, system_id=0x2EC8,
        power_up_delay=0.5, handshake_byte=False, deferred=frozenset({SysParam.BAUD}),
        dry_wet_codes=True, firmware="AS608-SIM FW 1.0", algorithm="SYNO ALG 3.1", sensor="OPTICAL"),
})


def profile(name: str) -> ModelProfile:
    """The profile named ``name`` (ConfigurationError naming the valid ones otherwise)."""
    try:
        return PROFILES[name.lower()]
    except KeyError:
        raise ConfigurationError(f"unknown fingerprint module model {name!r}; choose one of "
                                 f"{', '.join(PROFILES)}") from None
