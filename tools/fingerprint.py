"""``tactile fingerprint ...``: technician commands for EF01 fingerprint modules.

Every command takes the port (``/dev/ttyUSB0``, ``socket://HOST:PORT``, ``sim://fingerprint``,
the pty ``tactile sim fingerprint`` printed), ``--baud``, ``--address``, ``--password``,
``--timeout`` and ``--json`` (one JSON object per line: the events as they happen, then the
result with ``"result": COMMAND``).  Exit status: 0 done, 1 refused/failed or no match,
2 bad usage.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any, Callable

from drivers.fingerprint import (
    BAUDRATES,
    LED_COLOURS,
    LED_MODES,
    FingerprintReader,
    ReaderEvent,
    Template,
)
from drivers.transport import SerialTransport
from protocol.errors import ConfigurationError, TactileError
from tools.args import (
    JsonLines,
    add_json_flag,
    add_port_argument,
    add_timeout_argument,
    add_trace_flag,
    baud_argument,
    cli_message,
    quiet_driver_logs,
)
from tools.commands import COMMANDS

__all__ = ["register", "run"]

_COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("show model, capacity, settings and firmware", "Read the module's system parameters, "
             "template count, product and firmware information."),
    "capture": ("wait for a finger and extract its features", "Wait for a finger, take an image "
                "and extract its features: checks the sensor and the customer's finger."),
    "enroll": ("enroll a finger (store in a slot and/or save the template)", "Enroll a finger: "
               "two or more captures with a lift between, merged, checked for duplicates, stored "
               "in --slot and/or saved to --out."),
    "verify": ("1:1 verify a finger against a slot or a template file", "Verify the finger on "
               "the sensor against --slot N or --template FILE. Exit status 1 if it does not match."),
    "identify": ("1:N search the library for the finger", "Search the whole library for the "
                 "finger on the sensor. Exit status 1 if it is not found."),
    "image": ("save the sensor image as PNG", "Capture (unless --no-capture) and upload the sensor "
              "image; save it as a PNG. At 57600 baud a 256x288 image takes about 7 s."),
    "sensor-test": ("sensor self-test and capture quality report", "Run CheckSensor where the model "
                    "has it, then a few captures, and report how many were usable and why not."),
    "delete": ("delete templates from the library", "Delete COUNT templates starting at SLOT."),
    "clear": ("erase the whole template library", "Erase every template (asks for --yes)."),
    "index": ("list the used slots", "List the library slots that hold a template."),
    "export": ("save the template of a slot to a file", "Upload the template in --slot to --out."),
    "import": ("store a template file in a slot", "Download FILE into the module and store it in "
               "--slot."),
    "led": ("drive the Aura LED ring (R503)", "Set the LED ring of R503-family modules."),
    "notepad": ("read or write a notepad page", "Read notepad PAGE (0..15), or write --write TEXT."),
    "set": ("change a setting (some apply after a power cycle)", "Change the security level, data "
            "packet size or baud rate; the output says when the change takes effect."),
}


def _address(text: str) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the module address is 8 hex digits such as FFFFFFFF, "
                                         f"not {text!r}") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"the module address is 0..FFFFFFFF, not {text!r}")
    return value


def _u32(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number (decimal or 0x...), not {text!r}") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"expected 0..0xFFFFFFFF, not {text!r}")
    return value


_baud = baud_argument(example="57600", allowed=BAUDRATES,
                      rule="EF01 modules run at 9600 x N baud (N 1..12)")


def _slot(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a slot is a number, not {text!r}") from None
    if not 0 <= value <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"a slot is 0..65535, not {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fingerprint", help=COMMANDS["fingerprint"],
        description="Inspect, test and manage an EF01 fingerprint module (R307, R503, AS608, "
                    "ZFM, FPM10A) on a serial port, a TCP bridge or a simulator.")
    sub = parser.add_subparsers(dest="fingerprint_command", metavar="ACTION", required=True)

    common = argparse.ArgumentParser(add_help=False)
    add_port_argument(common)
    common.add_argument("--baud", type=_baud, default=57600, metavar="BAUD",
                        help="the module's baud rate (default 57600), or `auto` to find it")
    common.add_argument("--address", type=_address, default=0xFFFFFFFF, metavar="HEX",
                        help="the module's address in hex (default FFFFFFFF)")
    common.add_argument("--password", type=_u32, default=0, metavar="N",
                        help="the module's password (default 0 = none)")
    add_timeout_argument(common, default=2.0, help="least seconds to wait for a reply "
                         "(slower instructions get their protocol deadline; default 2)")
    add_json_flag(common)
    common.add_argument("-v", "--verbose", action="store_true",
                        help="log what the driver does on the line (retries, skipped bytes) to stderr")
    add_trace_flag(common)

    def add(name: str) -> argparse.ArgumentParser:
        short, long = _COMMANDS[name]
        p = sub.add_parser(name, parents=[common], help=short, description=long)
        p.set_defaults(func=run, action_name=name)
        return p

    def wait(p: argparse.ArgumentParser) -> None:
        p.add_argument("--wait", type=float, default=15.0, metavar="SECONDS",
                       help="how long the customer has to place or lift the finger (default 15)")

    add("info")
    wait(add("capture"))
    p = add("enroll")
    p.add_argument("--slot", type=_slot, help="store the template in this slot")
    p.add_argument("--out", type=Path, help="also save the template to this file")
    p.add_argument("--captures", type=int, default=2, help="captures to merge (default 2)")
    p.add_argument("--overwrite", action="store_true", help="replace a template already in --slot")
    p.add_argument("--no-duplicate-check", action="store_true",
                   help="do not search the library for the finger first")
    wait(p)
    p = add("verify")
    ref = p.add_mutually_exclusive_group(required=True)
    ref.add_argument("--slot", type=_slot, help="verify against the template in this slot")
    ref.add_argument("--template", type=Path, help="verify against this template file")
    p.add_argument("--attempts", type=int, default=3, help="tries before giving up (default 3)")
    wait(p)
    p = add("identify")
    p.add_argument("--attempts", type=int, default=1, help="tries before giving up (default 1)")
    wait(p)
    p = add("image")
    p.add_argument("--out", type=Path, required=True, help="PNG file to write")
    p.add_argument("--no-capture", action="store_true",
                   help="upload the image buffer as it is (no new capture)")
    wait(p)
    p = add("sensor-test")
    p.add_argument("--scans", type=int, default=3, help="captures to try (default 3)")
    p.add_argument("--image", action="store_true", help="also upload one image for grey-level "
                   "statistics (slow at low baud rates)")
    wait(p)
    p = add("delete")
    p.add_argument("slot", type=_slot, metavar="SLOT")
    p.add_argument("--count", type=int, default=1, help="how many slots from SLOT on (default 1)")
    p = add("clear")
    p.add_argument("--yes", action="store_true", help="really erase every template")
    add("index")
    p = add("export")
    p.add_argument("--slot", type=_slot, required=True)
    p.add_argument("--out", type=Path, required=True, help="file to write the template to")
    p = add("import")
    p.add_argument("file", type=Path, metavar="FILE", help="template file (from export or enroll --out)")
    p.add_argument("--slot", type=_slot, required=True)
    p.add_argument("--overwrite", action="store_true", help="replace a template already in --slot")
    p = add("led")
    p.add_argument("--mode", choices=list(LED_MODES), default="breathing")
    p.add_argument("--colour", "--color", dest="colour", choices=list(LED_COLOURS), default="blue")
    p.add_argument("--speed", type=int, default=128, help="0..255, lower is faster")
    p.add_argument("--cycles", type=int, default=0, help="0 = endless")
    p = add("notepad")
    p.add_argument("page", type=int, metavar="PAGE", help="notepad page 0..15")
    p.add_argument("--write", metavar="TEXT", help="write TEXT (UTF-8, up to 32 bytes) to the page")
    p = add("set")
    p.add_argument("setting", choices=["security-level", "packet-size", "baudrate"])
    p.add_argument("value", type=int)


class _Output:
    """Events and results either as text for people (rich) or as JSON lines."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.json = JsonLines() if as_json else None
        if not as_json:
            from rich.console import Console
            self.console = Console(highlight=False)

    def event(self, event: ReaderEvent) -> None:
        if self.json is not None:
            fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
            self.json({"event": event.status, "message": str(event), **fields})
        else:
            self.console.print(f"  [cyan]>[/cyan] {event}")

    def note(self, text: str, **fields: Any) -> None:
        if self.json is not None:
            self.json({"event": "note", "message": text, **fields})
        else:
            self.console.print(f"  [dim]{text}[/dim]")

    def progress(self, label: str) -> Callable[[int, int | None], None]:
        state = {"last": -1}

        def report(done: int, total: int | None) -> None:
            if total:
                percent = done * 100 // total
                if percent // 10 != state["last"] // 10 or done == total:
                    state["last"] = percent
                    if self.json is not None:
                        self.json({"event": "progress", "what": label, "done": done, "total": total})
                    else:
                        self.console.print(f"  {label}: {percent:3d} % ({done}/{total} bytes)")
        return report

    def result(self, command: str, data: dict[str, Any], text: str | None = None,
               ok: bool = True) -> None:
        if self.json is not None:
            self.json({"result": command, "ok": ok, **data})
        else:
            style = "green" if ok else "red"
            self.console.print(f"[{style}]{text or command}[/{style}]")

    def table(self, title: str, rows: list[tuple[str, Any]]) -> None:
        from rich.table import Table
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        for key, value in rows:
            table.add_row(key, "-" if value is None else str(value))
        self.console.print(table)


