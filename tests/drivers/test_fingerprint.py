"""FingerprintReader contract suite: the same driver tests over every attach point
(in-process loopback, sim:// URL, pty, TCP socket://) against the simulated EF01 module."""

from __future__ import annotations

import pytest

from drivers import FingerprintReader as ExportedReader
from drivers.fingerprint import (
    AlreadyEnrolledError,
    CaptureError,
    EmptySlotError,
    EnrollCompleted,
    FingerDetected,
    FingerLifted,
    FingerprintReader,
    LiftFinger,
    Matched,
    NoMatch,
    PlaceFinger,
    RetryScan,
    SlotError,
    StagePassed,
    Template,
    UnsupportedError,
)
from fingerprint_helpers import ATTACH_POINTS, Customer, new_runner, open_reader
from drivers.transport import Transport
from protocol.errors import DeviceError


@pytest.fixture(params=ATTACH_POINTS)
def rig(request, tmp_path):
    runner = new_runner("r503")
    try:
        with open_reader(request.param, runner, tmp_path) as reader:
            yield reader, runner
    finally:
        runner.stop()


def test_exported_from_drivers():
    assert ExportedReader is FingerprintReader


def test_info_reports_the_module(rig):
    reader, _ = rig
    info = reader.info()
    assert info.model == "R503"
    assert info.capacity == 200
    assert info.template_count == 0
    assert info.security_level == 3
    assert info.packet_size == 128
    assert info.baudrate == 57600
    assert info.address == 0xFFFFFFFF
    assert (info.image_width, info.image_height) == (192, 192)
    assert info.product is not None and info.product.library_size == 200
    assert info.firmware and info.algorithm
    assert info.has_aura_led
    assert info.to_dict()["address"] == "FFFFFFFF"
    assert "R503" in str(info)
    assert reader.index() == set()


def test_enroll_verify_identify(rig):
    reader, runner = rig
    alice = Customer(runner, finger=1)
    template = reader.enroll(slot=4, on_event=alice)
    assert isinstance(template, Template) and template.slot == 4 and len(template) == 1536
    kinds = [type(e) for e in alice.events]
    # the enrollment dialogue: place, detected, stage 1, lift, lifted, place, detected, stage 2, done
    assert kinds == [PlaceFinger, FingerDetected, StagePassed, LiftFinger, FingerLifted,
                     PlaceFinger, FingerDetected, StagePassed, EnrollCompleted]
    assert alice.events[0] == PlaceFinger(1, 2) and alice.events[-1] == EnrollCompleted(4)
    assert reader.index() == {4} and reader.template_count() == 1
    runner.command("lift")

    result = reader.verify(template, on_event=alice)
    assert result.matched and result.attempts_used == 1 and result.score > 0
    runner.command("lift")
    assert reader.verify(4, on_event=alice).matched      # against the stored slot as well
    runner.command("lift")

    mallory = Customer(runner, finger=2)
    result = reader.verify(template, attempts=2, on_event=mallory)
    assert not result.matched and result.attempts_used == 2
    misses = [e for e in mallory.events if isinstance(e, NoMatch)]
    assert [(e.attempt, e.attempts) for e in misses] == [(1, 2), (2, 2)]
    assert FingerLifted() in mallory.events          # lifted between the two attempts
    runner.command("lift")

    found = reader.identify(attempts=3, on_event=Customer(runner, finger=1))
    assert found.matched and found.slot == 4
    runner.command("lift")
    nobody = Customer(runner, finger=2)
    result = reader.identify(on_event=nobody)
    assert result.slot is None and not result
    assert isinstance(nobody.events[-1], NoMatch)
    assert any(isinstance(e, Matched) for e in alice.events)


def test_enroll_refuses_a_duplicate_and_an_occupied_slot(rig):
    reader, runner = rig
    reader.enroll(slot=0, on_event=Customer(runner, finger=1))
    runner.command("lift")
    with pytest.raises(AlreadyEnrolledError) as exc:
        reader.enroll(slot=1, on_event=Customer(runner, finger=1))
    assert exc.value.slot == 0 and "already enrolled in slot 0" in str(exc.value)
    runner.command("lift")
    with pytest.raises(SlotError, match="already holds a template"):
        reader.enroll(slot=0, on_event=Customer(runner, finger=2))
    assert reader.index() == {0}


