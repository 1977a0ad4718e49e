"""``tactile demo``: the whole counter flow on the built-in simulators, no hardware needed.

1. A simulated EF01 fingerprint module: a virtual customer enrolls finger 3 (following the
   reader's coaching: place, lift, place again), the bank keeps the exported template, then the
   same finger is verified and another finger is rejected.
2. A simulated tactile PIN pad: the host reads the keypad layout (what guidance speaks to a
   blind customer), a scripted customer types a PIN on the pad, and the host receives only an
   enciphered ISO 9564 format 4 PIN block and the DUKPT KSN.  To prove the block is right the
   demo deciphers it with the published TEST keys (never possible with production keys, which
   the host does not hold) and compares it with the PIN the scripted customer typed.

The scripted PIN is random on every run unless ``--seed`` is given; it exists only in the
simulator's script and in the final check, never in anything the host receives.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from tools.args import add_json_flag, print_json

__all__ = ["register", "run"]

# ISO 9564 format 4 needs a PAN: a test card number (Luhn-valid, 19 digits as UnionPay cards)
_DEMO_PAN = "6222020200112233445"
_GENUINE_FINGER = 3
_OTHER_FINGER = 8


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the counter flow (fingerprint + PIN entry) on the built-in simulators",
        description="Enroll and verify a virtual finger on a simulated fingerprint module, then "
                    "run a PIN entry on a simulated tactile PIN pad and check the PIN block the "
                    "host received against the published test keys.  Exit status 0 when every "
                    "check passes.")
    parser.add_argument("--model", choices=["r307", "r503", "as608"], default="r307",
                        help="fingerprint module model to simulate (default r307)")
    parser.add_argument("--layout", choices=["telephone", "calculator", "pos"],
                        default="telephone", help="PIN pad keypad layout (default telephone)")
    parser.add_argument("--lang", choices=["en", "zh-CN"], default="en",
                        help="language of the pad's spoken prompts (default en)")
    parser.add_argument("--seed", type=int, default=None,
                        help="make the virtual fingers' captures and the scripted PIN repeatable")
    add_json_flag(parser)
    parser.set_defaults(func=run)


class _Report:
    """Prints for people (rich) or collects one JSON object."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.console = Console(highlight=False)
        self.data: dict[str, Any] = {}

    def heading(self, text: str) -> None:
        if not self.as_json:
            self.console.rule(f"[bold]{text}")

    def line(self, text: str) -> None:
        if not self.as_json:
            self.console.print(text)

    def check(self, label: str, passed: bool) -> bool:
        self.data.setdefault("checks", []).append({"check": label, "passed": passed})
        if not self.as_json:
            mark = "[green]PASS[/green]" if passed else "[red]FAIL[/red]"
            self.console.print(f"  {mark}  {label}")
        return passed


def _fingerprint_part(args: argparse.Namespace, report: _Report, seed: int) -> bool:
    from drivers import FingerprintReader, LiftFinger, PlaceFinger
    from firmware_sim import simulate

    report.heading("Fingerprint confirmation (simulated EF01 module)")
    with simulate("fingerprint", model=args.model, seed=seed) as runner:
        finger = {"id": _GENUINE_FINGER}

        def customer(event: Any) -> None:
            # the virtual customer does what the coaching says, like a person at the counter
            report.line(f"    [dim]reader:[/dim] {event}")
            if isinstance(event, PlaceFinger):
                runner.command(f"place {finger['id']} 90")
            elif isinstance(event, LiftFinger):
                runner.command("lift")

        with FingerprintReader.open(f"sim://fingerprint?name={runner.name}") as reader:
            info = reader.info()
            report.line(f"  module: {info}")
            report.line(f"  enrolling virtual finger {_GENUINE_FINGER} ...")
            started = time.monotonic()
            template = reader.enroll(on_event=customer)
            report.line(f"  template exported for the bank's records: {len(bytes(template))} bytes "
                        f"({time.monotonic() - started:.1f} s)")
            runner.command("lift")

            report.line(f"  verifying finger {_GENUINE_FINGER} against that template ...")
            genuine = reader.verify(template, attempts=3, on_event=customer)
            runner.command("lift")
            finger["id"] = _OTHER_FINGER
            report.line(f"  verifying a different finger ({_OTHER_FINGER}) against it ...")
            other = reader.verify(template, attempts=2, on_event=customer)
            runner.command("lift")
    report.data["fingerprint"] = {
        "model": args.model, "template_bytes": len(bytes(template)),
        "genuine": {"matched": genuine.matched, "score": genuine.score},
        "other_finger": {"matched": other.matched, "score": other.score},
    }
    ok = report.check(f"finger {_GENUINE_FINGER} verified (score {genuine.score})", genuine.matched)
    ok &= report.check(f"finger {_OTHER_FINGER} rejected (best score {other.score})",
                       not other.matched)
    return ok


