"""``tactile diag PORT [--kind fingerprint|pinpad] [--json]``: what is on PORT, and is it well?

Without ``--kind`` the port is probed first (:mod:`tools._probe`: EF01 at every standard rate,
TPP at 115200 and 9600), then that device's self-test runs and a pass/fail table is printed:

* fingerprint module: handshake, password, parameters, sensor self-test, a capture and its
  quality (place a finger when asked; ``--no-finger`` skips it), template round trip (the
  captured template uploaded and downloaded again, unchanged), LED ring where present,
  pending settings (a baud rate that applies at the next power-up);
* PIN pad: info, status, layout sanity, speaker and headset, tones, display and haptics where
  present, key slots with check values and DUKPT counters (near exhaustion is a warning),
  tamper state.

A port where nothing answers exits 1 with the likely causes in words: no bytes at all (power,
wiring, TX/RX crossed, address) or bytes that never form a frame (baud rate, noise); a port
another program holds says so.  ``--json`` prints one object with a ``checks`` array (each
``{"check", "status": pass|warn|fail|skip, "detail"}``).  Exit status: 0 every check passed
(warnings allowed), 1 a check failed or nothing answered, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from protocol.errors import DeviceError, DeviceTimeoutError, TactileError
from tools.args import (
    add_json_flag,
    add_trace_flag,
    baud_argument,
    print_json,
    quiet_driver_logs,
)
from tools.commands import COMMANDS

__all__ = ["register", "run", "Checks"]


def _address(text: str) -> int:
    from tools.fingerprint import _address as parse
    return parse(text)


def _u32(text: str) -> int:
    from tools.fingerprint import _u32 as parse
    return parse(text)


#: either device: a pad (115200 or 9600) or an EF01 fingerprint module (9600 x N, 57600 usually)
_baud = baud_argument(example="115200 (a pad) or 57600 (a fingerprint module)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diag", help=COMMANDS["diag"],
        description="Find out what answers on PORT (or take --kind), run that device's "
                    "self-test and print a pass/fail table. A port where nothing answers exits "
                    "1 with the likely causes. Exit status: 0 all passed, 1 a check failed, "
                    "2 bad usage.")
    parser.add_argument("port", metavar="PORT",
                        help="a serial port or pyserial URL (a `tactile sim` pty too)")
    parser.add_argument("--kind", choices=["fingerprint", "pinpad"],
                        help="the device that should be there (default: find out)")
    parser.add_argument("--baud", type=_baud, default="auto", metavar="BAUD",
                        help="the device's baud rate (default auto: found by the probe)")
    parser.add_argument("--address", type=_address, default=0xFFFFFFFF, metavar="HEX",
                        help="an EF01 module's address (default FFFFFFFF)")
    parser.add_argument("--password", type=_u32, default=0, metavar="N",
                        help="an EF01 module's password (default 0 = none)")
    parser.add_argument("--wait", type=float, default=15.0, metavar="SECONDS",
                        help="how long to wait for a finger on the sensor (default 15)")
    parser.add_argument("--no-finger", action="store_true",
                        help="skip the capture and template checks (nobody at the sensor)")
    add_trace_flag(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


class Checks:
    """The pass/fail rows, shown as they come (a progress line) and as a table at the end."""

    def __init__(self, console: Any) -> None:
        self.rows: list[dict[str, str]] = []
        self.console = console
        #: a rich Status (spinner) naming the running check, on a terminal
        self.spinner: Any = None

    def add(self, check: str, status: str, detail: str, *, first: bool = False) -> None:
        """A row; ``first``: at the top of the table (a tampered pad)."""
        row = {"check": check, "status": status, "detail": detail}
        if first:
            self.rows.insert(0, row)
        else:
            self.rows.append(row)

    def run(self, check: str, fn: Callable[[], tuple[str, str]]) -> str:
        """Run one check; a device error is that check's failure, not the end of the diag."""
        if self.spinner is not None:
            self.spinner.update(f"checking {check} ...")
        try:
            status, detail = fn()
        except DeviceTimeoutError as exc:
            status, detail = "fail", _first(str(exc))
        except TactileError as exc:
            status, detail = "fail", _first(str(exc))
        self.add(check, status, detail)
        return status

    @property
    def ok(self) -> bool:
        return all(r["status"] != "fail" for r in self.rows)


def _first(text: str) -> str:
    from tools.args import cli_message
    return cli_message(text)


