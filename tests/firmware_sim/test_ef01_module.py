"""The simulated EF01 module, driven through its bytes by protocol.ef01 in the HOST role."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from ef01_harness import ModuleHarness
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_sim.fingerprint import CLI_OPTIONS, create, pack_image, unpack_image
from protocol.ef01 import (
    OPCODE_TABLES,
    Command,
    COMMAND_PARAMS,
    Confirmation,
    Instruction,
    PacketId,
    build_command,
    build_frame,
    index_table_slots,
    parse_frame,
    reply_content_size,
)
from protocol.errors import ConfigurationError

I = Instruction  # noqa: E741
C = Confirmation


def _default_params(ins: Instruction) -> dict:
    params = {}
    for sub in COMMAND_PARAMS[ins].subcons:
        size = sub.sizeof()
        params[sub.name] = bytes(size) if sub.name == "data" else (1 if sub.name in ("buffer", "count") else 0)
    if ins is Instruction.SET_ADDER:
        params["new_address"] = 0xFFFFFFFF
    return params


@pytest.mark.parametrize("model", ["r307", "r503", "as608"])
def test_every_instruction_answers_with_its_fixed_length(model: str) -> None:
    h = ModuleHarness(model=model)
    table = OPCODE_TABLES[model]
    for opcode, ins in sorted(table.opcodes.items()):
        if ins is I.SOFT_RST:
            continue  # tested on its own (the module reboots)
        params = _default_params(ins)
        wire = h.host.send(Command(ins, params))
        answer = h.raw(wire)
        frames = _split_frames(answer)
        address, pid, content = parse_frame(frames[0])
        assert pid is PacketId.ACK and address == 0xFFFFFFFF
        assert len(frames[0]) == 11 + reply_content_size(ins), (ins, frames[0].hex())
        if ins in (I.UP_CHAR, I.UP_IMAGE, I.READ_INF_PAGE) and content[0] == 0:
            assert len(frames) > 1 and frames[-1][6] == PacketId.END_DATA
        else:
            assert len(frames) == 1, ins
        h.host.cancel()
        if ins in (I.DOWN_CHAR, I.DOWN_IMAGE) and content[0] == 0:
            h.dev.conn.cancel()  # abandon the download the module now waits for
    # opcodes the firmware lacks: its own error code, still a 12-byte acknowledge
    for opcode in range(0x100):
        if table.decode(opcode) is None:
            answer = h.raw(build_frame(0xFFFFFFFF, PacketId.COMMAND, bytes([opcode])))
            assert answer == _ack(table.unsupported_code), hex(opcode)


def _ack(code: int) -> bytes:
    return build_frame(0xFFFFFFFF, PacketId.ACK, bytes([code]))


def _split_frames(data: bytes) -> list[bytes]:
    frames = []
    while data:
        assert data[:2] == b"\xef\x01", data[:16].hex()
        size = 9 + int.from_bytes(data[7:9], "big")
        frames.append(data[:size])
        data = data[size:]
    return frames


def test_errors_keep_fixed_lengths() -> None:
    h = ModuleHarness(model="r307")
    rep = h.call(I.SEARCH, buffer=1, start=0, count=1000)
    assert rep.code == C.NOT_FOUND and rep.fields == {"slot": 0, "score": 0}
    assert h.call(I.MATCH).code == C.NO_MATCH
    rep = h.call(I.READ_NOTEPAD, page=16)
    assert rep.code == C.BAD_NOTEPAD_PAGE and rep.data == bytes(32)
    assert h.call(I.IMG2TZ, buffer=1).code == C.NO_PRIMARY_IMAGE
    assert h.call(I.GEN_IMG).code == C.NO_FINGER
    assert h.call(I.LOAD_CHAR, buffer=1, slot=3).code == C.TEMPLATE_READ_ERROR
    assert h.call(I.LOAD_CHAR, buffer=1, slot=1000).code == C.BAD_SLOT
    assert h.call(I.STORE, buffer=1, slot=1000).code == C.BAD_SLOT
    assert h.call(I.UP_CHAR, buffer=1).code == C.TEMPLATE_UPLOAD_ERROR
    assert h.call(I.UP_IMAGE).code == C.IMAGE_UPLOAD_ERROR
    assert h.call(I.DELETE_CHAR, start=999, count=2).code == C.DELETE_FAILED
    assert h.call(I.SET_SYS_PARA, register=9, value=1).code == C.BAD_REGISTER
    assert h.call(I.SET_SYS_PARA, register=5, value=6).code == C.BAD_REGISTER_CONFIG
    assert h.call(I.REG_MODEL).code == C.MERGE_FAILED
    assert h.call(I.PORT_CONTROL, on=2).code == C.PORT_FAILED
    assert h.call(I.GET_ECHO).code == C.ALIVE
    # a command whose parameters do not fit: 01, fixed length
    assert h.raw(build_frame(0xFFFFFFFF, PacketId.COMMAND, b"\x04\x01")) == \
        bytes.fromhex("EF01FFFFFFFF0700070100000000000F")


def test_enroll_identify_verify_and_reject() -> None:
    h = ModuleHarness(model="r307")
    h.enroll(finger=3, slot=5)
    assert h.call(I.TEMPLATE_NUM).count == 1
    assert index_table_slots(h.call(I.READ_INDEX_TABLE, page=0).table, 0) == [5]
    hits = 0
    for _ in range(8):
        if h.capture(1, 3, 90).ok:
            rep = h.call(I.SEARCH, buffer=1, start=0, count=1000)
            hits += rep.ok and rep.slot == 5 and rep.score > 0
    assert hits >= 6  # genuine captures at quality 90 are found (the matcher's FRR is low)
    assert h.capture(1, 11, 95).ok
    rep = h.call(I.SEARCH, buffer=1, start=0, count=1000)
    assert rep.code == C.NOT_FOUND and (rep.slot, rep.score) == (0, 0)
    # 1:1: load the enrolled template into buffer 2, compare with a fresh capture
    assert h.capture(1, 3, 95).ok
    assert h.call(I.LOAD_CHAR, buffer=2, slot=5).ok
    rep = h.call(I.MATCH)
    assert rep.ok and rep.score >= 1
    assert h.call(I.READ_SYS_PARA).status & 0x02  # match found
    assert h.capture(1, 11, 95).ok
    assert h.call(I.MATCH).code == C.NO_MATCH


def test_security_level_moves_the_threshold() -> None:
    from firmware_sim import biometrics

    low, high = biometrics.threshold_for_level(1), biometrics.threshold_for_level(5)
    h = ModuleHarness(model="r503")
    h.enroll(finger=4, slot=0)
    scores = []
    for quality in (60, 50, 40, 30, 60, 50, 40, 30) * 2:
        if not h.capture(1, 4, quality).ok:
            continue
        assert h.call(I.LOAD_CHAR, buffer=2, slot=0).ok
        assert h.call(I.SET_SYS_PARA, register=5, value=1).ok  # R503 applies it at once
        score = h.call(I.MATCH).score
        scores.append(score)
        if low <= score < high:
            assert h.call(I.MATCH).ok
            assert h.call(I.SET_SYS_PARA, register=5, value=5).ok
            rep = h.call(I.MATCH)
            assert rep.code == C.NO_MATCH and rep.score == score
            return
    pytest.fail(f"no genuine score between the level 1 and level 5 thresholds: {scores}")


@pytest.mark.parametrize("code,size", [(0, 32), (1, 64), (2, 128), (3, 256)])
def test_template_round_trip_at_every_packet_size(code: int, size: int) -> None:
    h = ModuleHarness(model="r307")
    assert h.call(I.SET_SYS_PARA, register=6, value=code).ok
    h.power_cycle()  # the ZFM applies it at the next power-up
    assert h.call(I.READ_SYS_PARA).packet_size_code == code
    h.host.packet_size = size
    assert h.capture(1, 5).ok
    rep, template = h.exchange(I.UP_CHAR, buffer=1)
    assert rep.ok and len(template) == 512
    assert h.download(I.DOWN_CHAR, template, buffer=2).ok
    rep, again = h.exchange(I.UP_CHAR, buffer=2)
    assert again == template
    assert h.call(I.MATCH).ok


def test_image_upload_download_processed_like_a_capture() -> None:
    h = ModuleHarness(model="r307")
    h.place(2, 95)
    assert h.call(I.GEN_IMG).ok
    rep, image = h.exchange(I.UP_IMAGE)
    assert rep.ok and len(image) == 256 * 288 // 2
    pixels = unpack_image(image, 256, 288)
    assert 40 < pixels.mean() < 250 and pixels.std() > 20  # ridges and valleys, not flat
    assert h.call(I.IMG2TZ, buffer=2).ok
    _, t_direct = h.exchange(I.UP_CHAR, buffer=2)
    h.lift()
    h.power_cycle()
    assert h.download(I.DOWN_IMAGE, image).ok
    rep, again = h.exchange(I.UP_IMAGE)
    assert again == image  # the 4-bit image round-trips exactly
    assert h.call(I.IMG2TZ, buffer=1).ok  # extracted like a capture
    assert h.download(I.DOWN_CHAR, t_direct, buffer=2).ok
    assert h.call(I.MATCH).ok  # and it is the same finger as the direct capture
    # a short image leaves no valid image
    assert h.download(I.DOWN_IMAGE, image[:1000]).ok
    assert h.call(I.IMG2TZ, buffer=1).code == C.NO_PRIMARY_IMAGE


def test_pack_image_nibble_order() -> None:
    img = np.array([[0x12, 0xF3], [0xA0, 0x5F]], dtype=np.uint8)
    assert pack_image(img) == bytes([0x1F, 0xA5])
    assert unpack_image(bytes([0x1F, 0xA5]), 2, 2).tolist() == [[0x10, 0xF0], [0xA0, 0x50]]


def test_wrong_address_gets_no_reply_and_set_adder() -> None:
    h = ModuleHarness(model="r307")
    assert h.raw(build_command(0x12345678, I.GEN_IMG)) == b""
    rep = h.call(I.SET_ADDER, new_address=0x12345678)
    assert rep.ok and rep.address == 0x12345678
    assert h.raw(build_command(0xFFFFFFFF, I.GEN_IMG)) == b""
    assert h.raw(build_command(0x12345678, I.GEN_IMG)) == build_frame(0x12345678, PacketId.ACK, b"\x02")
    h.power_cycle()
    assert h.dev.flash.address == 0x12345678 and h.call(I.GEN_IMG).code == C.NO_FINGER


def test_password_lock() -> None:
    h = ModuleHarness(model="r307")
    assert h.call(I.SET_PWD, password=0xCAFE).ok
    assert h.call(I.GEN_IMG).code == C.NO_FINGER  # verified (no password) before the change
    h.power_cycle()
    assert h.call(I.GEN_IMG).code == C.PASSWORD_REQUIRED
    assert h.call(I.READ_SYS_PARA).code == C.PASSWORD_REQUIRED
    assert h.call(I.VFY_PWD, password=1).code == C.WRONG_PASSWORD
    assert h.call(I.VFY_PWD, password=0xCAFE).ok
    rep = h.call(I.READ_SYS_PARA)
    assert rep.ok and rep.status & 0x04
    assert h.call(I.GEN_IMG).code == C.NO_FINGER


def test_r307_power_up_is_silent_and_deaf_for_500_ms() -> None:
    h = ModuleHarness(model="r307", boot=False)
    h.advance(0.2)
    assert bytes(h.out) == b""
    assert h.raw(build_command(0xFFFFFFFF, I.GEN_IMG)) == b""  # lost while booting
    h.advance(0.4)
    assert bytes(h.out) == b""  # the ZFM sends no 0x55
    assert h.raw(build_command(0xFFFFFFFF, I.GEN_IMG)) == _ack(C.NO_FINGER)


def test_r503_sends_one_0x55_after_power_up_and_soft_reset() -> None:
    h = ModuleHarness(model="r503", boot=False)
    assert bytes(h.out) == b""
    h.advance(0.06)
    assert bytes(h.out) == b"\x55"
    h.out.clear()
    h.advance(10)
    assert bytes(h.out) == b""
    h.capture(1, 1)
    assert h.call(I.SOFT_RST).ok
    assert h.raw(build_command(0xFFFFFFFF, I.GEN_IMG)) == b""  # rebooting
    h.advance(0.06)
    assert bytes(h.out) == b"\x55"
    h.out.clear()
    assert h.call(I.UP_CHAR, buffer=1).code == C.TEMPLATE_UPLOAD_ERROR  # RAM was cleared


def test_set_sys_para_semantics_per_profile() -> None:
    h = ModuleHarness(model="r307")
    assert h.call(I.SET_SYS_PARA, register=4, value=12).ok
    assert h.call(I.SET_SYS_PARA, register=5, value=5).ok
    rep = h.call(I.READ_SYS_PARA)
    assert (rep.baud_multiplier, rep.security_level) == (6, 3) and h.dev.baudrate == 57600
    h.power_cycle()
    rep = h.call(I.READ_SYS_PARA)
    assert (rep.baud_multiplier, rep.security_level) == (12, 5) and h.dev.baudrate == 115200
    r = ModuleHarness(model="r503")
    assert r.call(I.SET_SYS_PARA, register=6, value=0).ok
    assert r.call(I.READ_SYS_PARA).packet_size_code == 0  # immediate on this firmware
    assert r.dev.conn.packet_size == 32


def test_persistence_in_a_state_file(tmp_path) -> None:
    path = str(tmp_path / "module.json")
    h = ModuleHarness(model="r307", state=path)
    h.enroll(finger=6, slot=17)
    _, template = h.exchange(I.UP_CHAR, buffer=1)
    page = bytes(range(32))
    assert h.call(I.WRITE_NOTEPAD, page=3, data=page).ok
    assert h.call(I.SET_SYS_PARA, register=6, value=3).ok
    assert h.call(I.SET_PWD, password=42).ok
    h.dev.close()
    with open(path, encoding="utf-8") as fh:
        assert json.load(fh)["library"]["17"] == template.hex()
    assert [n for n in os.listdir(tmp_path) if n != "module.json"] == []  # no temp file left
    h2 = ModuleHarness(model="r307", state=path)
    assert h2.call(I.VFY_PWD, password=42).ok
    assert h2.call(I.READ_NOTEPAD, page=3).data == page
    assert h2.call(I.READ_SYS_PARA).packet_size_code == 3  # the pending change applied at power-up
    h2.host.packet_size = 256
    assert h2.call(I.LOAD_CHAR, buffer=2, slot=17).ok
    assert h2.exchange(I.UP_CHAR, buffer=2)[1] == template
    with pytest.raises(ConfigurationError):
        create(model="r503", state=path)


def test_a_state_file_that_cannot_be_written_is_refused_at_start(tmp_path) -> None:
    """Not when the simulator stops, after a technician enrolled prints into it."""
    with pytest.raises(ConfigurationError, match="cannot write the fingerprint module state"):
        create(model="r307", state=str(tmp_path / "no-such-dir" / "module.json"))
    path = tmp_path / "module.json"
    create(model="r307", state=str(path))
    assert json.loads(path.read_text(encoding="utf-8"))["library"] == {}   # factory state


def test_defects() -> None:
    h = ModuleHarness(model="r503")
    assert h.call(I.CHECK_SENSOR).ok
    h.dev.command("defect sensor")
    assert h.call(I.CHECK_SENSOR).code == C.SENSOR_FAULT
    h.place(1)
    assert h.call(I.GEN_IMG).code == C.CAPTURE_FAILED
    h.dev.command("defect clear")
    h.lift()
    h.enroll(1, 0)
    h.dev.command("defect flash")
    assert h.call(I.STORE, buffer=1, slot=1).code == C.FLASH_ERROR
    assert h.call(I.EMPTY).code == C.CLEAR_FAILED
    assert h.call(I.DELETE_CHAR, start=0, count=1).code == C.DELETE_FAILED
    h.dev.command("defect busy")
    assert h.raw(build_command(0xFFFFFFFF, I.GEN_IMG)) == b""
    h.dev.command("defect clear")
    assert h.raw(build_command(0xFFFFFFFF, I.GEN_IMG)) == _ack(C.NO_FINGER)
    assert h.call(I.EMPTY).ok and h.call(I.TEMPLATE_NUM).count == 0
    a = ModuleHarness(model="as608")
    a.dev.command("defect residue")
    assert a.call(I.GEN_IMG).code == C.RESIDUAL_PRINT


def test_r503_extras_and_unsupported() -> None:
    h = ModuleHarness(model="r503")
    info = h.call(I.READ_PROD_INFO)
    assert info.ok and (info.width, info.height, info.database_size) == (192, 192, 200)
    assert info.model.rstrip(b"\0") == b"R503"
    assert h.call(I.GET_FW_VER).version.startswith(b"R503")
    assert h.call(I.HANDSHAKE).ok
    assert h.call(I.AURA_LED_CONFIG, control=1, speed=100, colour=2, times=0).ok
    assert h.dev.led["mode"] == "breathing" and h.events[-1]["event"] == "led"
    assert h.raw(build_frame(0xFFFFFFFF, PacketId.COMMAND, b"\x1b\x01\x00\x00\x00\x10")) == _ack(0xFC)
    r = ModuleHarness(model="r307")
    assert r.raw(build_frame(0xFFFFFFFF, PacketId.COMMAND, b"\x35\x01\x01\x01\x01")) == _ack(0x01)
    a = ModuleHarness(model="as608")
    assert a.raw(build_frame(0xFFFFFFFF, PacketId.COMMAND, b"\x35")) == _ack(0x00)  # handshake


def test_r503_buffers_1_to_6() -> None:
    h = ModuleHarness(model="r503")
    assert h.capture(6, 2).ok
    assert h.exchange(I.UP_CHAR, buffer=6)[0].ok
    assert h.call(I.IMG2TZ, buffer=7).code == C.PACKET_ERROR


def test_random_code_from_injected_rng() -> None:
    a, b = ModuleHarness(seed="5"), ModuleHarness(seed="5")
    assert a.call(I.GET_RANDOM_CODE).value == b.call(I.GET_RANDOM_CODE).value


def test_trace_events_both_directions() -> None:
    h = ModuleHarness(model="r307", trace="1")
    h.raw(b"\x00\x00" + build_command(0xFFFFFFFF, I.GEN_IMG))
    traces = [e for e in h.events if e["event"] == "trace"]
    assert [t["dir"] for t in traces] == ["host->device", "host->device", "device->host"]
    assert traces[0]["packet"] == "skipped"
    assert traces[1]["instruction"] == "GEN_IMG"
    assert traces[2]["code"] == 2 and "no finger" in traces[2]["meaning"]
    json.dumps(h.events)  # JSON-ready


def test_create_options() -> None:
    with pytest.raises(ConfigurationError, match="valid"):
        create(colour="red")
    with pytest.raises(ConfigurationError):
        create(model="r999")
    with pytest.raises(ConfigurationError):
        create(address="zz")
    with pytest.raises(ConfigurationError):
        create(serial="序列号")
    with pytest.raises(ConfigurationError):
        create(timing="maybe")
    dev = create(model="as608", address="0000ABCD", password="7")
    assert dev.flash.address == 0xABCD and dev.flash.password == 7 and dev.baudrate == 57600
    assert {o["dest"] for o in CLI_OPTIONS} >= {"model", "address", "password", "seed"}
    with pytest.raises(ConfigurationError):
        dev.command("place")
    with pytest.raises(ConfigurationError):
        dev.command("jump")
    assert dev.command("place 3")["quality"] == 90


def test_as608_reports_dry_and_wet_from_the_image() -> None:
    h = ModuleHarness(model="as608")
    h.place(1, 95)
    good = [h.call(I.GEN_IMG).code for _ in range(6)]
    assert good.count(C.OK) == len(good)
    h.place(1, 20)
    poor = [h.call(I.GEN_IMG).code for _ in range(30)]
    assert {C.TOO_DRY, C.TOO_WET} & set(poor)
    r = ModuleHarness(model="r307")
    r.place(1, 20)
    assert {r.call(I.GEN_IMG).code for _ in range(10)} == {C.OK}  # the ZFM leaves it to Img2Tz


_garbage_module = ModuleHarness(model="r503")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_module_or_get_a_reply(data: bytes) -> None:
    h = _garbage_module
    assert h.raw(data) == b""  # random bytes essentially never form a valid frame for FFFFFFFF
    h.dev.conn.reset()  # drop a half-frame left over, for the next example
    assert h.raw(build_command(0xFFFFFFFF, I.HANDSHAKE)) == _ack(C.OK)


def test_r503_read_sys_para_is_the_published_reply_byte_for_byte() -> None:
    golden = {c["name"]: bytes.fromhex(c["hex"]) for c in json.loads(
        (Path(__file__).parents[1] / "data" / "ef01_golden.json").read_text())["replies"]}
    h = ModuleHarness(model="r503")
    assert h.raw(build_command(0xFFFFFFFF, I.READ_SYS_PARA)) == golden["R503 ReadSysPara"]
    assert h.raw(build_command(0xFFFFFFFF, I.GEN_IMG)) == golden["ack no finger"]
    assert h.raw(build_command(0xFFFFFFFF, I.SEARCH, {"buffer": 1, "start": 0, "count": 200})) == \
        golden["search miss"]


def test_trace_of_an_upload_has_one_line_per_packet() -> None:
    h = ModuleHarness(model="r307", trace="1")
    h.capture(1, 2)
    h.events.clear()
    rep, data = h.exchange(I.UP_CHAR, buffer=1)
    traces = [e for e in h.events if e["event"] == "trace"]
    assert [t["packet"] for t in traces] == ["command", "ack"] + ["data"] * 4
    assert traces[-1]["last"] is True and sum(t.get("length", 0) for t in traces[2:]) == 512


def test_defect_commands_are_reported() -> None:
    dev = create(model="r503")
    assert dev.command("defect sensor") == {"ok": True, "command": "defect", "active": ["sensor"]}
    assert dev.command("fault flash")["active"] == ["flash", "sensor"]  # if a runner forwards it
    assert dev.status()["defects"] == ["flash", "sensor"]
    assert dev.command("defect clear")["active"] == []
    with pytest.raises(ConfigurationError, match="defect sensor"):
        dev.command("defect gremlins")


def test_timing_model_holds_replies_for_the_processing_time() -> None:
    h = ModuleHarness(model="r307", timing="1")
    h.place(3, 95)
    wire = build_command(0xFFFFFFFF, I.GEN_IMG) + build_command(0xFFFFFFFF, I.IMG2TZ, {"buffer": 1})
    assert h.raw(wire) == b""  # capturing
    h.advance(0.39)
    assert bytes(h.out) == b""
    h.advance(0.02)
    assert bytes(h.out) == _ack(C.OK)  # the capture's ack after 0.4 s
    h.out.clear()
    h.advance(0.2)
    assert bytes(h.out) == _ack(C.OK)  # then the extraction's, in order
    h.out.clear()
    search = build_command(0xFFFFFFFF, I.SEARCH, {"buffer": 1, "start": 0, "count": 1000})
    assert h.raw(search) == b""
    h.advance(0.7)
    assert bytes(h.out) == b""
    h.advance(0.2)  # 1000 prints at 0.8 ms each
    assert len(bytes(h.out)) == 16
    h.out.clear()
    # SoftRst on an R503: ack after processing, then the 0x55 once rebooted
    r = ModuleHarness(model="r503", timing="1")
    assert r.raw(build_command(0xFFFFFFFF, I.SOFT_RST)) == b""
    r.advance(0.01)
    assert bytes(r.out) == _ack(C.OK)
    r.advance(0.06)
    assert bytes(r.out) == _ack(C.OK) + b"\x55"