def run(args: argparse.Namespace) -> int:
    quiet_driver_logs()
    if not args.verbose:
        return _run(args)
    logger = logging.getLogger("drivers.fingerprint")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        return _run(args)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _run(args: argparse.Namespace) -> int:
    out = _Output(args.json)
    action = args.action_name
    if action == "clear" and not args.yes:
        print("tactile fingerprint clear erases every template in the module; "
              "repeat with --yes to do it.", file=sys.stderr)
        return 2
    try:
        return _session(args, out, action)
    except TactileError as exc:
        if out.json is not None:     # scripts get the failure as the last JSON line too
            out.json({"result": action, "ok": False, "error": type(exc).__name__,
                      "message": cli_message(str(exc)), "code": getattr(exc, "code", None)})
        raise


def _load_template(path: Path) -> Template:
    try:
        return Template.load(path)
    except OSError as exc:
        raise ConfigurationError(f"cannot read the template file {path}: {exc.strerror}") from exc


def _session(args: argparse.Namespace, out: _Output, action: str) -> int:
    if action == "import":          # a missing file is found before the module is touched
        _load_template(args.file)
    baud = args.baud
    if baud == "auto":
        baud = FingerprintReader.detect_baudrate(args.port, address=args.address,
                                                 password=args.password)
        out.note(f"the module answers at {baud} baud", baudrate=baud)
    if args.trace:
        from tools._trace import TracingTransport
        target: Any = TracingTransport(SerialTransport(args.port, baud))
    else:
        target = args.port
    with FingerprintReader.open(target, baudrate=baud, address=args.address,
                                password=args.password, timeout=args.timeout,
                                close_transport=True) as reader:
        return _ACTIONS[action](reader, args, out)


