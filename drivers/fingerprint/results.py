"""Typed results of :class:`drivers.fingerprint.FingerprintReader` calls."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SystemParameters",
    "ProductInfo",
    "ReaderInfo",
    "Template",
    "CaptureResult",
    "VerifyResult",
    "IdentifyResult",
    "SettingChange",
    "SensorReport",
]

# packet size code (system parameter 6) -> content bytes per data packet
PACKET_SIZES = (32, 64, 128, 256)


@dataclass(frozen=True, slots=True)
class SystemParameters:
    """The 16-byte ReadSysPara block, decoded."""

    status: int
    system_id: int
    capacity: int
    security_level: int
    address: int
    packet_size: int
    baudrate: int

    @property
    def busy(self) -> bool:
        return bool(self.status & 0x1)

    @property
    def match_found(self) -> bool:
        return bool(self.status & 0x2)

    @property
    def password_verified(self) -> bool:
        return bool(self.status & 0x4)

    @property
    def image_valid(self) -> bool:
        return bool(self.status & 0x8)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status, "busy": self.busy, "match_found": self.match_found,
            "password_verified": self.password_verified, "image_valid": self.image_valid,
            "system_id": self.system_id, "capacity": self.capacity,
            "security_level": self.security_level, "address": f"{self.address:08X}",
            "packet_size": self.packet_size, "baudrate": self.baudrate,
        }


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """ReadProdInfo (R503 family): what the module says it is."""

    model: str
    batch: str
    serial: str
    hardware_version: str
    sensor: str
    image_width: int
    image_height: int
    template_size: int
    library_size: int

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class ReaderInfo:
    """Everything :meth:`FingerprintReader.info` learned about the module.

    ``model`` is the product's own name where it reports one (R503 family), otherwise the
    family name inferred from the probe ("EF01 module").  ``product``, ``firmware`` and
    ``algorithm`` are None on models that lack those instructions.
    """

    port: str
    model: str
    parameters: SystemParameters
    template_count: int
    image_width: int
    image_height: int
    product: ProductInfo | None = None
    firmware: str | None = None
    algorithm: str | None = None
    has_aura_led: bool = False
    has_sensor_check: bool = False

    # the fields a teller asks for most, flat
    @property
    def capacity(self) -> int:
        return self.parameters.capacity

    @property
    def security_level(self) -> int:
        return self.parameters.security_level

    @property
    def packet_size(self) -> int:
        return self.parameters.packet_size

    @property
    def baudrate(self) -> int:
        return self.parameters.baudrate

    @property
    def address(self) -> int:
        return self.parameters.address

    @property
    def status(self) -> int:
        return self.parameters.status

    def to_dict(self) -> dict[str, Any]:
        return {
            "port": self.port, "model": self.model, "capacity": self.capacity,
            "template_count": self.template_count, "security_level": self.security_level,
            "packet_size": self.packet_size, "baudrate": self.baudrate,
            "address": f"{self.address:08X}", "image_width": self.image_width,
            "image_height": self.image_height, "firmware": self.firmware,
            "algorithm": self.algorithm, "has_aura_led": self.has_aura_led,
            "has_sensor_check": self.has_sensor_check,
            "parameters": self.parameters.to_dict(),
            "product": self.product.to_dict() if self.product else None,
        }

    def __str__(self) -> str:
        return (f"{self.model} on {self.port}: {self.template_count}/{self.capacity} slots used, "
                f"security level {self.security_level}, {self.packet_size}-byte packets, "
                f"{self.baudrate} baud, address {self.address:08X}")


@dataclass(frozen=True, slots=True)
class Template:
    """A fingerprint template as the module produced it, plus where it came from.

    ``data`` is the module's proprietary template (only that module family can match it);
    ``slot`` is the library slot it was stored in (None when only exported).  ``bytes(t)``
    gives the raw data; :meth:`save`/:meth:`load` keep it in a file byte for byte.
    """

    data: bytes
    slot: int | None = None
    captures: int = 0

    def __bytes__(self) -> bytes:
        return self.data

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"Template({len(self.data)} bytes, slot={self.slot}, captures={self.captures})"

    def save(self, path: str | os.PathLike[str]) -> None:
        with open(path, "wb") as fh:
            fh.write(self.data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Template":
        with open(path, "rb") as fh:
            return cls(fh.read())


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """A capture that produced features in character buffer ``buffer``.

    ``scans`` counts images taken (retries for unusable images included); ``rejected`` lists
    the confirmation codes of the scans that were not usable (06, 07 ...).
    """

    buffer: int
    scans: int
    rejected: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of a 1:1 verify: ``matched``, the best ``score``, attempts used."""

    matched: bool
    score: int
    attempts_used: int

    def __bool__(self) -> bool:
        return self.matched


@dataclass(frozen=True, slots=True)
class IdentifyResult:
    """The outcome of a 1:N search: ``slot`` of the best match (None when nothing matched)."""

    slot: int | None
    score: int

    @property
    def matched(self) -> bool:
        return self.slot is not None

    def __bool__(self) -> bool:
        return self.matched


@dataclass(frozen=True, slots=True)
class SettingChange:
    """A SetSysPara the module acknowledged, and when it really applies.

    ``pending`` is True when the module keeps working with ``old`` until it is power-cycled
    (what the manuals say for baud rate and packet size, and for the security level on some
    firmware); ``note`` says so in plain words.
    """

    parameter: str
    old: int
    new: int
    pending: bool
    note: str = field(default="")

    def __str__(self) -> str:
        return f"{self.parameter}: {self.old} -> {self.new}. {self.note}"


@dataclass(frozen=True, slots=True)
class SensorReport:
    """``sensor-test``: the sensor self-check (where the model has one) and capture statistics."""

    sensor_ok: bool | None
    scans: int
    usable: int
    rejected: dict[int, int]
    image_mean: float | None = None
    image_contrast: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"sensor_ok": self.sensor_ok, "scans": self.scans, "usable": self.usable,
                "rejected": {f"0x{k:02X}": v for k, v in self.rejected.items()},
                "image_mean": self.image_mean, "image_contrast": self.image_contrast}
