"""SPEC.md against the code: worked examples byte for byte, generated tables up to date."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from protocol import dukpt, pinblock
from protocol.tpp import PROTOCOL_VERSION, describe
from protocol.tpp import messages as m
from protocol.tpp.codes import MessageType
from protocol.tpp.schema import FRAME, build_frame, crc16, decode_message, encode_message
from protocol.tpp.spec import check_spec, generated_blocks, update_spec

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = (ROOT / "protocol" / "tpp" / "SPEC.md").read_text(encoding="utf-8")
EXAMPLES = json.loads((ROOT / "tests" / "data" / "tpp_examples.json").read_text(encoding="utf-8"))


def _spaced(hex_text: str) -> str:
    data = bytes.fromhex(hex_text)
    return " ".join(f"{b:02X}" for b in data)


def test_spec_is_version_1_0():
    assert SPEC.startswith("# TPP: the Tactile PIN Pad protocol, version 1.0")
    assert PROTOCOL_VERSION == (1, 0)


def test_generated_blocks_are_current():
    assert check_spec(SPEC) == [], "run: python -m protocol.tpp.spec protocol/tpp/SPEC.md"
    assert update_spec(SPEC) == SPEC


def test_generated_blocks_detect_drift():
    blocks = generated_blocks()
    tampered = SPEC.replace(blocks["prompts"], blocks["prompts"].replace("请稍候", "请等"))
    assert check_spec(tampered) == ["prompts"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["name"] for e in EXAMPLES])
def test_worked_example_byte_for_byte(example):
    raw = bytes.fromhex(example["hex"])
    assert f"\n{_spaced(example['hex'])}\n" in SPEC, "example missing from SPEC.md section 12"
    frame = FRAME.parse(raw)
    assert (frame.seq, frame.ref) == (example["seq"], example["ref"])
    if example["message"] is None:  # an ACK of the previous example's frame
        index = EXAMPLES.index(example)
        previous = bytes.fromhex(EXAMPLES[index - 1]["hex"])
        assert frame.type == MessageType.ACK
        assert frame.ref == previous[3]
        assert int.from_bytes(frame.payload, "big") == crc16(previous[1:-2])
        return
    message = decode_message(frame.type, frame.payload)
    assert describe(message) == example["message"]
    rtype = frame.type & 0x3F if 0x41 <= frame.type <= 0x7F else None
    assert build_frame(frame.seq, frame.ref, *encode_message(message, rtype)) == raw


def _example(name: str) -> m.Message:
    e = next(e for e in EXAMPLES if e["name"] == name)
    frame = FRAME.parse(bytes.fromhex(e["hex"]))
    return decode_message(frame.type, frame.payload)


def test_pin_block_examples_are_the_published_vectors():
    iso4 = _example("pin-block-iso4")
    request4 = _example("get-pin-block-iso4")
    key = dukpt.aes_derive_pin_key("FEDCBA9876543210F1F1F1F1F1F1F1F1", iso4.ksn)
    assert key.hex().upper() == "AF8CB133A78F8DC2D1359F18527593FB"
    assert pinblock.decipher_pin_block(iso4.format, key, iso4.block,
                                       request4.customer_data) == "1234"
    iso0 = _example("pin-block-iso0")
    request0 = _example("get-pin-block-iso0")
    key = dukpt.tdes_derive_pin_key("0123456789ABCDEFFEDCBA9876543210", iso0.ksn)
    assert pinblock.decipher_pin_block(iso0.format, key, iso0.block,
                                       request0.customer_data) == "1234"


def test_annotated_example_matches_the_first_frame():
    annotated = re.search(r"Annotated first example.*?```\n(.*?)```", SPEC, re.S).group(1)
    hex_bytes = "".join(re.findall(r"^((?:[0-9A-F]{2} )*[0-9A-F]{2})\s", annotated, re.M))
    assert bytes.fromhex(hex_bytes) == bytes.fromhex(EXAMPLES[0]["hex"])


def test_spec_names_every_message():
    for cls in [*m.REQUEST_CLASSES.values(), *m.RESPONSE_CLASSES.values(),
                *m.EVENT_CLASSES.values(), m.Done, m.Refused]:
        assert f"**{cls.__name__}" in SPEC or f"`{cls.__name__}" in SPEC, cls.__name__


def test_appendix_vectors_are_right():
    """Every vector in SPEC Appendix A, recomputed with protocol.dukpt / protocol.pinblock."""
    appendix = SPEC[SPEC.index("## Appendix A."):]

    def row(what: str) -> str:
        line = next(x for x in appendix.splitlines() if x.startswith(f"| {what} |"))
        return re.findall(r"`([0-9A-F]+)`", line.split("|")[3])[0]

    ipek = dukpt.tdes_ipek("0123456789ABCDEFFEDCBA9876543210", "FFFF9876543210E00000")
    assert ipek.hex().upper() == row("TDES IPEK")
    tdes_key = dukpt.tdes_derive_pin_key("0123456789ABCDEFFEDCBA9876543210", "FFFF9876543210E00001")
    assert tdes_key.hex().upper() == row("TDES PIN key, counter 1")
    clear = pinblock.clear_pin_block("iso0", "1234", "4012345678909")
    assert clear.hex().upper() == row("ISO-0 clear block")
    assert pinblock.encipher_pin("iso0", tdes_key, "1234", "4012345678909").hex().upper() \
        == row("ISO-0 enciphered")
    initial = dukpt.aes_initial_key("FEDCBA9876543210F1F1F1F1F1F1F1F1", "1234567890123456")
    assert initial.hex().upper() == row("AES initial key")
    aes_key = dukpt.aes_derive_pin_key("FEDCBA9876543210F1F1F1F1F1F1F1F1",
                                       "123456789012345600000001")
    assert aes_key.hex().upper() == row("AES PIN key, counter 1")
    fill = bytes.fromhex("2F69ADDE2E9E7ACE")
    field = pinblock.build_pin_field("iso4", "1234", rng=lambda n: fill[:n])
    assert field.hex().upper() == row("ISO-4 PIN field")
    block = pinblock.encipher_fields("iso4", aes_key, field,
                                     pinblock.build_pan_field("iso4", "4111111111111111"))
    assert block.hex().upper() == row("ISO-4 block")


def test_spec_tool_checks_without_writing_and_reports_plainly(tmp_path, capsys):
    from protocol.tpp.spec import main

    current = update_spec(SPEC)
    good = tmp_path / "SPEC.md"
    good.write_text(current, encoding="utf-8")
    assert main(["--check", str(good)]) == 0
    stale = current.replace("| 0x01 | Hello |", "| 0x01 | Hullo |", 1)
    assert stale != current
    bad = tmp_path / "STALE.md"
    bad.write_text(stale, encoding="utf-8")
    assert main(["--check", str(bad)]) == 1
    assert bad.read_text(encoding="utf-8") == stale          # --check never writes
    assert "message-types" in capsys.readouterr().err
    assert main([str(bad)]) == 0                               # without --check it repairs
    assert bad.read_text(encoding="utf-8") == current
    assert main([str(tmp_path / "missing.md")]) == 2          # no traceback for a wrong path
    assert "cannot read" in capsys.readouterr().err


def test_explore_key_words_in_the_spec_are_the_pads():
    # SPEC 9.1 gives a firmware engineer the explore-mode words in both languages; the
    # simulated pad must speak exactly those (and every protocol mark and colour has words)
    from firmware_sim.pinpad.prompts import COLOUR_WORDS, KEY_WORDS, MARK_WORDS, describe_key
    from protocol.layout import TELEPHONE, KeyColour, TactileMark

    section = SPEC.split("### 9.1 ", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("key", "language", "tactile mark / colour", "---"):
            rows[cells[0]] = (cells[1], cells[2])
    for name, words in KEY_WORDS.items():
        assert rows.pop(name) == words, name
    for mark in TactileMark:
        if mark is not TactileMark.NONE:
            assert rows.pop(mark.value) == MARK_WORDS[mark.value], mark
    for colour in KeyColour:
        if colour is not KeyColour.NONE:
            assert rows.pop(colour.value) == COLOUR_WORDS[colour.value], colour
    assert not rows                                            # no word the pad lacks
    assert f"`{describe_key(TELEPHONE.key('five'), 'zh-CN')}`" in section
    assert describe_key(TELEPHONE.key("enter"), "en") in section.replace("\n", " ")


def test_every_section_reference_names_a_section_that_exists():
    headings = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", SPEC, flags=re.M))
    refs = set(re.findall(r"sections? (\d+(?:\.\d+)?)", SPEC))
    assert refs and not refs - headings, f"dangling references: {sorted(refs - headings)}"