def run(args: argparse.Namespace) -> int:
    quiet_driver_logs()
    console = None
    if not args.json:
        from rich.console import Console
        console = Console(highlight=False, soft_wrap=True)
    kind, baud = args.kind, args.baud
    probe = None
    if kind is None or baud == "auto":
        from tools._probe import probe_port
        if console is not None:
            console.print(f"Asking what answers on {args.port} ...")
        if console is not None and console.is_terminal:
            with console.status("probing (EF01 at every standard rate, TPP at 115200/9600)"):
                probe = probe_port(args.port, address=args.address)
        else:
            probe = probe_port(args.port, address=args.address)
        if probe.error or probe.kind is None or (kind is not None and probe.kind != kind):
            return _nothing(args, console, probe, kind)
        kind, baud = probe.kind, probe.baudrate
    checks = Checks(console)
    if console is not None:
        console.print(f"[bold]{'Fingerprint module' if kind == 'fingerprint' else 'PIN pad'}"
                      f"[/] on {args.port} at {baud} baud: running its self-test")
    test = _fingerprint if kind == "fingerprint" else _pinpad
    if console is not None and console.is_terminal:
        with console.status("starting ...") as spinner:
            checks.spinner = spinner
            test(args, int(baud), checks, console)
    else:
        test(args, int(baud), checks, console)
    result = {"result": "diag", "ok": checks.ok, "port": args.port, "kind": kind,
              "baudrate": baud, "checks": checks.rows}
    if args.json:
        print_json(result)
    elif console is not None:
        failed = [r["check"] for r in checks.rows if r["status"] == "fail"]
        warned = [r["check"] for r in checks.rows if r["status"] == "warn"]
        console.print(_table(checks.rows))
        if failed:
            console.print(f"[red]{len(failed)} check(s) failed: {', '.join(failed)}.[/]")
        else:
            console.print("[green]All checks passed[/]" + (
                f" ([yellow]{len(warned)} warning(s): {', '.join(warned)}[/])." if warned
                else "."))
    return 0 if checks.ok else 1


def _table(rows: list[dict[str, str]]) -> Any:
    from rich.table import Table
    from rich.text import Text
    table = Table(title="Diagnosis", title_justify="left")
    for column in ("check", "result", "detail"):
        table.add_column(column)
    for r in rows:
        colour = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}[r["status"]]
        table.add_row(Text(r["check"]), Text(r["status"].upper(), style=colour),
                      Text(r["detail"]))
    return table


def _nothing(args: argparse.Namespace, console: Any, probe: Any, kind: str | None) -> int:
    """Nothing (or not the expected device) answered: say why it may be, exit 1."""
    from tools._probe import NO_ANSWER_CAUSES
    if probe.error:
        detail, causes = probe.error, (
            ["close the other program that holds the port"] if "in use" in probe.error else
            ["the port name (`tactile list` shows the ports)", "that the adapter is plugged in"])
    elif probe.kind is not None:
        detail = f"a {probe.kind} answers on {args.port}, not a {kind}: {probe.summary}"
        causes = [f"the port: this is the {probe.kind}'s port", "drop --kind to test it"]
    elif probe.acked:
        detail = ("the pad's link works (it acknowledged every frame) but its firmware does "
                  "not answer: restart it")
        causes = ["the pad's firmware has hung: power-cycle the pad (or `tactile pad reset` "
                  "once it answers)", "a firmware fault: if a restart does not help, call the "
                  "vendor"]
    elif probe.garbage:
        detail = (f"bytes came back ({probe.garbage}) but never one intact frame, at any baud "
                  f"rate tried ({len(probe.tried)} tries)")
        causes = ["noise or corruption on the line: a long or unshielded cable, no common "
                  "ground, a loose connector", "a baud rate outside the standard ones",
                  "a device speaking another protocol"]
    else:
        detail = f"no byte came back at any baud rate tried ({len(probe.tried)} tries)"
        causes = list(NO_ANSWER_CAUSES)
        if args.address != 0xFFFFFFFF:
            causes[3] = f"an EF01 module at another address than {args.address:08X}"
    if args.json:
        print_json({"result": "diag", "ok": False, "port": args.port, "kind": probe.kind,
                    "baudrate": probe.baudrate, "checks": [
                        {"check": "what answers", "status": "fail", "detail": detail}],
                    "causes": causes})
    else:
        print(f"tactile diag: {detail}.", file=sys.stderr)
        print("Likely causes, most likely first:", file=sys.stderr)
        for cause in causes:
            print(f"  - {cause}", file=sys.stderr)
    return 1


