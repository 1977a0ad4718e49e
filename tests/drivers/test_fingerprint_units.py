"""FingerprintReader pieces that need no finger: error families for every confirmation code,
event texts, results, argument checking (bad arguments never reach the wire)."""

from __future__ import annotations

import pytest

from drivers.fingerprint import (
    AlreadyEnrolledError,
    CaptureError,
    EmptySlotError,
    FingerDetected,
    FingerLifted,
    FingerprintError,
    FingerprintReader,
    LibraryEmptyError,
    LibraryFullError,
    LiftFinger,
    Matched,
    MergeError,
    NoMatch,
    PacketError,
    PasswordError,
    PlaceFinger,
    PresentSubject,
    RemoveSubject,
    RetryScan,
    SensorError,
    SettingError,
    SlotError,
    StagePassed,
    StorageError,
    SubjectDetected,
    SubjectRemoved,
    Template,
    TransferError,
    UnsupportedError,
    VerifyResult,
    IdentifyResult,
    error_for_code,
)
from fingerprint_helpers import new_runner, open_reader
from drivers.transport import Transport
from protocol.ef01 import CONFIRMATIONS
from protocol.errors import ConfigurationError, DeviceError


@pytest.mark.parametrize("code", sorted(c for c in CONFIRMATIONS if c not in (0x00, 0x55)))
def test_every_confirmation_code_is_a_typed_error_with_a_plain_message(code):
    info = CONFIRMATIONS[code]
    error = error_for_code(code, info.meaning, instruction="Store", where="/dev/ttyUSB0",
                           action=info.action)
    assert isinstance(error, FingerprintError) and isinstance(error, DeviceError)
    assert error.code == code and error.meaning == info.meaning
    text = str(error)
    assert text.startswith("Store refused by the fingerprint module on /dev/ttyUSB0")
    assert f"code 0x{code:02X}" in text and info.meaning in text


@pytest.mark.parametrize("code, family", [
    (0x01, PacketError), (0x03, CaptureError), (0x06, CaptureError), (0x07, CaptureError),
    (0x0A, MergeError), (0x0B, SlotError), (0x0C, EmptySlotError), (0x1F, LibraryFullError),
    (0x24, LibraryEmptyError), (0x27, AlreadyEnrolledError), (0x13, PasswordError),
    (0x21, PasswordError), (0x0E, TransferError), (0x18, StorageError), (0x1A, SettingError),
    (0x1C, SettingError), (0x29, SensorError), (0xFC, UnsupportedError), (0x99, FingerprintError),
])
def test_code_families(code, family):
    error = error_for_code(code, "meaning")
    assert type(error) is family
    assert f"code 0x{code:02X}, meaning." in str(error)


def test_empty_slot_is_a_slot_error_and_codes_without_action_get_family_advice():
    assert issubclass(EmptySlotError, SlotError)
    assert "Enroll a finger first" in str(error_for_code(0x24, "library empty"))


def test_event_vocabulary():
    assert PresentSubject is PlaceFinger and SubjectDetected is FingerDetected
    assert RemoveSubject is LiftFinger and SubjectRemoved is FingerLifted
    assert str(PlaceFinger(2, 3)) == "Place your finger on the sensor (2 of 3)."
    assert str(PlaceFinger()) == "Place your finger on the sensor."
    assert StagePassed(1, 2).status == "enroll-stage-passed"
    assert NoMatch(1, 3).status == "verify-no-match" and "2 attempt(s) left" in str(NoMatch(1, 3))
    assert RetryScan.for_code(0x07).reason == "verify-finger-not-centered"
    assert RetryScan.for_code(0x06).reason == "verify-retry-scan"
    assert RetryScan.for_code(0x17).reason == "verify-remove-and-retry"
    with pytest.raises(AttributeError):
        PlaceFinger().stage = 3                    # frozen


def test_results(tmp_path):
    template = Template(b"\x01\x02" * 256, slot=4, captures=2)
    assert bytes(template) == template.data and len(template) == 512
    template.save(tmp_path / "t.bin")
    assert Template.load(tmp_path / "t.bin").data == template.data
    assert "512 bytes" in repr(template)
    assert not VerifyResult(False, 10, 3) and VerifyResult(True, 80, 1)
    assert not IdentifyResult(None, 0) and IdentifyResult(5, 90).matched


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    runner = new_runner("r503")
    try:
        with open_reader("loopback", runner, tmp_path_factory.mktemp("fp")) as reader:
            yield reader
    finally:
        runner.stop()


@pytest.mark.parametrize("call, match", [
    (lambda r: r.enroll(captures=1), "at least 2 captures"),
    (lambda r: r.enroll(slot=-1), "slot"),
    (lambda r: r.verify(b"x", attempts=0), "attempts"),
    (lambda r: r.verify(1.5), "Template, template bytes or a slot"),
    (lambda r: r.identify(attempts=0), "attempts"),
    (lambda r: r.delete(3, count=0), "count"),
    (lambda r: r.write_notepad(0, bytes(33)), "32 bytes"),
    (lambda r: r.read_notepad(-1), "notepad page"),
    (lambda r: r.set_security_level(6), "1..5"),
    (lambda r: r.set_packet_size(100), "packet size"),
    (lambda r: r.set_baudrate(12345), "9600 x N"),
    (lambda r: r.led("disco"), "LED mode"),
    (lambda r: r.led("on", "ultraviolet"), "LED colour"),
    (lambda r: r.import_template(b""), "template is 0 bytes"),
])
def test_bad_arguments_are_configuration_errors(reader, call, match):
    with pytest.raises(ConfigurationError, match=match):
        call(reader)
    assert reader.template_count() == 0            # the link is still in step