def _info(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    info = reader.info()
    if out.as_json:
        out.result("info", info.to_dict())
        return 0
    p = info.parameters
    rows = [("model", info.model), ("port", info.port), ("address", f"{info.address:08X}"),
            ("templates", f"{info.template_count} of {info.capacity} slots used"),
            ("security level", info.security_level), ("packet size", f"{info.packet_size} bytes"),
            ("baud rate", info.baudrate), ("image", f"{info.image_width} x {info.image_height}"),
            ("status", f"0x{p.status:04X} (busy={p.busy}, match={p.match_found}, "
                       f"password verified={p.password_verified}, image={p.image_valid})"),
            ("system id", f"0x{p.system_id:04X}"), ("firmware", info.firmware),
            ("algorithm", info.algorithm), ("Aura LED", "yes" if info.has_aura_led else "no")]
    if info.product is not None:
        rows += [("serial", info.product.serial), ("batch", info.product.batch),
                 ("hardware", info.product.hardware_version), ("sensor", info.product.sensor),
                 ("template size", info.product.template_size)]
    out.table("Fingerprint module", rows)
    return 0


def _capture(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    result = reader.capture(timeout=args.wait, on_event=out.event)
    rejected = ", ".join(f"0x{c:02X}" for c in result.rejected) or "none"
    out.result("capture", {"buffer": result.buffer, "scans": result.scans,
                           "rejected": [f"0x{c:02X}" for c in result.rejected]},
               f"Features extracted after {result.scans} scan(s); unusable scans: {rejected}.")
    return 0


def _enroll(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    template = reader.enroll(captures=args.captures, slot=args.slot, on_event=out.event,
                             check_duplicate=not args.no_duplicate_check,
                             overwrite=args.overwrite, timeout=args.wait)
    if args.out is not None:
        template.save(args.out)
    where = [f"slot {template.slot}"] if template.slot is not None else []
    if args.out is not None:
        where.append(str(args.out))
    out.result("enroll", {"slot": template.slot, "size": len(template),
                          "file": str(args.out) if args.out else None},
               f"Enrolled ({len(template)}-byte template) -> {', '.join(where) or 'not stored'}.")
    return 0


def _verify(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    reference = _load_template(args.template) if args.template is not None else args.slot
    result = reader.verify(reference, attempts=args.attempts, on_event=out.event, timeout=args.wait)
    text = (f"MATCH (score {result.score}, attempt {result.attempts_used})" if result.matched
            else f"NO MATCH after {result.attempts_used} attempt(s) (best score {result.score})")
    out.result("verify", {"matched": result.matched, "score": result.score,
                          "attempts_used": result.attempts_used}, text, ok=result.matched)
    return 0 if result.matched else 1


def _identify(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    result = reader.identify(attempts=args.attempts, on_event=out.event, timeout=args.wait)
    text = (f"FOUND in slot {result.slot} (score {result.score})" if result.matched
            else "NOT FOUND in the library")
    out.result("identify", {"matched": result.matched, "slot": result.slot, "score": result.score},
               text, ok=result.matched)
    return 0 if result.matched else 1


def _image(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    image = reader.image(capture=not args.no_capture, timeout=args.wait, on_event=out.event,
                         progress=out.progress("image upload"))
    try:
        image.save(args.out, format="PNG")
    except OSError as exc:
        raise ConfigurationError(f"cannot write {args.out}: {exc}") from exc
    out.result("image", {"file": str(args.out), "width": image.width, "height": image.height},
               f"Saved {image.width} x {image.height} image to {args.out}.")
    return 0


def _sensor_test(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    # the module's own self-test first: a sensor that fails it gives no image worth waiting for
    # (three scans of 15 s each), so the report comes at once
    if reader.check_sensor() is False:
        message = ("Sensor FAILED its self-test (CheckSensor: sensor fault): check the sensor's "
                   "cable; replace the module if it persists. No scan was tried.")
        if out.as_json:
            out.result("sensor-test", {"sensor_ok": False, "scans": 0, "usable": 0,
                                       "rejected": {}}, ok=False)
        else:
            out.table("Sensor test", [("sensor self-test", "FAILED: sensor fault"),
                                      ("usable scans", "not tried")])
            out.result("sensor-test", {}, message, ok=False)
        return 1
    report = reader.sensor_test(scans=args.scans, timeout=args.wait, on_event=out.event,
                                with_image=args.image)
    healthy = report.sensor_ok is not False and report.usable > 0
    if out.as_json:
        out.result("sensor-test", report.to_dict(), ok=healthy)
        return 0 if healthy else 1
    self_test = {True: "passed", False: "FAILED: sensor fault", None: "not available on this model"}
    rows = [("sensor self-test", self_test[report.sensor_ok]),
            ("usable scans", f"{report.usable} of {report.scans}")]
    from protocol.ef01 import describe_confirmation
    for code, count in sorted(report.rejected.items()):
        rows.append((f"rejected 0x{code:02X}", f"{count} x {describe_confirmation(code).meaning}"))
    if report.image_mean is not None:
        rows += [("image mean grey", f"{report.image_mean:.1f}"),
                 ("image contrast", f"{report.image_contrast:.1f}")]
    out.table("Sensor test", rows)
    out.result("sensor-test", {}, "Sensor OK." if healthy else
               "Sensor needs attention: clean the window; replace the module if it persists.",
               ok=healthy)
    return 0 if healthy else 1


def _delete(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    last = args.slot + args.count - 1
    used = sorted(s for s in reader.index() if args.slot <= s <= last)
    empty = [s for s in range(args.slot, last + 1) if s not in used]
    where = f"slot {args.slot}" if args.count == 1 else f"slots {args.slot}..{last}"
    if not used:
        # DeletChar succeeds on an empty slot too: say so instead of "Deleted"
        out.result("delete", {"slot": args.slot, "count": args.count, "deleted": [],
                              "empty": empty},
                   f"Nothing to delete: {where} {'was' if args.count == 1 else 'were all'} "
                   "empty.")
        return 0
    reader.delete(args.slot, args.count)
    text = f"Deleted {where}"
    if args.count > 1:
        text += f" ({len(used)} held a template: {_ranges(used)}"
        text += f"; {_ranges(empty)} {'was' if len(empty) == 1 else 'were'} empty)." if empty             else ")."
    else:
        text += "."
    out.result("delete", {"slot": args.slot, "count": args.count, "deleted": used,
                          "empty": empty}, text)
    return 0


def _clear(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    reader.clear()
    out.result("clear", {}, "The template library is empty.")
    return 0


def _index(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    used = sorted(reader.index())
    capacity = reader.parameters().capacity
    out.result("index", {"slots": used, "count": len(used), "capacity": capacity},
               f"{len(used)} of {capacity} slots used" + (f": {_ranges(used)}" if used else "."))
    return 0


def _ranges(slots: list[int]) -> str:
    """[0, 1, 2, 7] -> "0-2, 7"."""
    runs: list[list[int]] = []
    for slot in slots:
        if runs and slot == runs[-1][1] + 1:
            runs[-1][1] = slot
        else:
            runs.append([slot, slot])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _export(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    template = reader.export_template(args.slot)
    try:
        template.save(args.out)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {args.out}: {exc.strerror}") from exc
    out.result("export", {"slot": args.slot, "size": len(template), "file": str(args.out)},
               f"Saved the {len(template)}-byte template of slot {args.slot} to {args.out}.")
    return 0


def _import(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    template = _load_template(args.file)
    reader.import_template(template, slot=args.slot, overwrite=args.overwrite)
    out.result("import", {"slot": args.slot, "size": len(template), "file": str(args.file)},
               f"Stored {args.file} ({len(template)} bytes) in slot {args.slot}.")
    return 0


def _led(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    reader.led(args.mode, args.colour, speed=args.speed, cycles=args.cycles)
    out.result("led", {"mode": args.mode, "colour": args.colour},
               f"LED: {args.mode}, {args.colour}.")
    return 0


def _notepad(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    if args.write is not None:
        data = args.write.encode("utf-8")
        reader.write_notepad(args.page, data)
        out.result("notepad", {"page": args.page, "written": len(data)},
                   f"Wrote {len(data)} bytes to notepad page {args.page}.")
        return 0
    data = reader.read_notepad(args.page)
    text = data.rstrip(b"\x00").decode("utf-8", "replace")
    out.result("notepad", {"page": args.page, "hex": data.hex(), "text": text},
               f"page {args.page}: {data.hex()}  {text!r}")
    return 0


def _set(reader: FingerprintReader, args: argparse.Namespace, out: _Output) -> int:
    setter = {"security-level": reader.set_security_level, "packet-size": reader.set_packet_size,
              "baudrate": reader.set_baudrate}[args.setting]
    change = setter(args.value)
    out.result("set", {"setting": change.parameter, "old": change.old, "new": change.new,
                       "pending": change.pending, "note": cli_message(change.note)},
               cli_message(str(change)))
    return 0


_ACTIONS: dict[str, Callable[[FingerprintReader, argparse.Namespace, _Output], int]] = {
    "info": _info, "capture": _capture, "enroll": _enroll, "verify": _verify,
    "identify": _identify, "image": _image, "sensor-test": _sensor_test, "delete": _delete,
    "clear": _clear, "index": _index, "export": _export, "import": _import, "led": _led,
    "notepad": _notepad, "set": _set,
}
assert set(_ACTIONS) == set(_COMMANDS)