# ---------------------------------------------------------------------- fingerprint
def _fingerprint(args: argparse.Namespace, baud: int, checks: Checks, console: Any) -> None:
    from drivers.fingerprint import FingerprintReader, PasswordError, PlaceFinger, LiftFinger
    from drivers.transport import SerialTransport

    transport: Any = SerialTransport(args.port, baud)
    if args.trace:
        from tools._trace import TracingTransport
        transport = TracingTransport(transport)
    try:
        try:
            reader = FingerprintReader.open(transport, baudrate=baud, address=args.address,
                                            password=args.password, close_transport=False)
        except PasswordError as exc:
            checks.add("handshake", "pass", f"the module answers at {baud} baud, address "
                       f"{args.address:08X}")
            checks.add("password", "fail", _first(str(exc)))
            return
        except TactileError as exc:
            checks.add("handshake", "fail", _first(str(exc)))
            return
        with reader:
            checks.add("handshake", "pass", f"the module answers at {baud} baud, address "
                       f"{args.address:08X}")
            checks.add("password", "pass", "verified" if args.password else
                       "none set (the factory default)")
            info_box: dict[str, Any] = {}

            def parameters() -> tuple[str, str]:
                info = reader.info()
                info_box["info"] = info
                problems = []
                if not 1 <= info.security_level <= 5:
                    problems.append(f"security level {info.security_level} outside 1..5")
                if info.capacity <= 0:
                    problems.append("capacity 0")
                if info.template_count > info.capacity:
                    problems.append(f"{info.template_count} templates > capacity")
                text = (f"{info.model}, {info.template_count} of {info.capacity} slots used, "
                        f"security level {info.security_level}, {info.packet_size}-byte packets")
                return ("fail", text + "; " + "; ".join(problems)) if problems else ("pass", text)

            checks.run("parameters", parameters)
            sensor = {"ok": None}

            def self_test() -> tuple[str, str]:
                sensor["ok"] = reader.check_sensor()
                if sensor["ok"] is None:
                    return "skip", "this model has no sensor self-test (CheckSensor)"
                if sensor["ok"]:
                    return "pass", "CheckSensor: the sensor is fine"
                return "fail", ("CheckSensor reports a sensor fault: check the sensor's cable; "
                                "replace the module if it persists")

            checks.run("sensor self-test", self_test)
            captured = {"ok": False}
            if sensor["ok"] is False:
                checks.add("capture", "skip", "the sensor failed its self-test")
            elif args.no_finger:
                checks.add("capture", "skip", "--no-finger")
            else:
                def on_event(event: Any) -> None:
                    if console is not None and isinstance(event, (PlaceFinger, LiftFinger)):
                        console.print(f"  [cyan]>[/] {event}")

                def capture() -> tuple[str, str]:
                    from drivers.fingerprint import FingerTimeoutError
                    if console is not None:
                        console.print(f"  capture: waiting up to {args.wait:g} s for a finger "
                                      "(--no-finger skips this check)")
                    try:
                        result = reader.capture(timeout=args.wait, on_event=on_event)
                    except FingerTimeoutError:
                        return "skip", f"no finger on the sensor within {args.wait:g} s"
                    captured["ok"] = True
                    if result.rejected:
                        from protocol.ef01 import describe_confirmation
                        why = ", ".join(sorted({describe_confirmation(c).meaning
                                                for c in result.rejected}))
                        return "warn", (f"usable after {result.scans} scans; rejected: {why} - "
                                        "clean the window, check the finger's placement")
                    return "pass", "features extracted from the first scan"

                checks.run("capture and quality", capture)
            if captured["ok"]:
                def round_trip() -> tuple[str, str]:
                    first = reader.export_template(buffer=1)
                    reader.import_template(first, buffer=2)
                    second = reader.export_template(buffer=2)
                    if bytes(second) != bytes(first):
                        return "fail", ("the template came back changed: data packets are "
                                        "corrupted (cable, baud rate, packet size)")
                    return "pass", f"{len(first)}-byte template uploaded and downloaded unchanged"

                checks.run("template round trip", round_trip)
            else:
                checks.add("template round trip", "skip", "needs a capture")
            info = info_box.get("info")
            if info is not None and info.has_aura_led:
                def led() -> tuple[str, str]:
                    reader.led("flashing", "purple", speed=60, cycles=3)
                    return "pass", "the LED ring accepted a command (it flashes purple 3 times)"
                checks.run("LED ring", led)
            else:
                checks.add("LED ring", "skip", "this model has no LED ring")

            def pending() -> tuple[str, str]:
                configured = reader.parameters().baudrate
                if configured != baud:
                    return "warn", (f"the module talks at {baud} baud but is set to "
                                    f"{configured}: from its next power-up use --baud "
                                    f"{configured}")
                return "pass", "none (the stored baud rate is the one in use)"

            checks.run("pending settings", pending)
    finally:
        transport.close()


