"""FingerprintReader under faults injected by the simulator's runner: garbage, dropped and
corrupted bytes (resync and retry), lost replies to flash writes (never repeated), silence
(DeviceTimeoutError), unplug (TransportError), power cycles, passwords, module defects."""

from __future__ import annotations

import logging

import pytest

from drivers.fingerprint import (
    CaptureError,
    FingerprintReader,
    FingerTimeoutError,
    PasswordError,
    RetryScan,
    StorageError,
)
from drivers.transport import Transport
from fingerprint_helpers import ATTACH_POINTS, Customer, new_runner, open_reader
from protocol.ef01 import Instruction, build_data_frame, build_reply
from protocol.errors import ConfigurationError, DeviceTimeoutError, TransportError

FAST = {"timeout": 0.3}


@pytest.fixture
def runner():
    r = new_runner("r503", trace="1")
    try:
        yield r
    finally:
        r.stop()


def _commands(runner, events, name):
    return [e for e in events if e.get("event") == "trace" and e.get("dir") == "host->device"
            and e.get("instruction") == name]


@pytest.mark.parametrize("kind", ATTACH_POINTS)
def test_garbage_is_skipped_and_logged(kind, runner, tmp_path, caplog):
    with open_reader(kind, runner, tmp_path, **FAST) as reader:
        assert runner.command("fault garbage 64")["ok"]
        with caplog.at_level(logging.DEBUG, logger="drivers.fingerprint"):
            assert reader.template_count() == 0
        assert reader.stray_bytes > 0
        assert any("stray bytes" in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("fault", ["drop 4", "corrupt 3"])
def test_damaged_reply_to_a_read_is_retried(runner, tmp_path, fault):
    events = []
    runner.subscribe(events.append)
    with open_reader("loopback", runner, tmp_path, **FAST) as reader:
        assert runner.command(f"fault {fault}")["ok"]
        assert reader.parameters().capacity == 200
        assert len(_commands(runner, events, "READ_SYS_PARA")) >= 2   # connect's + a repeat
        # the stream is in step again afterwards
        assert reader.template_count() == 0 and reader.index() == set()


def test_split_delivery_is_reassembled(runner, tmp_path):
    with open_reader("loopback", runner, tmp_path, **FAST) as reader:
        assert runner.command("fault split 1")["ok"]
        assert reader.parameters().capacity == 200
        assert reader.read_notepad(0) == bytes(32)


def test_a_lost_reply_to_a_flash_write_is_not_repeated(runner, tmp_path):
    events = []
    runner.subscribe(events.append)
    with open_reader("loopback", runner, tmp_path, **FAST) as reader:
        reader.capture(on_event=Customer(runner, finger=1))       # features in buffer 1
        assert runner.command("fault corrupt 12")["ok"]           # the next acknowledge
        with pytest.raises(DeviceTimeoutError, match="not repeated automatically"):
            reader.execute(Instruction.STORE, {"buffer": 1, "slot": 3})
        assert len(_commands(runner, events, "STORE")) == 1
        runner.command("fault clear")
        # the module did store it; the driver tells the truth when asked
        assert reader.index() == {3}


def test_silence_raises_a_technicians_timeout(runner, tmp_path):
    with open_reader("loopback", runner, tmp_path, **FAST) as reader:
        assert runner.command("fault stall 30")["ok"]
        with pytest.raises(DeviceTimeoutError) as exc:
            reader.template_count()
        text = str(exc.value)
        assert "no reply from the fingerprint module on" in text
        assert "57600 baud, address FFFFFFFF" in text and "TX/RX crossed" in text
        assert isinstance(exc.value, TimeoutError)
        # the late replies released now are drained, not taken for the next answer
        runner.command("fault clear")
        assert reader.index() == set() and reader.template_count() == 0


def test_hung_module_times_out_and_recovers(runner, tmp_path):
    with open_reader("loopback", runner, tmp_path, **FAST) as reader:
        runner.command("defect busy")
        with pytest.raises(DeviceTimeoutError):
            reader.parameters()
        assert runner.command("defect clear")["ok"]
        assert runner.command("power-cycle")["ok"]
        reader.connect()
        assert reader.parameters().capacity == 200


@pytest.mark.parametrize("kind", ATTACH_POINTS)
def test_unplug_raises_transport_error(kind, tmp_path):
    runner = new_runner("r503")
    try:
        with open_reader(kind, runner, tmp_path, **FAST) as reader:
            assert reader.template_count() == 0
            assert runner.command("unplug")["ok"]
            with pytest.raises(TransportError, match="Check the cable|closed|unplugged"):
                reader.template_count()
    finally:
        runner.stop()


def test_power_up_byte_is_tolerated(runner, tmp_path):
    with open_reader("loopback", runner, tmp_path, **FAST) as reader:
        assert runner.command("power-cycle")["ok"]
        # the R503 sends 0x55 ~50 ms later; commands meanwhile are lost and retried
        assert reader.parameters().capacity == 200
        assert reader.template_count() == 0


def test_password_is_verified_and_reverified_after_power_cycle(tmp_path):
    runner = new_runner("r307", password="0x1234")
    try:
        with pytest.raises(PasswordError, match="protected by a password"):
            with open_reader("loopback", runner, tmp_path, **FAST):
                pass
        with pytest.raises(PasswordError, match="refused the password"):
            with open_reader("loopback", runner, tmp_path, password=0x1235, **FAST):
                pass
        with open_reader("loopback", runner, tmp_path, password=0x1234, **FAST) as reader:
            assert reader.parameters().password_verified
            assert runner.command("power-cycle")["ok"]      # the module locks again
            assert reader.index() == set()                   # 0x21 -> VfyPwd -> repeated
    finally:
        runner.stop()


def test_wrong_address_times_out_and_right_address_works(tmp_path):
    runner = new_runner("r503", address="0A0B0C0D")
    try:
        with pytest.raises(DeviceTimeoutError, match="address FFFFFFFF"):
            with open_reader("loopback", runner, tmp_path, **FAST):
                pass
        with open_reader("loopback", runner, tmp_path, address=0x0A0B0C0D, **FAST) as reader:
            assert reader.parameters().address == 0x0A0B0C0D
    finally:
        runner.stop()


def test_sensor_defect_is_reported(runner, tmp_path):
    with open_reader("loopback", runner, tmp_path, **FAST) as reader:
        runner.command("defect sensor")
        assert reader.check_sensor() is False
        customer = Customer(runner, finger=1)
        with pytest.raises(CaptureError) as exc:
            reader.capture(timeout=0.3, on_event=customer)
        assert exc.value.code == 0x03
        assert [e for e in customer.events if isinstance(e, RetryScan)] == [RetryScan.for_code(0x03)]
        report = reader.sensor_test(scans=2, timeout=0.2, on_event=customer)
        assert report.sensor_ok is False and report.usable == 0 and report.rejected == {0x03: 2}


def test_flash_defect_is_a_storage_error(runner, tmp_path):
    with open_reader("loopback", runner, tmp_path, **FAST) as reader:
        runner.command("defect flash")
        with pytest.raises(StorageError) as exc:
            reader.write_notepad(1, b"x")
        assert exc.value.code == 0x18 and "flash" in str(exc.value)
        with pytest.raises(StorageError):
            reader.clear()


def test_no_finger_is_a_finger_timeout(runner, tmp_path):
    with open_reader("loopback", runner, tmp_path, **FAST) as reader:
        with pytest.raises(FingerTimeoutError) as exc:
            reader.capture(timeout=0.2)
        assert exc.value.waiting_for == "place" and isinstance(exc.value, TimeoutError)
        runner.command("place 1 95")
        with pytest.raises(FingerTimeoutError) as exc:
            reader.wait_for_lift(timeout=0.2)
        assert exc.value.waiting_for == "lift"



@pytest.mark.parametrize("fault", ["corrupt 1", "corrupt 40", "drop 30"])
def test_damaged_upload_reply_is_repeated(runner, tmp_path, fault):
    with open_reader("loopback", runner, tmp_path, **FAST) as reader:
        runner.command("place 1 95")
        clean = reader.image()
        runner.command("lift")
        events = []
        runner.subscribe(events.append)
        # the fault hits the next bytes the module sends: the acknowledge of UpImage
        assert runner.command(f"fault {fault}")["ok"]
        again = reader.image(capture=False)
        assert again.tobytes() == clean.tobytes()
        assert len(_commands(runner, events, "UP_IMAGE")) == 2


class ScriptedModule(Transport):
    """A module played from a script: ReadSysPara answers at once; each UpImage gets the next
    prepared byte stream (acknowledge + data packets)."""

    description = "scripted module"

    def __init__(self, uploads: list[bytes]) -> None:
        self.uploads = list(uploads)
        self.pending = bytearray()
        self.up_image_commands = 0

    def write(self, data: bytes) -> None:
        opcode = data[9]
        if opcode == Instruction.READ_SYS_PARA:
            self.pending += build_reply(0xFFFFFFFF, Instruction.READ_SYS_PARA, 0, {
                "capacity": 1000, "security_level": 3, "device_address": 0xFFFFFFFF,
                "packet_size_code": 2, "baud_multiplier": 6})
        elif opcode == Instruction.UP_IMAGE:
            self.up_image_commands += 1
            self.pending += self.uploads.pop(0)

    def read(self, max_bytes: int, timeout: float) -> bytes:
        out = bytes(self.pending[:max_bytes])
        del self.pending[:max_bytes]
        return out

    def close(self) -> None:
        pass


def _upload_stream(image: bytes) -> bytes:
    ack = build_reply(0xFFFFFFFF, Instruction.UP_IMAGE, 0)
    chunks = [image[i:i + 128] for i in range(0, len(image), 128)]
    return ack + b"".join(build_data_frame(0xFFFFFFFF, c, n == len(chunks) - 1)
                          for n, c in enumerate(chunks))


def test_a_damaged_data_packet_in_the_middle_repeats_the_upload():
    """The receiver skips a packet with a bad checksum and the transfer would end one packet
    short; the reader notices the skipped bytes and repeats the whole upload."""
    image = bytes((i * 7) & 0xFF for i in range(256 * 288 // 2))
    good = _upload_stream(image)
    damaged = bytearray(good)
    damaged[12 + 139 * 100 + 20] ^= 0x10          # one bit in the data of packet 101
    module = ScriptedModule([bytes(damaged), good])
    with FingerprintReader.open(module, model="r307", timeout=0.2) as reader:
        picture = reader.image(capture=False)
    assert module.up_image_commands == 2
    assert picture.size == (256, 288)
    raw = bytes((a >> 4) << 4 | (b >> 4) for a, b in zip(picture.tobytes()[0::2], picture.tobytes()[1::2]))
    assert raw == image


def test_a_failed_open_releases_the_port():
    # the sim:// port owns its simulator: the leak check fails the test if it stays running
    with pytest.raises(DeviceTimeoutError, match="within"):
        FingerprintReader.open("sim://fingerprint?model=r503&address=01020304", timeout=0.2)
    with pytest.raises(TransportError, match="cannot open /dev/ttyNOSUCH"):
        FingerprintReader.open("/dev/ttyNOSUCH")
    with pytest.raises(ConfigurationError):
        FingerprintReader.open("nosuchscheme://x")
    with pytest.raises(ConfigurationError, match="address"):
        FingerprintReader.open("sim://fingerprint", address=-1)


def test_closed_reader_refuses_politely():
    reader = FingerprintReader.open("sim://fingerprint?model=r503")
    reader.close()
    reader.close()                                   # idempotent
    with pytest.raises(TransportError, match="is closed"):
        reader.template_count()


class MismatchedLine(Transport):
    """A UART between host and module: bytes cross intact only when both ends use the same
    baud rate; otherwise the receiver sees garbage (as a real mismatched line does)."""

    def __init__(self, inner: Transport, module_baud: int) -> None:
        self.inner = inner
        self.module_baud = module_baud
        self.baudrate = 57600
        self.description = "mismatched line"

    def set_baudrate(self, baudrate: int) -> None:
        self.baudrate = baudrate

    def _garble(self, data: bytes) -> bytes:
        return data if self.baudrate == self.module_baud else bytes(b ^ 0x5A for b in data)

    def write(self, data: bytes) -> None:
        self.inner.write(self._garble(data))

    def read(self, max_bytes: int, timeout: float) -> bytes:
        return self._garble(self.inner.read(max_bytes, timeout))

    def close(self) -> None:
        self.inner.close()


def test_wrong_baud_rate_is_diagnosed_and_detected(tmp_path):
    runner = new_runner("r503")
    try:
        line = MismatchedLine(runner.loopback(), module_baud=19200)
        with pytest.raises(DeviceTimeoutError, match="baud rate is probably wrong"):
            FingerprintReader.open(line, timeout=0.3)
        assert FingerprintReader.detect_baudrate(line, baudrates=(57600, 115200, 19200)) == 19200
        with FingerprintReader.open(line, baudrate=19200, close_transport=True) as reader:
            assert reader.template_count() == 0 and reader.baudrate == 19200
    finally:
        runner.stop()
