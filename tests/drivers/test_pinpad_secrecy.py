"""PIN secrecy, end to end: random PINs through every path, and no PIN digit sequence anywhere.

For each PIN a simulated customer types it (a PIN entry and a PIN change through the driver,
and a PIN entry through ``tactile pin`` with and without ``--json``).  Everything either side
produced is collected: the driver's events and their reprs, the session and PIN block reprs,
every log record at DEBUG (driver, runner, anyone), the pad's stdout events with frame tracing
on (say, display, tone, script, trace), its spoken transcript, the texts of exceptions the
pad's refusals raised during entry, and the CLI's stdout and stderr.  The PIN must appear in
none of them (nor spread out with separators in what the host printed or logged), and every
PIN block must decrypt with the published TEST keys to exactly the PIN typed.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from drivers.pinpad import DigitAccepted, EntryReady, PadEvent, TactilePinPad
from firmware_sim import registry
from pinpad_rig import PAN, decrypt, new_runner
from protocol.errors import DeviceError
from tools.cli import main as tactile

#: public numbers a PIN may coincide with by chance: PAN, KSN prefixes, test BDKs, serials
_PUBLIC = (PAN + " 123456789012345600000 FFFF9876543210E00000 FEDCBA9876543210F1F1F1F1F1F1F1F1"
           " 0123456789ABCDEFFEDCBA9876543210 1209 0001 115200")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


def _spread(pin: str) -> re.Pattern[str]:
    """The digits of ``pin`` in order with short non-digit separators ("1 2 3", "1, 2, 3")."""
    return re.compile(r"[^0-9]{1,3}".join(pin))


def _keys(pin: str, *tail: str) -> str:
    return "; ".join([f"press {d}" for d in pin] + [f"press {k}" for k in tail])


#: what the host legitimately receives (PIN blocks, KSNs as hex): random-looking numbers that a
#: PIN may coincide with by chance (a PIN 000000 inside KSN counter 0000001C); they are blanked
#: out of every text before the search, so the search looks at everything else
_RECEIVED: list[str] = []


def _blank(text: str) -> str:
    for value in _RECEIVED:
        text = text.replace(value, "<received>").replace(value.lower(), "<received>")
    return text


def _received(*values: bytes | None) -> None:
    _RECEIVED.extend(v.hex().upper() for v in values if v)


def _entry_through_the_driver(pad: TactilePinPad, runner, pin: str, fmt: str,
                              host_texts: list[str]) -> None:
    with pad.pin_entry(min_len=len(pin), max_len=len(pin), pan=PAN, block_format=fmt,
                       timeout=60) as entry:
        for event in entry:
            assert isinstance(event, PadEvent)
            host_texts += [repr(event), str(event)]
            if isinstance(event, EntryReady):
                try:  # refusals during entry: their texts are checked too
                    pad.speak("free text during PIN entry")
                except DeviceError as exc:
                    host_texts += [str(exc), repr(exc), exc.meaning]
                for key in _keys(pin, "enter").split("; "):
                    assert runner.command(key)["ok"]
            if isinstance(event, DigitAccepted):
                host_texts.append(repr(entry))
    _received(entry.pin_block, entry.ksn)
    host_texts += [repr(entry), repr(entry.result)]
    assert entry.completion == "enter" and entry.digits == len(pin)
    assert decrypt(entry.pin_block, entry.ksn, fmt) == pin


def _change_through_the_driver(pad: TactilePinPad, runner, pin: str, host_texts: list[str]) -> None:
    with pad.pin_change(min_len=len(pin), max_len=len(pin), pan=PAN, timeout=60) as change:
        for event in change:
            host_texts += [repr(event), str(event)]
            if isinstance(event, EntryReady):
                for key in _keys(pin, "enter").split("; "):
                    assert runner.command(key)["ok"]
    _received(change.pin_block, change.ksn)
    host_texts += [repr(change), repr(change.result)]
    assert change.matched
    assert decrypt(change.pin_block, change.ksn, "iso4") == pin


def _entry_through_the_cli(runner, pin: str, fmt: str, json_out: bool) -> tuple[str, str]:
    assert runner.command("script " + _keys(pin, "enter"))["ok"]
    out, err = io.StringIO(), io.StringIO()
    args = ["pin", f"sim://pinpad?name={runner.name}", "--pan", PAN, "--format", fmt,
            "--min", str(len(pin)), "--max", str(len(pin))] + (["--json"] if json_out else [])
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = tactile(args)
    assert code == 0, err.getvalue()
    if json_out:
        result = json.loads(out.getvalue())
        _received(bytes.fromhex(result["pin_block"]), bytes.fromhex(result["ksn"]))
        assert result["status"] == "ok" and result["digits"] == len(pin)
        assert decrypt(bytes.fromhex(result["pin_block"]), bytes.fromhex(result["ksn"]),
                       fmt) == pin
    else:  # the readable output shows the block and KSN too (and the PIN must not be there)
        _RECEIVED.extend(re.findall(r"\b[0-9A-F]{16,32}\b", out.getvalue()))
    return out.getvalue(), err.getvalue()


def test_no_pin_digit_sequence_anywhere():
    # the pad's own time runs 10x (its scripted customer types 10x faster, time limits are
    # 10x shorter); what is searched for - every text either side produces - is the same
    runner = new_runner(trace="1", rate_limit="10000", time_scale="10")
    registry.register_runner(runner.name, runner)
    pad_events: list[dict] = []
    unsubscribe = runner.subscribe(pad_events.append)
    records = _Records()
    records.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    try:
        @settings(max_examples=10, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(pin=st.text("0123456789", min_size=6, max_size=12),
               fmt=st.sampled_from(["iso4", "iso0", "iso3"]), json_out=st.booleans())
        @example(pin="7390", fmt="iso4", json_out=True)      # the common 4- and 6-digit cases
        @example(pin="581736", fmt="iso0", json_out=False)
        def check(pin: str, fmt: str, json_out: bool) -> None:
            if pin in _PUBLIC:
                return  # a PIN equal to a public number cannot be told apart from it
            pad_events.clear()
            records.texts.clear()
            _RECEIVED.clear()
            host_texts: list[str] = []
            with TactilePinPad.open(runner.loopback()) as pad:
                _entry_through_the_driver(pad, runner, pin, fmt, host_texts)
                _change_through_the_driver(pad, runner, pin, host_texts)
            cli_out, cli_err = _entry_through_the_cli(runner, pin, fmt, json_out)
            transcript = runner.command("transcript")

            host = {"driver events and reprs": "\n".join(host_texts),
                    "logs at DEBUG": "\n".join(records.texts),
                    "tactile pin stdout": cli_out, "tactile pin stderr": cli_err}
            pad_side = {"pad events and traces": json.dumps(pad_events, ensure_ascii=False),
                        "spoken transcript": json.dumps(transcript, ensure_ascii=False)}
            assert any(e.get("event") == "trace" for e in pad_events)   # tracing was on
            assert any(e.get("event") == "say" for e in pad_events)
            assert host["logs at DEBUG"]                                  # logging was on
            for where, text in {**host, **pad_side}.items():
                text = _blank(text)
                assert pin not in text, f"the PIN appears in {where}"
            for where, text in host.items():
                found = _spread(pin).search(_blank(text))
                assert not found, f"the PIN appears spread out in {where}"

        check()
    finally:
        root.removeHandler(records)
        root.setLevel(old_level)
        unsubscribe()
        runner.stop()
