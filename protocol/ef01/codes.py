"""EF01 code tables: instructions, confirmation codes, per-model opcode tables, reply sizes.

Everything here is data, so the schemas, the connection, the simulator and the docs all read
the same tables.  Facts come from /work/shared/reference/fingerprint-module-protocol.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

__all__ = [
    "PacketId",
    "Instruction",
    "Confirmation",
    "SysParam",
    "ConfirmationInfo",
    "CONFIRMATIONS",
    "describe_confirmation",
    "OpcodeTable",
    "OPCODE_TABLES",
    "opcode_table",
    "REPLY_PAYLOAD_SIZE",
    "reply_content_size",
    "UPLOAD_INSTRUCTIONS",
    "DOWNLOAD_INSTRUCTIONS",
    "PACKET_SIZES",
    "packet_size_from_code",
    "packet_code_from_size",
    "REPLY_TIME",
    "HANDSHAKE_BYTE",
    "DEFAULT_ADDRESS",
    "DEFAULT_BAUDRATE",
]

#: the single raw byte R503-class modules send after power-up and after SoftRst
HANDSHAKE_BYTE = 0x55
DEFAULT_ADDRESS = 0xFFFFFFFF
DEFAULT_BAUDRATE = 57600

#: data packet content sizes by system parameter 6 (packet size code 0..3)
PACKET_SIZES: tuple[int, ...] = (32, 64, 128, 256)


def packet_size_from_code(code: int) -> int:
    """32/64/128/256 for packet size code 0..3 (ValueError otherwise)."""
    if not 0 <= code < len(PACKET_SIZES):
        raise ValueError(f"packet size code must be 0..3, not {code}")
    return PACKET_SIZES[code]


def packet_code_from_size(size: int) -> int:
    """0..3 for a data packet size of 32/64/128/256 bytes (ValueError otherwise)."""
    try:
        return PACKET_SIZES.index(size)
    except ValueError:
        raise ValueError(f"data packet size must be one of {PACKET_SIZES}, not {size}") from None


class PacketId(enum.IntEnum):
    """Packet identifier (byte 6 of every frame)."""

    COMMAND = 0x01
    DATA = 0x02
    ACK = 0x07
    END_DATA = 0x08


class Instruction(enum.IntEnum):
    """Instructions by their standard (ZFM/R30x) opcode.

    A model's firmware may put an instruction at another opcode or leave it out: see
    :class:`OpcodeTable`.  HANDSHAKE is 0x40 on R503 but 0x35 on some AS608 firmware.
    """

    GEN_IMG = 0x01
    IMG2TZ = 0x02
    MATCH = 0x03
    SEARCH = 0x04
    REG_MODEL = 0x05
    STORE = 0x06
    LOAD_CHAR = 0x07
    UP_CHAR = 0x08
    DOWN_CHAR = 0x09
    UP_IMAGE = 0x0A
    DOWN_IMAGE = 0x0B
    DELETE_CHAR = 0x0C
    EMPTY = 0x0D
    SET_SYS_PARA = 0x0E
    READ_SYS_PARA = 0x0F
    SET_PWD = 0x12
    VFY_PWD = 0x13
    GET_RANDOM_CODE = 0x14
    SET_ADDER = 0x15
    READ_INF_PAGE = 0x16
    PORT_CONTROL = 0x17
    WRITE_NOTEPAD = 0x18
    READ_NOTEPAD = 0x19
    HIGH_SPEED_SEARCH = 0x1B
    TEMPLATE_NUM = 0x1D
    READ_INDEX_TABLE = 0x1F
    GET_IMAGE_EX = 0x28
    AURA_LED_CONFIG = 0x35
    CHECK_SENSOR = 0x36
    GET_ALG_VER = 0x39
    GET_FW_VER = 0x3A
    READ_PROD_INFO = 0x3C
    SOFT_RST = 0x3D
    HANDSHAKE = 0x40
    GET_ECHO = 0x53


class SysParam(enum.IntEnum):
    """SetSysPara register numbers."""

    BAUD = 4            # value N: baud = 9600 * N, N 1..12
    SECURITY = 5        # value 1..5
    PACKET_SIZE = 6     # value 0..3 -> 32/64/128/256 bytes


class Confirmation(enum.IntEnum):
    """Confirmation codes (first content byte of every acknowledge)."""

    OK = 0x00
    PACKET_ERROR = 0x01
    NO_FINGER = 0x02
    CAPTURE_FAILED = 0x03
    TOO_DRY = 0x04
    TOO_WET = 0x05
    IMAGE_MESSY = 0x06
    TOO_FEW_POINTS = 0x07
    NO_MATCH = 0x08
    NOT_FOUND = 0x09
    MERGE_FAILED = 0x0A
    BAD_SLOT = 0x0B
    TEMPLATE_READ_ERROR = 0x0C
    TEMPLATE_UPLOAD_ERROR = 0x0D
    DATA_RECEIVE_ERROR = 0x0E
    IMAGE_UPLOAD_ERROR = 0x0F
    DELETE_FAILED = 0x10
    CLEAR_FAILED = 0x11
    WRONG_PASSWORD = 0x13
    NO_PRIMARY_IMAGE = 0x15
    RESIDUAL_PRINT = 0x17
    FLASH_ERROR = 0x18
    UNDEFINED_ERROR = 0x19
    BAD_REGISTER = 0x1A
    BAD_REGISTER_CONFIG = 0x1B
    BAD_NOTEPAD_PAGE = 0x1C
    PORT_FAILED = 0x1D
    LIBRARY_FULL = 0x1F
    ADDRESS_WRONG = 0x20
    PASSWORD_REQUIRED = 0x21
    LIBRARY_EMPTY = 0x24
    TIMEOUT = 0x26
    ALREADY_ENROLLED = 0x27
    SENSOR_FAULT = 0x29
    ALIVE = 0x55
    UNSUPPORTED = 0xFC
    HARDWARE_ERROR = 0xFD
    COMMAND_FAILED = 0xFE


@dataclass(frozen=True, slots=True)
class ConfirmationInfo:
    """What a confirmation code means and what a person at the counter should do."""

    code: int
    meaning: str
    action: str


_C = Confirmation
_INFO: dict[int, tuple[str, str]] = {
    _C.OK: ("command executed", "nothing to do"),
    _C.PACKET_ERROR: ("the module did not receive the command packet correctly (or does not know "
                      "the instruction)",
                      "retry; if it persists check wiring, baud rate and the module model"),
    _C.NO_FINGER: ("no finger on the sensor", "ask the customer to place a finger flat on the sensor"),
    _C.CAPTURE_FAILED: ("the fingerprint could not be captured",
                        "ask the customer to lift and place the finger again, pressing evenly"),
    _C.TOO_DRY: ("the finger is too dry or the image too light",
                 "ask the customer to breathe on or moisten the fingertip and try again"),
    _C.TOO_WET: ("the finger is too wet or the image too dark",
                 "ask the customer to dry the finger; wipe the sensor window"),
    _C.IMAGE_MESSY: ("the image is too messy to read features from",
                     "wipe the sensor, ask the customer to place the finger again, centred and still"),
    _C.TOO_FEW_POINTS: ("too few feature points: the print is small, partial or poor",
                        "ask the customer to press the finger flat, covering the whole window"),
    _C.NO_MATCH: ("the two fingerprints do not match", "try again, or use another finger or method"),
    _C.NOT_FOUND: ("no matching fingerprint in the library", "try again; the finger may not be enrolled"),
    _C.MERGE_FAILED: ("the captures could not be merged into one template (not the same finger?)",
                      "restart enrollment using the same finger each time"),
    _C.BAD_SLOT: ("the slot number is outside the library", "use a slot below the library capacity"),
    _C.TEMPLATE_READ_ERROR: ("the slot is empty or its template is invalid",
                             "check the slot number; enroll the finger again"),
    _C.TEMPLATE_UPLOAD_ERROR: ("the template could not be uploaded",
                               "retry; check the data packet size and the line quality"),
    _C.DATA_RECEIVE_ERROR: ("the module cannot receive the following data packets",
                            "retry with the module's data packet size; check the line"),
    _C.IMAGE_UPLOAD_ERROR: ("the image could not be uploaded", "capture again, then retry the upload"),
    _C.DELETE_FAILED: ("deleting the template(s) failed", "retry; if it persists the flash may be worn"),
    _C.CLEAR_FAILED: ("clearing the library failed", "retry; if it persists the flash may be worn"),
    _C.WRONG_PASSWORD: ("wrong module password", "use the password configured for this module"),
    _C.NO_PRIMARY_IMAGE: ("no valid image in the image buffer", "capture an image first (GenImg)"),
    _C.RESIDUAL_PRINT: ("residual print or the finger did not move between captures",
                        "ask the customer to lift the finger and place it again; wipe the window"),
    _C.FLASH_ERROR: ("error writing the module's flash memory",
                     "retry; if it persists replace the module"),
    _C.UNDEFINED_ERROR: ("undefined error reported by the module", "retry; power-cycle the module"),
    _C.BAD_REGISTER: ("invalid register number", "use register 4 (baud), 5 (security) or 6 (packet size)"),
    _C.BAD_REGISTER_CONFIG: ("invalid value for the register", "check the allowed range of the setting"),
    _C.BAD_NOTEPAD_PAGE: ("notepad page number is wrong", "use a page number 0..15"),
    _C.PORT_FAILED: ("the communication port operation failed", "retry; power-cycle the module"),
    _C.LIBRARY_FULL: ("the fingerprint library is full", "delete unused templates first"),
    _C.ADDRESS_WRONG: ("the module address is wrong", "use the module's configured address"),
    _C.PASSWORD_REQUIRED: ("the password must be verified first",
                           "send the module's password (VfyPwd) before other commands"),
    _C.LIBRARY_EMPTY: ("the fingerprint library is empty", "enroll fingers first"),
    _C.TIMEOUT: ("the module timed out waiting", "retry and have the customer place the finger in time"),
    _C.ALREADY_ENROLLED: ("this fingerprint is already enrolled", "use the existing enrollment"),
    _C.SENSOR_FAULT: ("the sensor is faulty", "power-cycle the module; if it persists replace it"),
    _C.ALIVE: ("the module is alive (echo)", "nothing to do"),
    _C.UNSUPPORTED: ("this module does not support the command",
                     "check the module model; use a supported command"),
    _C.HARDWARE_ERROR: ("hardware error in the module", "power-cycle the module; if it persists replace it"),
    _C.COMMAND_FAILED: ("the command failed", "retry; power-cycle the module if it persists"),
}

#: every known confirmation code -> its plain meaning and the action to take
CONFIRMATIONS: Mapping[int, ConfirmationInfo] = MappingProxyType(
    {int(code): ConfirmationInfo(int(code), m, a) for code, (m, a) in _INFO.items()}
)


def describe_confirmation(code: int) -> ConfirmationInfo:
    """Meaning and advice for any code, also one no manual lists."""
    info = CONFIRMATIONS.get(code)
    if info is None:
        return ConfirmationInfo(code, f"unknown confirmation code 0x{code:02X}",
                                "check the module model and firmware; power-cycle the module")
    return info


#: payload bytes after the confirmation code in the acknowledge of each instruction
REPLY_PAYLOAD_SIZE: Mapping[Instruction, int] = MappingProxyType({
    **{ins: 0 for ins in Instruction},
    Instruction.MATCH: 2,
    Instruction.SEARCH: 4,
    Instruction.HIGH_SPEED_SEARCH: 4,
    Instruction.READ_SYS_PARA: 16,
    Instruction.GET_RANDOM_CODE: 4,
    Instruction.READ_NOTEPAD: 32,
    Instruction.TEMPLATE_NUM: 2,
    Instruction.READ_INDEX_TABLE: 32,
    Instruction.GET_ALG_VER: 32,
    Instruction.GET_FW_VER: 32,
    Instruction.READ_PROD_INFO: 46,
})


def reply_content_size(instruction: Instruction | int) -> int:
    """Content bytes (confirmation code + payload) of the acknowledge; fixed per instruction."""
    if isinstance(instruction, Instruction):
        return 1 + REPLY_PAYLOAD_SIZE[instruction]
    return 1


#: after an OK ack, the module sends data packets
UPLOAD_INSTRUCTIONS = frozenset({Instruction.UP_CHAR, Instruction.UP_IMAGE, Instruction.READ_INF_PAGE})
#: after an OK ack, the host sends data packets and the module answers nothing
DOWNLOAD_INSTRUCTIONS = frozenset({Instruction.DOWN_CHAR, Instruction.DOWN_IMAGE})

#: processing time budget (seconds) before the acknowledge starts, from the data sheets with
#: margin (capture < 0.5-1 s, search < 1 s over 1000, flash writes); wire time is added separately
REPLY_TIME: Mapping[Instruction, float] = MappingProxyType({
    **{ins: 0.5 for ins in Instruction},
    Instruction.GEN_IMG: 1.0,
    Instruction.GET_IMAGE_EX: 1.0,
    Instruction.IMG2TZ: 1.0,
    Instruction.REG_MODEL: 1.0,
    Instruction.SEARCH: 1.5,
    Instruction.HIGH_SPEED_SEARCH: 1.5,
    Instruction.STORE: 1.0,
    Instruction.DELETE_CHAR: 1.0,
    Instruction.EMPTY: 2.0,
    Instruction.WRITE_NOTEPAD: 1.0,
    Instruction.SET_SYS_PARA: 1.0,
    Instruction.SET_PWD: 1.0,
    Instruction.SET_ADDER: 1.0,
    Instruction.SOFT_RST: 1.0,
})


@dataclass(frozen=True)
class OpcodeTable:
    """Which instructions a model's firmware has, and at which opcodes.

    ``decode(opcode)`` -> Instruction or None (unsupported); ``encode(instruction)`` -> opcode
    (LookupError if this firmware lacks it).  ``unsupported_code`` is what the firmware
    answers to an opcode it does not know.
    """

    name: str
    opcodes: Mapping[int, Instruction]
    unsupported_code: int = Confirmation.PACKET_ERROR
    _reverse: dict[Instruction, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        reverse: dict[Instruction, int] = {}
        for op, ins in self.opcodes.items():
            reverse.setdefault(ins, op)
        object.__setattr__(self, "opcodes", MappingProxyType(dict(self.opcodes)))
        object.__setattr__(self, "_reverse", reverse)

    def decode(self, opcode: int) -> Instruction | None:
        return self.opcodes.get(opcode)

    def encode(self, instruction: Instruction | int) -> int:
        if not isinstance(instruction, Instruction):
            return int(instruction)  # a raw opcode the caller chose
        try:
            return self._reverse[instruction]
        except KeyError:
            raise LookupError(f"the {self.name} firmware has no {instruction.name} instruction") from None

    def supports(self, instruction: Instruction) -> bool:
        return instruction in self._reverse

    @property
    def instructions(self) -> frozenset[Instruction]:
        return frozenset(self._reverse)


_I = Instruction
# ZFM-20/60, R305/R307, FPM10A: the classic set, GetEcho 0x53, PortControl 0x17.
_ZFM = {ins.value: ins for ins in (
    _I.GEN_IMG, _I.IMG2TZ, _I.MATCH, _I.SEARCH, _I.REG_MODEL, _I.STORE, _I.LOAD_CHAR, _I.UP_CHAR,
    _I.DOWN_CHAR, _I.UP_IMAGE, _I.DOWN_IMAGE, _I.DELETE_CHAR, _I.EMPTY, _I.SET_SYS_PARA,
    _I.READ_SYS_PARA, _I.SET_PWD, _I.VFY_PWD, _I.GET_RANDOM_CODE, _I.SET_ADDER, _I.READ_INF_PAGE,
    _I.PORT_CONTROL, _I.WRITE_NOTEPAD, _I.READ_NOTEPAD, _I.HIGH_SPEED_SEARCH, _I.TEMPLATE_NUM,
    _I.READ_INDEX_TABLE, _I.GET_ECHO)}
# R503 (Hangzhou Grow): no HighSpeedSearch, no PortControl, no GetEcho; 0x35 Aura LED,
# 0x36 CheckSensor, 0x40 HandShake, GetImageEx, ReadProdInfo, versions, SoftRst.
_R503 = {op: ins for op, ins in _ZFM.items()
         if ins not in (_I.HIGH_SPEED_SEARCH, _I.PORT_CONTROL, _I.GET_ECHO)}
_R503.update({ins.value: ins for ins in (
    _I.GET_IMAGE_EX, _I.AURA_LED_CONFIG, _I.CHECK_SENSOR, _I.GET_ALG_VER, _I.GET_FW_VER,
    _I.READ_PROD_INFO, _I.SOFT_RST, _I.HANDSHAKE)})
# AS608 (Synochip): the ZFM set; 0x35 is HandShake and 0x36 CheckSensor on this firmware; SoftRst.
_AS608 = {op: ins for op, ins in _ZFM.items() if ins is not _I.GET_ECHO}
_AS608.update({0x35: _I.HANDSHAKE, 0x36: _I.CHECK_SENSOR, 0x3D: _I.SOFT_RST})

#: opcode tables by model profile name
OPCODE_TABLES: Mapping[str, OpcodeTable] = MappingProxyType({
    "r307": OpcodeTable("r307", _ZFM, Confirmation.PACKET_ERROR),
    "r503": OpcodeTable("r503", _R503, Confirmation.UNSUPPORTED),
    "as608": OpcodeTable("as608", _AS608, Confirmation.PACKET_ERROR),
    # every instruction at its standard opcode: for hosts that do not know the model yet
    "standard": OpcodeTable("standard", {ins.value: ins for ins in Instruction}, Confirmation.UNSUPPORTED),
})


def opcode_table(model: str | OpcodeTable) -> OpcodeTable:
    """The opcode table of a model name ("r307", "r503", "as608", "standard")."""
    if isinstance(model, OpcodeTable):
        return model
    try:
        return OPCODE_TABLES[model.lower()]
    except KeyError:
        raise ValueError(f"unknown module model {model!r}; known: {', '.join(OPCODE_TABLES)}") from None