def _layout_table(layout: Any) -> Table:
    table = Table(title=f"keypad layout '{layout.name}' as the host reads it (0..999 frame)")
    for column in ("key", "label", "row", "column", "x", "y", "tactile mark", "colour"):
        table.add_column(column)
    for key in layout.keys:
        mark = getattr(key.mark, "value", key.mark)
        colour = getattr(key.colour, "value", key.colour)
        table.add_row(key.name, key.label, str(key.row), str(key.column), str(key.x), str(key.y),
                      str(mark), str(colour))
    return table


def _pin_part(args: argparse.Namespace, report: _Report, rng: random.Random) -> bool:
    from drivers import TactilePinPad
    from drivers.pinpad import TEST_KEYS
    from firmware_sim import simulate
    from protocol.dukpt import aes_derive_pin_key
    from protocol.pinblock import decipher_pin_block

    report.heading("PIN entry (simulated tactile PIN pad)")
    scripted_pin = "".join(rng.choice("0123456789") for _ in range(6))
    spoken: list[dict[str, Any]] = []
    tones: list[dict[str, Any]] = []
    received: list[str] = []

    def watch(event: dict[str, Any]) -> None:
        if event.get("event") == "say":
            spoken.append(event)
        elif event.get("event") == "tone":
            tones.append(event)

    with simulate("pinpad", layout=args.layout) as runner:
        runner.subscribe(watch)
        with TactilePinPad.open(f"sim://pinpad?name={runner.name}") as pad:
            info = pad.info()
            report.line(f"  pad: {info.vendor} {info.model}, serial {info.serial}, "
                        f"firmware {info.firmware}")
            layout = pad.layout()
            if not report.as_json:
                report.console.print(_layout_table(layout))
            presses = "; ".join([f"press {d}" for d in scripted_pin] + ["press enter"])
            report.line(f"  the simulator's scripted customer will type a 6-digit test PIN "
                        f"({scripted_pin}) and press Enter")
            runner.command(f"script {presses}")
            with pad.pin_entry(min_len=6, max_len=6, pan=_DEMO_PAN, block_format="iso4",
                               lang=args.lang) as entry:
                for event in entry:
                    received.append(repr(event))
                    report.line(f"    [dim]host received:[/dim] {event}")
    completion = getattr(entry.completion, "value", entry.completion)
    block, ksn = entry.pin_block, entry.ksn
    report.line(f"  completion: {completion}, digits: {entry.digits}")
    report.line(f"  PIN block (ISO 9564 format 4, AES DUKPT): "
                f"{block.hex().upper() if block else '-'}")
    report.line(f"  KSN: {ksn.hex().upper() if ksn else '-'}")
    for utterance in spoken:
        report.line(f"    [dim]pad said ({utterance.get('lang')}):[/dim] {utterance.get('text')}")

    aes_test = next(k for k in TEST_KEYS if k.kind.name == "AES_DUKPT")
    deciphered = None
    if block and ksn:
        key = aes_derive_pin_key(aes_test.bdk, ksn)
        deciphered = decipher_pin_block("iso4", key, block, _DEMO_PAN)
    report.data["pin"] = {
        "status": "ok" if completion == "enter" else completion, "digits": entry.digits,
        "format": "iso4", "pin_block": block.hex().upper() if block else None,
        "ksn": ksn.hex().upper() if ksn else None,
        "spoken": [{"text": u.get("text"), "lang": u.get("lang")} for u in spoken],
        "tones": len(tones),
    }
    transcript = " ".join(str(u.get("text", "")) for u in spoken)
    ok = report.check("entry completed with Enter, 6 digits", completion == "enter"
                      and entry.digits == 6)
    ok &= report.check("PIN block deciphers with the published TEST keys to the PIN typed",
                       deciphered == scripted_pin)
    ok &= report.check("no spoken prompt and no host event carries the PIN",
                       scripted_pin not in transcript and scripted_pin not in " ".join(received))
    return ok


def run(args: argparse.Namespace) -> int:
    report = _Report(args.json)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    ok = _fingerprint_part(args, report, rng.randrange(2**31))
    ok &= _pin_part(args, report, rng)
    from tools._demo_confirmation import run_confirmation_demo   # issue 7: fingerprint + dual review
    ok &= run_confirmation_demo(report, args, rng)
    report.data["ok"] = ok
    if args.json:
        print_json(report.data)
    else:
        report.heading("[green]all checks passed" if ok else "[red]a check failed")
    return 0 if ok else 1