def test_template_round_trip_is_byte_identical(rig):
    reader, runner = rig
    exported = reader.enroll(on_event=Customer(runner, finger=3))     # export only, no slot
    assert exported.slot is None and reader.index() == set()
    stored = reader.import_template(exported, slot=9)
    assert stored.slot == 9 and reader.index() == {9}
    assert reader.export_template(9).data == exported.data
    # straight through a RAM buffer too
    reader.import_template(exported.data, buffer=2)
    assert reader.export_template(buffer=2).data == exported.data
    runner.command("lift")
    assert reader.verify(exported, on_event=Customer(runner, finger=3)).matched


def test_image_upload_with_progress(rig, tmp_path):
    reader, runner = rig
    seen: list[tuple[int, int | None]] = []
    image = reader.image(on_event=Customer(runner, finger=1), progress=lambda d, t: seen.append((d, t)))
    assert image.size == (192, 192) and image.mode == "L"
    assert seen[-1] == (192 * 192 // 2, 192 * 192 // 2)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) == 192 * 192 // 2 // 128
    # a fingerprint, not a blank: dark ridges and light background both present
    lo, hi = image.getextrema()
    assert lo < 100 and hi > 200
    path = tmp_path / "finger.png"
    image.save(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_library_management_and_notepad(rig):
    reader, runner = rig
    template = reader.enroll(on_event=Customer(runner, finger=1))
    for slot in (0, 1, 2, 150):
        reader.import_template(template, slot=slot)
    assert reader.index() == {0, 1, 2, 150} and reader.template_count() == 4
    reader.delete(1, count=2)
    assert reader.index() == {0, 150}
    assert reader.first_free_slot() == 1
    reader.clear()
    assert reader.index() == set() and reader.template_count() == 0
    reader.write_notepad(3, b"branch 0042")
    assert reader.read_notepad(3) == b"branch 0042".ljust(32, b"\x00")


def test_refusals_are_typed(rig):
    reader, _ = rig
    with pytest.raises(EmptySlotError) as exc:
        reader.verify(7)
    assert exc.value.code == 0x0C and "LoadChar refused" in str(exc.value)
    with pytest.raises(SlotError) as exc:
        reader.export_template(500)
    assert exc.value.code == 0x0B
    with pytest.raises(DeviceError):
        reader.read_notepad(16)


def test_led_and_sensor_check(rig):
    reader, _ = rig
    reader.led("flashing", "purple", speed=20, cycles=3)
    assert reader.check_sensor() is True


def test_packet_size_change_waits_for_power_cycle_on_r307(tmp_path):
    runner = new_runner("r307")
    try:
        with open_reader("loopback", runner, tmp_path) as reader:
            change = reader.set_packet_size(32)
            assert change.pending and "power-cycled" in change.note and reader.packet_size == 128
            assert runner.command("power-cycle")["ok"]
            reader.connect()
            assert reader.packet_size == 32
            # a template download in 32-byte packets, and an image upload in them
            customer = Customer(runner, finger=2)
            template = reader.enroll(captures=3, on_event=customer)   # two merges on a ZFM
            assert StagePassed(3, 3) in customer.events and template.captures == 3
            reader.import_template(template, buffer=2)
            assert reader.export_template(buffer=2).data == template.data
            assert reader.image(capture=False).size == (256, 288)
            assert reader.info().model == "ZFM/R30x-class module"
            with pytest.raises(UnsupportedError, match="no Aura LED"):
                reader.led()
            assert reader.check_sensor() is None          # R307 has no CheckSensor
    finally:
        runner.stop()


def test_settings_that_apply_at_once_on_r503(tmp_path):
    runner = new_runner("r503")
    try:
        with open_reader("loopback", runner, tmp_path) as reader:
            change = reader.set_security_level(5)
            assert not change.pending and change.old == 3 and change.new == 5
            assert reader.parameters().security_level == 5
            change = reader.set_packet_size(64)
            assert not change.pending and reader.packet_size == 64
            change = reader.set_baudrate(115200)
            assert change.pending and "baudrate=115200" in change.note
            assert reader.parameters().baudrate == 57600     # still the old rate until power-up
            reader.soft_reset()                              # restarts; waits for it; 0x55 skipped
            assert reader.parameters().baudrate == 115200   # the register now holds the new rate
            assert reader.baudrate == 115200                 # and the reader followed it
    finally:
        runner.stop()


TELLER_EXAMPLE = '''
from drivers import FingerprintReader, LiftFinger, PlaceFinger

with FingerprintReader.open("sim://fingerprint?model=r503") as reader:
    module = reader.transport.serial.simulator          # the simulated module's control line
    def customer(event):                                 # plays the customer: prints the prompt, obeys it
        print(event)
        if isinstance(event, PlaceFinger): module.command("place 3 90")
        if isinstance(event, LiftFinger): module.command("lift")
    template = reader.enroll(on_event=customer)
    result = reader.verify(template, on_event=customer)
    print(result.matched, result.score)
'''


def test_the_ten_line_teller_example_works(capsys):
    """The README's teller example, verbatim: enroll and verify against sim:// in ten lines."""
    exec(compile(TELLER_EXAMPLE, "<teller example>", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Place your finger on the sensor (1 of 2)."
    assert "Enrollment complete." in lines
    matched, score = lines[-1].split()
    assert matched == "True" and int(score) > 0


class CountingTransport(Transport):
    """Wraps a transport and counts the reads the driver makes."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.description = inner.description
        self.reads = 0
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.inner.write(data)

    def read(self, max_bytes: int, timeout: float) -> bytes:
        self.reads += 1
        data = self.inner.read(max_bytes, timeout)
        self.bytes += len(data)
        return data

    def close(self) -> None:
        self.inner.close()


def test_reads_in_bulk_not_byte_by_byte(tmp_path):
    runner = new_runner("r307")
    try:
        counting = CountingTransport(runner.loopback())
        with FingerprintReader.open(counting, close_transport=True) as reader:
            runner.command("place 1 95")
            reader.image()
            runner.command("lift")
            before_reads, before_bytes = counting.reads, counting.bytes
            image = reader.image(capture=False)
            reads, received = counting.reads - before_reads, counting.bytes - before_bytes
        assert image.size == (256, 288)
        assert received == 12 + 288 * 139                 # the ack and 288 data packets
        assert reads <= 2 * 288 + 2                       # about one read per packet at most
    finally:
        runner.stop()


def test_enroll_and_verify_with_the_wire_time_model():
    """At 57600 baud on a modelled wire: deadlines hold for templates going up and down."""
    with FingerprintReader.open("sim://fingerprint?model=r503&wire_time=1&seed=3") as reader:
        module = reader.transport.serial.simulator
        assert module.wire_baud == 57600
        customer = Customer(module, finger=2)
        template = reader.enroll(slot=1, on_event=customer)
        module.command("lift")
        assert reader.verify(template, on_event=customer).matched    # DownChar at 57600 baud
        module.command("lift")
        assert reader.export_template(1).data == template.data


@pytest.mark.simulated_fingerprint(model="r307")
def test_with_the_pytest_plugin_fixture(simulated_fingerprint):
    """How a bank's own CI uses it: the plugin's simulated module and a reader on its URL."""
    with FingerprintReader.open(simulated_fingerprint.url) as reader:
        assert reader.info().capacity == 1000
        simulated_fingerprint.place(finger=4, quality=95)
        result = reader.capture(timeout=5)
        assert result.scans >= 1 and result.buffer == 1
        simulated_fingerprint.lift()
        reader.wait_for_lift(timeout=5)


def test_unusable_scans_are_coached_then_reported(tmp_path):
    runner = new_runner("r503")
    try:
        with open_reader("loopback", runner, tmp_path) as reader:
            smudge = Customer(runner, finger=2, quality=0)
            with pytest.raises(CaptureError) as exc:
                reader.capture(timeout=0.5, on_event=smudge)
            assert exc.value.code in (0x06, 0x07) and "Img2Tz refused" in str(exc.value)
            retries = [e for e in smudge.events if isinstance(e, RetryScan)]
            assert retries and all(e.code in (0x06, 0x07) for e in retries)
            assert {e.reason for e in retries} <= {"verify-retry-scan", "verify-finger-not-centered"}
            assert str(retries[0]) == retries[0].advice and retries[0].advice
            runner.command("lift")
            good = reader.capture(timeout=5, on_event=Customer(runner, finger=2, quality=95))
            assert good.rejected == () or all(c in (0x06, 0x07) for c in good.rejected)
    finally:
        runner.stop()