def test_constructor_checks():
    from drivers.transport import loopback_pair
    host, _device = loopback_pair()
    for kwargs, match in [({"address": 1 << 32}, "address"), ({"password": -1}, "password"),
                          ({"timeout": 0}, "timeout"), ({"retries": -1}, "retries"),
                          ({"model": "r999"}, "unknown module model"),
                          ({"baudrate": 1234}, "9600 x N")]:
        with pytest.raises(ConfigurationError, match=match):
            FingerprintReader(host, **kwargs)
    host.close()


@pytest.mark.parametrize("kwargs, match", [
    ({"baudrate": 1234}, "9600 x N"), ({"address": "zz"}, "address"), ({"password": -1}, "password"),
])
def test_open_refuses_bad_link_options_before_touching_the_port(kwargs, match):
    """A misspelt option is the caller's mistake, said at once: before a port is opened (a
    missing port would otherwise be reported instead) and not as a module that 'does not answer'
    at 1234 baud."""
    with pytest.raises(ConfigurationError, match=match):
        FingerprintReader.open("/nonexistent/ttyFP0", **kwargs)


class ScriptedExchange(Transport):
    """Replays a conversation byte for byte: each write must be the next expected command (hex
    from the reference), and is answered with the recorded reply."""

    description = "recorded conversation"

    def __init__(self, script: list[tuple[str, str]]) -> None:
        self.script = [(bytes.fromhex(c.replace(" ", "")), bytes.fromhex(r.replace(" ", "")))
                       for c, r in script]
        self.pending = bytearray()

    def write(self, data: bytes) -> None:
        assert self.script, f"unexpected command {data.hex().upper()}"
        expected, reply = self.script.pop(0)
        assert data == expected, f"sent {data.hex().upper()}, expected {expected.hex().upper()}"
        self.pending += reply

    def read(self, max_bytes: int, timeout: float) -> bytes:
        out = bytes(self.pending[:max_bytes])
        del self.pending[:max_bytes]
        return out

    def close(self) -> None:
        pass


# frames from /work/shared/reference/fingerprint-module-protocol.md (examples and published
# R503 replies); ReadSysPara's command frame follows from the packet rules
READ_SYS_PARA = "EF01 FFFFFFFF 01 0003 0F 0013"
R503_SYS_PARA = "EF01 FFFFFFFF 07 0013 00 0004 0000 00C8 0003 FFFFFFFF 0002 0006 04ED"
GEN_IMG = "EF01 FFFFFFFF 01 0003 01 0005"
IMG2TZ_1 = "EF01 FFFFFFFF 01 0004 02 01 0008"
SEARCH_1_0_1000 = "EF01 FFFFFFFF 01 0008 04 01 0000 03E8 00F9"
ACK_OK = "EF01 FFFFFFFF 07 0003 00 000A"
ACK_NO_FINGER = "EF01 FFFFFFFF 07 0003 02 000C"
R503_SEARCH_HIT = "EF01 FFFFFFFF 07 0007 00 0001 0060 006F"
SEARCH_MISS = "EF01 FFFFFFFF 07 0007 09 0000 0000 0017"


def test_the_driver_speaks_the_reference_byte_for_byte():
    line = ScriptedExchange([
        (READ_SYS_PARA, R503_SYS_PARA), (READ_SYS_PARA, R503_SYS_PARA),
        (GEN_IMG, ACK_NO_FINGER), (GEN_IMG, ACK_OK), (IMG2TZ_1, ACK_OK),
        (SEARCH_1_0_1000, R503_SEARCH_HIT),
        (GEN_IMG, ACK_OK), (IMG2TZ_1, ACK_OK), (SEARCH_1_0_1000, SEARCH_MISS),
    ])
    reader = FingerprintReader.open(line, poll_interval=0)
    params = reader.parameters()
    assert (params.status, params.capacity, params.security_level) == (0x0004, 200, 3)
    assert (params.address, params.packet_size, params.baudrate) == (0xFFFFFFFF, 128, 57600)
    events = []
    assert reader.identify(count=1000, on_event=events.append) == IdentifyResult(1, 96)
    assert [type(e) for e in events] == [PlaceFinger, FingerDetected, Matched]
    assert reader.identify(count=1000) == IdentifyResult(None, 0)
    assert line.script == []


@pytest.mark.parametrize("model, size", [("r307", 512), ("r503", 1536)])
def test_a_template_of_the_wrong_size_is_refused_before_it_reaches_the_module(model, size):
    from drivers import ConfigurationError, FingerprintReader

    with FingerprintReader.open(f"sim://fingerprint?model={model}") as reader:
        for bad in (b"xx", bytes(size - 1), bytes(size + 1)):
            with pytest.raises(ConfigurationError, match=f"uses {size}-byte templates"):
                reader.verify(bad)
            with pytest.raises(ConfigurationError, match=f"uses {size}-byte templates"):
                reader.import_template(bad, slot=0)
        assert reader.index() == set()          # nothing was stored
