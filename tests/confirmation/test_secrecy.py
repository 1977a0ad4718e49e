"""A scan of the database files, the logs and every export finds no template bytes, no image
bytes and no PIN, after an enrollment, a PIN entry, confirmations and an audit export."""

from __future__ import annotations

import hashlib
import logging
import random

import pytest

from drivers.confirmation import (
    ConfirmationSession,
    SqliteStore,
    enroll_customer,
    load_customer_template,
)
from tools.cli import main

pytestmark = pytest.mark.simulated_fingerprint(model="r503", seed=21)


def _windows(data: bytes, size: int) -> set[bytes]:
    """Every ``size``-byte window of ``data`` that is not mostly one value (blank image
    background and template padding would match anything)."""
    return {data[i:i + size] for i in range(0, len(data) - size + 1)
            if len(set(data[i:i + size])) >= size // 3}


def test_no_template_image_or_pin_in_the_database_logs_or_exports(counter, config, tmp_path,
                                                                   caplog, capsys):
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "trail.db"
    config_path = config.save(tmp_path / "audit.json")
    pin = "".join(random.choice("0123456789") for _ in range(12))
    exports: list[bytes] = []
    with SqliteStore(db) as store:
        enrollment = enroll_customer(store, config, counter.reader, customer="C-7", staff="T-1",
                                     on_event=counter.customer(3))
        counter.fp.do("lift")
        # the customer also entered a PIN on the same pad at this visit
        counter.padsim.script(*[f"press {d}" for d in pin], "press enter")
        with counter.pad.pin_entry(min_len=4, max_len=12, pan="6222020200112233445") as entry:
            for _ in entry:
                pass
        assert entry.digits == 12 and entry.pin_block
        template = load_customer_template(store, config, "C-7")
        with ConfirmationSession(store, config, item="account opening", terms="条款 " * 30,
                                 customer="C-7", reader=counter.reader, pad=counter.pad,
                                 on_event=counter.customer(3)) as session:
            session.read_terms()
            assert session.verify_customer(template).matched
            session.teller_confirm("T-1")
            session.review("R-2")
        counter.fp.do("lift")
        with ConfirmationSession(store, config, item="utilities debit", terms="terms",
                                 customer="C-7", reader=counter.reader, pad=counter.pad,
                                 attempts=1, on_event=counter.customer(8)) as session:
            session.read_terms()
            assert not session.verify_customer(template).matched
            session.manual_identity_check(reason="no match", witnesses=["W-1"])
            session.teller_confirm("T-1")
            session.review("R-2")
        counter.fp.do("lift")
        counter.fp.do("place 3 90")
        image = counter.reader.image()      # what the sensor sees of this customer's finger
    for argv in (["audit", "export", str(db)], ["audit", "show", str(db), "--json"],
                 ["audit", "show", str(db)], ["audit", "verify", str(db), "--json"],
                 ["audit", "checkpoint", str(db), "--config", str(config_path)]):
        assert main(argv) == 0
        captured = capsys.readouterr()
        exports.append((captured.out + captured.err).encode("utf-8"))
    files = [p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("trail.db")]
    haystacks = {"database": b"".join(files), "logs": caplog.text.encode("utf-8"),
                 "exports": b"".join(exports)}
    assert len(haystacks["logs"]) > 1000, "the scan must see the drivers' debug logs"

    clear = bytes(enrollment.template)
    template_windows = _windows(clear, 16)
    assert len(template_windows) > 100
    pixels = image.tobytes()
    image_windows = _windows(pixels, 32)
    assert len(image_windows) > 1000
    for where, data in haystacks.items():
        assert clear not in data, where
        found = [w for w in template_windows if w in data]
        assert not found, f"template bytes in the {where}"
        found = [w for w in image_windows if w in data]
        assert not found, f"image bytes in the {where}"
        text = data.decode("utf-8", "replace").lower().replace(" ", "")
        found = [w for w in template_windows if w.hex() in text]
        assert not found, f"template bytes in hex in the {where}"      # e.g. a debug hex dump
        assert pin.encode() not in data, f"the PIN in the {where}"
        assert pin.encode("utf-16-le") not in data, f"the PIN in the {where}"
    # the sealed template is kept, and it is the template, under AES-GCM
    assert hashlib.sha256(enrollment.sealed).hexdigest() == enrollment.record.body["sealed_sha256"]
    assert enrollment.sealed in haystacks["database"]