# ---------------------------------------------------------------------- PIN pad
def _pinpad(args: argparse.Namespace, baud: int, checks: Checks, console: Any) -> None:
    from protocol.tpp.codes import Capability, State, Tone
    from tools.pad import key_slot_report, layout_checks, open_pad

    try:
        pad = open_pad(args.port, baud=baud, timeout=3.0, trace=args.trace)
    except TactileError as exc:
        checks.add("info", "fail", _first(str(exc)))
        return
    with pad:
        box: dict[str, Any] = {}

        def info() -> tuple[str, str]:
            box["info"] = i = pad.info()
            return "pass", (f"{i.vendor} {i.model}, serial {i.serial}, firmware {i.firmware}, "
                            f"TPP {pad.version}, languages {', '.join(i.languages)}")

        def status() -> tuple[str, str]:
            box["status"] = s = pad.status()
            return "pass", (f"mode {s.mode.name.lower()}, volume {s.volume}, rate {s.rate} %, "
                            f"{s.entries_left} PIN entries left this hour")

        checks.run("info", info)
        checks.run("status", status)
        caps = box["info"].capabilities if "info" in box else Capability(0)
        tampered = "status" in box and box["status"].mode is State.TAMPERED
        if tampered:
            # the first thing a technician must see: nothing else on this pad matters now
            checks.add("tamper", "fail", "the pad detected tampering and erased its keys: take "
                       "it out of service and call the vendor", first=True)

        def layout() -> tuple[str, str]:
            results = layout_checks(pad.layout())
            bad = [f"{c['check']} ({c['detail']})" for c in results if not c["ok"]]
            if bad:
                return "fail", "; ".join(bad)
            return "pass", ("12-key digit block, every digit once, 5 dotted, Enter/Clear/Cancel "
                            "marked")

        checks.run("layout", layout)
        lang = box["info"].languages[0] if "info" in box and box["info"].languages else "en"

        def speaker() -> tuple[str, str]:
            from protocol.tpp.codes import ResultCode
            try:
                pad.speak("Diagnostic test." if lang == "en" else "诊断测试。", lang)
            except DeviceError as exc:
                if exc.code == int(ResultCode.SPEECH_FAILED):
                    return "fail", ("the speech unit failed: the pad refused to speak (it falls "
                                    "back to its display); check the speaker and speech module, "
                                    "then run `tactile pad audiotest`")
                raise
            return "pass", "speech accepted (`tactile pad audiotest` checks it by ear)"

        if Capability.SPEAKER in caps or Capability.TEXT_TO_SPEECH in caps:
            checks.run("speaker", speaker)
        else:
            checks.add("speaker", "skip", "the pad reports no speaker")
        if Capability.HEADSET_JACK in caps and "status" in box:
            checks.add("headset", "pass", "a headset is in: private audio" if box["status"].headset
                       else "jack present, no headset in (audiotest checks detection)")
        elif Capability.HEADSET_JACK not in caps:
            checks.add("headset", "skip", "the pad has no headset jack")

        def tones() -> tuple[str, str]:
            played, refused = [], []
            for tone in Tone:
                try:
                    if tone is Tone.CUSTOM:
                        pad.play_tone(tone, frequency=1000, duration=100)
                    else:
                        pad.play_tone(tone)
                    played.append(tone.name.lower())
                except DeviceError as exc:
                    refused.append(f"{tone.name.lower()} ({_first(str(exc))})")
            if refused:
                return "fail", "refused: " + "; ".join(refused)
            return "pass", f"{len(played)} tones played: {', '.join(played)}"

        checks.run("tones", tones)
        if Capability.DISPLAY in caps:
            def display() -> tuple[str, str]:
                pad.display("TACTILE DIAG")
                pad.display("")
                i = box["info"]
                return "pass", f"{i.display_columns} x {i.display_rows} display accepts text"
            checks.run("display", display)
        else:
            checks.add("display", "skip", "the pad has no display")
        if Capability.HAPTICS in caps:
            def haptics() -> tuple[str, str]:
                pad.haptic((150,))
                return "pass", "vibration accepted"
            checks.run("haptics", haptics)
        else:
            checks.add("haptics", "skip", "the pad has no vibration motor")
        try:
            slots = key_slot_report(pad)
        except TactileError as exc:
            checks.add("key slots", "fail", _first(str(exc)))
            slots = []
        for s in slots:
            name = f"key slot {s['slot']} ({s['name']})"
            if s["status"] == "empty":
                checks.add(name, "skip", "empty")
                continue
            detail = f"{s['kind']}, KCV {s['kcv']}" + (
                f", KSN {s['ksn']}, counter {s['counter']}" if s["ksn"] else "")
            status = {"ok": "pass", "warning": "warn"}.get(s["status"], "fail")
            checks.add(name, status, detail + (f": {s['note']}" if s["note"] else ""))
        if not tampered:                # a tampered pad has it as the top row
            if Capability.TAMPER_SENSOR in caps:
                checks.add("tamper", "pass", "no tamper detected")
            else:
                checks.add("tamper", "skip", "the pad reports no tamper sensor")
