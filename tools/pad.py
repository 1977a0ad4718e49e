"""``tactile pad ACTION PORT``: a technician's tools for TPP PIN pads.

* ``info``, ``status``, ``layout``, ``keys``, ``reset``: what the pad reports, readable (``--json``:
  one object).  ``layout`` checks the layout too (every digit key once, a 12-key digit block,
  the 5 has its dot, Enter/Clear/Cancel their marks); ``keys`` shows each key slot with its
  check value and DUKPT transaction counter (a counter near its end is a warning).
* ``keytest``: a live grid of the pad's keys, drawn from the layout it reports, that fills as
  each key is pressed.  The pad runs in EXPLORE mode (it speaks each key; no PIN entry is ever
  started, so no PIN can be involved).  It flags a key that registers again without being
  pressed again (bounce: a repeat closer than ``--bounce-ms``), a key never seen (dead), and a
  key seen once and then never again although each key is pressed ``--presses`` times (stuck
  down: a key held down gives no new press).  It ends on Cancel pressed twice in a row or after
  ``--timeout`` seconds without a key.
* ``audiotest``: speech in each language the pad has, at slow, normal and fast rates and at
  three volumes, every tone, headset detection (the technician plugs one in), display and
  haptics where present; the technician confirms each step on the pad: Enter yes, Clear again,
  Cancel no.

Exit status: 0 ok, 1 a device fault or a failed check, 2 bad usage.  ``--trace`` prints every
frame on the line, decoded, to stderr.  Serial ports are opened exclusively.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from drivers.pinpad import (
    HeadsetInserted,
    HeadsetRemoved,
    KeyPressed,
    SpeechEnded,
    TactilePinPad,
    pressed_key,
)
from drivers.transport import SerialTransport, Transport
from protocol import dukpt
from protocol.errors import ConfigurationError, DeviceError, TactileError
from protocol.layout import DIGIT_KEY_NAMES, Layout, TactileMark
from protocol.tpp.codes import Capability, KeyKind, Tone
from tools.args import (
    PAD_PORT_HELP,
    add_customer_arguments,
    add_json_flag,
    counter_config,
    add_trace_flag,
    baud_argument,
    positive,
    print_json,
    quiet_driver_logs,
)
from tools.commands import COMMANDS

__all__ = ["register", "run", "open_pad", "layout_checks", "key_slot_report", "KeyTest",
           "pad_baud"]

_ACTIONS = {
    "info": ("what the pad is: vendor, model, serial, firmware, capabilities",
             "Show GetInfo: vendor, model, serial, firmware, protocol versions, capabilities, "
             "languages, display, PIN block formats, key slots, prompts."),
    "status": ("mode, headset, audio settings, entries left",
               "Show GetStatus: mode, headset, speaking, volume, rate, language, entries left."),
    "layout": ("the keys and where they are, with a layout check",
               "Show the reported layout as a grid and a table, and check it: every digit "
               "once, a 12-key digit block, the 5 with its dot, Enter/Clear/Cancel marked."),
    "keys": ("key slots, check values and DUKPT counters",
             "Show each key slot: what it holds, its check value (KCV), the DUKPT KSN and "
             "transaction counter; a counter near its end is a warning."),
    "reset": ("restart the pad", "Reset the pad (any entry ends, PINs are wiped) and show "
                                 "it came back."),
    "keytest": ("test every key (explore mode; no PIN involved)",
                "A live grid of the pad's keys that fills as each key is pressed, in explore "
                "mode (the pad speaks each key; never PIN entry). Press every key --presses "
                "times, Cancel last: Cancel twice in a row ends the test (or --timeout "
                "seconds without a key). Flags bounce, dead keys and stuck keys."),
    "audiotest": ("test speech, volume, tones, headset, display, haptics",
                  "Speech in each language at slow, normal and fast rates and three volumes, "
                  "every tone, headset detection, display and haptics where present. Confirm "
                  "each step on the pad: Enter = yes, Clear = again, Cancel = no."),
}

#: speech rates (percent) of the audio test
RATES = {"slow": 70, "normal": 100, "fast": 160}
#: volumes (1..1000) of the audio test
VOLUMES = {"low": 250, "medium": 550, "high": 900}
_SAMPLES = {"en": "This is the tactile audio test. One, two, three.",
            "zh-CN": "这是触觉键盘的语音测试。一，二，三。"}
_HEADSET_IN = {"en": "Please plug a headset into the headset jack now.",
               "zh-CN": "请现在将耳机插入耳机插孔。"}
_HEADSET_TEST = {"en": "You should hear this in the headset only.",
                 "zh-CN": "您应该只在耳机中听到这句话。"}
_HEADSET_OUT = {"en": "Please unplug the headset now.", "zh-CN": "请现在拔出耳机。"}
#: a DUKPT counter past this share of its range is a warning
COUNTER_WARNING = 0.9


#: ``--baud`` of the pad commands (tools.pin uses it too)
_baud = baud_argument(example="115200")
_seconds = positive(float, unit="seconds")


def add_pad_options(parser: argparse.ArgumentParser) -> None:
    """PORT, --baud (or auto), --trace: shared with ``tactile diag``."""
    parser.add_argument("port", metavar="PORT", help=PAD_PORT_HELP)
    parser.add_argument("--baud", type=_baud, default=115200, metavar="BAUD",
                        help="serial speed (default 115200; `auto` tries 115200 and 9600; "
                             "ignored for USB)")
    add_trace_flag(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pad", help=COMMANDS["pad"],
        description="Inspect and exercise a TPP PIN pad: info, status, layout, keys, reset, "
                    "keytest (explore mode, no PIN), audiotest. Exit status: 0 ok, 1 a device "
                    "fault or failed check, 2 bad usage.")
    sub = parser.add_subparsers(dest="pad_command", metavar="ACTION", required=True)
    for name, (short, long) in _ACTIONS.items():
        p = sub.add_parser(name, help=short, description=long)
        add_pad_options(p)
        if name == "keytest":
            p.add_argument("--timeout", type=_seconds, default=60.0, metavar="SECONDS",
                           help="end the test after this many seconds without a key "
                                "(default 60)")
            p.add_argument("--presses", type=positive(int), default=2, metavar="N",
                           help="presses asked of every key (default 2; from 2 a stuck key "
                                "is told from a good one)")
            p.add_argument("--bounce-ms", type=positive(float, unit="milliseconds"),
                           default=120.0, metavar="MS",
                           help="a key registering again within MS ms of its press is "
                                "bouncing (default 120; the pad itself debounces 50 ms)")
            add_customer_arguments(p, sound=False,
                                   what="the language the pad names the keys in")
        elif name == "audiotest":
            p.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS",
                           help="seconds to wait for each confirmation (default 30)")
            p.add_argument("--skip-headset", action="store_true",
                           help="no headset at hand: skip the headset steps")
        else:
            p.add_argument("--timeout", type=_seconds, default=3.0, metavar="SECONDS",
                           help="seconds to wait for the pad to answer (default 3)")
        add_json_flag(p)
        p.set_defaults(func=run, action_name=name)


# ---------------------------------------------------------------------- opening
def pad_baud(port: str, baud: int | str) -> int | None:
    """The speed to open ``port`` at: ``auto`` asks the pad (115200, then 9600)."""
    if port.lower().startswith("usb:"):
        return None
    if baud != "auto":
        return int(baud)
    from tools._probe import TPP_RATES, detect_tpp_baudrate
    rate = detect_tpp_baudrate(port)
    if rate is None:
        from protocol.errors import DeviceTimeoutError
        raise DeviceTimeoutError(
            f"no TPP PIN pad answered on {port} at {' or '.join(map(str, TPP_RATES))} baud. "
            "Check power and cable (TX/RX crossed?), that no other program holds the port, and "
            "that the device is a TPP PIN pad (`tactile list --probe PORT` says what answers).")
    return rate


def open_pad(port: str, *, baud: int | str = 115200, timeout: float = 3.0,
             trace: bool = False) -> TactilePinPad:
    """Open a pad for a CLI command (``baud`` "auto" asks it; ``trace`` decodes to stderr)."""
    quiet_driver_logs()
    rate = pad_baud(port, baud)
    if not trace:
        return TactilePinPad.open(port, baudrate=rate or 115200, timeout=timeout)
    from tools._trace import TracingTransport

    def opener() -> Transport:
        if port.lower().startswith("usb:"):
            from drivers.usb import UsbTransport, parse_selector
            return TracingTransport(UsbTransport(parse_selector(port)))
        return TracingTransport(SerialTransport(port, rate or 115200))

    return TactilePinPad(opener(), timeout=timeout, baudrate=rate, target=port, reopen=opener)


# ---------------------------------------------------------------------- output
class _Out:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.console = None
        if not as_json:
            from rich.console import Console
            self.console = Console(highlight=False, soft_wrap=True)

    def say(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text)

    def prompt(self, text: str) -> None:
        """What the technician must do: on stdout for people; with --json on stderr (plain),
        so a script's stdout stays one JSON object and the person still sees the step."""
        if self.console is not None:
            self.console.print(text)
            return
        from rich.text import Text
        try:
            print(Text.from_markup(text).plain, file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass

    def table(self, title: str, rows: list[tuple[str, Any]]) -> None:
        if self.console is None:
            return
        from rich.table import Table
        from rich.text import Text
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        for key, value in rows:
            table.add_row(key, Text("-" if value is None else str(value)))
        self.console.print(table)


def _jsonable(value: Any) -> Any:
    from protocol.tpp import describe
    import dataclasses
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = describe(value)
        out.pop("message", None)
        return out
    return value


# ---------------------------------------------------------------------- info, status ...
def info_rows(info: Any, version: Any) -> list[tuple[str, Any]]:
    caps = [c.name.lower().replace("_", "-") for c in Capability if c in info.capabilities]
    return [("vendor", info.vendor), ("model", info.model), ("serial", info.serial),
            ("firmware", info.firmware), ("protocol", f"TPP {version} (pad offers "
                                          f"{info.min_version}..{info.max_version})"),
            ("capabilities", ", ".join(caps) or "none"),
            ("languages", ", ".join(info.languages)),
            ("display", f"{info.display_columns} x {info.display_rows}"
             if info.display_columns else "none"),
            ("PIN block formats", ", ".join(f.value for f in info.pin_block_formats)),
            ("key slots", ", ".join(f"{s.slot} {s.name} ({s.kind.name})" for s in info.key_slots)),
            ("PIN entries per hour", info.max_pin_entries_per_hour),
            ("prompts", len(info.prompts))]


def status_rows(status: Any) -> list[tuple[str, Any]]:
    return [("mode", status.mode.name.lower()), ("headset", "in" if status.headset else "out"),
            ("speaking", "yes" if status.speaking else "no"), ("volume", status.volume),
            ("speech rate", f"{status.rate} %"), ("language", status.lang),
            ("PIN held", "yes" if status.pin_held else "no"),
            ("PIN entries left this hour", status.entries_left),
            ("key beep", f"active {'on' if status.beep_active else 'off'}, inactive "
                         f"{'on' if status.beep_inactive else 'off'}")]


def layout_checks(layout: Layout) -> list[dict[str, Any]]:
    """The layout sanity checks: [{"check", "ok", "detail"}]."""
    checks = []

    def check(name: str, ok: bool, detail: str) -> None:
        checks.append({"check": name, "ok": bool(ok), "detail": detail})

    names = [k.name for k in layout]
    missing = [d for d in DIGIT_KEY_NAMES if d not in names]
    doubled = sorted({n for n in names if names.count(n) > 1})
    check("digit keys", not missing and not doubled,
          "0-9 each once" if not missing and not doubled else
          f"missing {', '.join(missing) or '-'}; twice {', '.join(doubled) or '-'}")
    digits = [layout.get(d) for d in DIGIT_KEY_NAMES if layout.get(d) is not None]
    if digits:
        rows = {k.row for k in digits}
        cols = {k.column for k in digits}
        block = [layout.at(r, c) for r in range(min(rows), max(rows) + 1)
                 for c in range(min(cols), max(cols) + 1)]
        filled = sum(1 for k in block if k is not None)
        check("12-key digit block", len(block) == 12 and filled == 12,
              f"{max(rows) - min(rows) + 1} rows x {max(cols) - min(cols) + 1} columns, "
              f"{filled} keys")
    five = layout.get("five")
    check("5 has its dot", five is not None and five.mark is TactileMark.DOT,
          f"mark {five.mark.value}" if five is not None else "no 5 key")
    for name, mark in (("enter", TactileMark.CIRCLE), ("clear", TactileMark.LEFT_ARROW),
                       ("cancel", TactileMark.X)):
        key = layout.get(name)
        check(f"{name} marked {mark.value}", key is not None and key.mark is mark,
              f"mark {key.mark.value}, colour {key.colour.value}" if key is not None
              else f"no {name} key")
    keys = list(layout)
    overlaps = [f"{a.name}/{b.name}" for i, a in enumerate(keys) for b in keys[i + 1:]
                if a.overlaps(b)]
    check("keys do not overlap", not overlaps, ", ".join(overlaps) or "none")
    return checks


def key_slot_report(pad: TactilePinPad) -> list[dict[str, Any]]:
    """Every key slot: kind, KCV, KSN, counter, and a verdict (ok / warning / empty / fail)."""
    out = []
    for slot in pad.info().key_slots:
        ki = pad.key_info(slot.slot)
        entry: dict[str, Any] = {"slot": slot.slot, "name": slot.name,
                                 "kind": slot.kind.name.lower(),
                                 "loaded": ki.kind is not KeyKind.NONE,
                                 "kcv": bytes(ki.kcv).hex().upper() or None,
                                 "ksn": bytes(ki.ksn).hex().upper() or None,
                                 "counter": None, "used": None, "status": "ok", "note": ""}
        if ki.kind is KeyKind.NONE:
            entry["status"] = "empty"
            entry["note"] = "no key loaded"
        elif ki.ksn:
            if ki.kind is KeyKind.AES_DUKPT:
                counter, top = dukpt.aes_ksn_counter(bytes(ki.ksn)), dukpt.AES_COUNTER_MAX
            else:
                counter, top = dukpt.tdes_ksn_counter(bytes(ki.ksn)), dukpt.TDES_COUNTER_MAX
            entry["counter"] = counter
            entry["used"] = round(counter / top, 6)
            if counter > top:
                entry["status"], entry["note"] = "fail", "exhausted: load a new initial key"
            elif counter / top >= COUNTER_WARNING:
                entry["status"] = "warning"
                entry["note"] = (f"transaction counter at {counter / top:.0%} of its range: "
                                 "plan a new initial key")
        out.append(entry)
    return out


def draw_grid(layout: Layout, cell: Callable[[Any], tuple[str, str]]) -> Any:
    """A rich table shaped like the keypad; ``cell(key) -> (text, style)``."""
    from rich.table import Table
    from rich.text import Text
    table = Table(show_header=False, show_lines=True, title=f"{layout.name} layout")
    for _ in range(layout.columns):
        table.add_column(justify="center", min_width=9)
    for row in range(layout.rows):
        cells = []
        for column in range(layout.columns):
            key = layout.at(row, column)
            if key is None:
                cells.append(Text(""))
            else:
                text, style = cell(key)
                cells.append(Text(text, style=style))
        table.add_row(*cells)
    return table


def _key_label(key: Any) -> str:
    mark = {TactileMark.DOT: " •", TactileMark.CIRCLE: " ○", TactileMark.LEFT_ARROW: " ←",
            TactileMark.X: " ×"}.get(key.mark, "")
    return f"{key.label}{mark}"


# ---------------------------------------------------------------------- keytest
@dataclass
class _KeyState:
    key: Any
    presses: int = 0
    bounces: int = 0
    bounce_gaps: list[float] = field(default_factory=list)
    last: float | None = None


class KeyTest:
    """The keytest's bookkeeping (no I/O): feed key names with their arrival times."""

    def __init__(self, layout: Layout, *, presses: int = 2, bounce: float = 0.12) -> None:
        self.layout = layout
        self.wanted = presses
        self.bounce = bounce
        self.keys = {k.name: _KeyState(k) for k in layout}
        self.unknown: dict[str, int] = {}
        self.ended = "timeout"
        self._previous: str | None = None

    def press(self, name: str, when: float) -> bool:
        """One KeyPressed; True when the test is over (Cancel twice in a row)."""
        state = self.keys.get(name)
        if state is None:
            self.unknown[name] = self.unknown.get(name, 0) + 1
            self._previous = name
            return False
        bounced = state.last is not None and when - state.last < self.bounce
        if bounced:
            state.bounces += 1
            state.bounce_gaps.append(round((when - state.last) * 1000, 1))
        else:
            state.presses += 1
        state.last = when
        if bounced:
            return False
        done = name == "cancel" and self._previous == "cancel"
        self._previous = name
        if done:
            self.ended = "cancel-twice"
        return done

    def verdict(self, name: str) -> tuple[str, str]:
        """(status, what to check) of one key: ok, bounce, dead, stuck, pressed-less."""
        s = self.keys[name]
        if s.bounces:
            gaps = ", ".join(f"{g:g} ms" for g in s.bounce_gaps)
            return "bounce", (f"registered {s.bounces} extra time(s) without being pressed again "
                              f"({gaps} after a press): the key switch chatters; clean or "
                              "replace it")
        if s.presses == 0:
            return "dead", "never seen: a dead key (broken switch or matrix line), or not pressed"
        if s.presses == 1 and self.wanted >= 2:
            return "stuck", ("seen once and never again: a key stuck down gives no new press "
                             "(free it, check for debris), or it was pressed only once")
        if s.presses < self.wanted:
            return "short", f"pressed {s.presses} of {self.wanted} times"
        return "ok", ""

    def report(self) -> dict[str, Any]:
        keys, problems = [], []
        for name, s in self.keys.items():
            status, note = self.verdict(name)
            keys.append({"key": name, "label": s.key.label, "row": s.key.row,
                         "column": s.key.column, "presses": s.presses, "bounces": s.bounces,
                         "status": status})
            if status != "ok":
                problems.append({"key": name, "problem": status, "message": note})
        for name, count in self.unknown.items():
            problems.append({"key": name, "problem": "not-in-layout",
                             "message": f"the pad reported {name!r} {count} time(s), a key its "
                                        "layout does not have"})
        return {"result": "keytest", "ok": not problems, "ended": self.ended,
                "layout": self.layout.name, "presses_asked": self.wanted,
                "bounce_ms": self.bounce * 1000, "keys": keys, "problems": problems}

    def cell(self, key: Any) -> tuple[str, str]:
        s = self.keys[key.name]
        status, _ = self.verdict(key.name)
        text = f"{_key_label(key)}\n{s.presses}/{self.wanted}" + (
            f" +{s.bounces}!" if s.bounces else "")
        if s.bounces:
            return text, "bold white on red"
        if s.presses >= self.wanted:
            return text, "bold black on green"
        if s.presses:
            return text, "black on yellow"
        return text, "dim"


def _keytest(pad: TactilePinPad, args: argparse.Namespace, out: _Out) -> int:
    counter_config(args)           # the counter's language when --lang is not given
    layout = pad.layout()
    test = KeyTest(layout, presses=args.presses, bounce=args.bounce_ms / 1000)
    out.prompt(f"[bold]Key test[/] on {pad.target}: press every key {args.presses} times "
            "(slowly), Cancel last - Cancel twice in a row ends the test "
            f"(or {args.timeout:g} s without a key). The pad names each key; no PIN is "
            "involved (explore mode).")
    live = None
    if out.console is not None and out.console.is_terminal:
        from rich.live import Live
        live = Live(draw_grid(layout, test.cell), console=out.console, auto_refresh=False)
        live.start()
    try:
        with pad.explore(lang=args.lang, idle_timeout=args.timeout) as session:
            for event in session:
                if isinstance(event, KeyPressed):
                    done = test.press(event.name, time.monotonic())
                    if live is not None:
                        live.update(draw_grid(layout, test.cell), refresh=True)
                    elif out.console is not None:
                        st = test.keys.get(event.name)
                        out.say(f"  key {event.name}" + (f": {st.presses} press(es)"
                                                         + (f", {st.bounces} bounce(s)"
                                                            if st.bounces else "")
                                                         if st else " (not in the layout)"))
                    if done:
                        break
                elif isinstance(event, (HeadsetInserted, HeadsetRemoved)):
                    out.say(f"  {event}")
    finally:
        if live is not None:
            live.stop()
    report = test.report()
    if out.as_json:
        print_json(report)
    else:
        assert out.console is not None
        if live is None:
            out.console.print(draw_grid(layout, test.cell))
        how = "Cancel pressed twice" if test.ended == "cancel-twice" else \
            f"no key for {args.timeout:g} s"
        out.say(f"Ended: {how}.")
        groups: dict[str, list[dict[str, Any]]] = {}
        for problem in report["problems"]:
            groups.setdefault(problem["problem"], []).append(problem)
        for kind, items in groups.items():
            if len(items) > 2 and kind in ("dead", "stuck", "short"):
                # one line for many keys: the same words would repeat
                names = ", ".join(p["key"] for p in items)
                out.say(f"[red]{kind.upper()}[/] ({len(items)} keys: {names}): "
                        + items[0]["message"])
                continue
            for problem in items:
                out.say(f"[red]{problem['key']}: {problem['problem'].upper()}[/]: "
                        f"{problem['message']}")
        out.say("[green]Every key works.[/]" if report["ok"] else
                f"[red]{len(report['problems'])} key(s) need attention.[/]")
    return 0 if report["ok"] else 1


# ---------------------------------------------------------------------- audiotest
@dataclass
class _Step:
    name: str
    question: str
    status: str = "pending"      # ok, failed, no, no-answer, skipped
    detail: str = ""


class _AudioTest:
    def __init__(self, pad: TactilePinPad, listener: Any, out: _Out, wait: float) -> None:
        self.pad = pad
        self.listener = listener
        self.out = out
        self.wait = wait
        self.steps: list[_Step] = []

    def confirm(self, name: str, question: str, action: Callable[[], None]) -> _Step:
        """Do ``action``, then wait for Enter (yes) / Cancel (no) / Clear (again)."""
        step = _Step(name, question)
        self.steps.append(step)
        for attempt in range(3):
            self.listener.drain()
            self.out.prompt(f"[bold]{len(self.steps)}. {name}[/]: {question}"
                         + (" [dim](again)[/]" if attempt else ""))
            try:
                action()
            except DeviceError as exc:
                step.status, step.detail = "failed", _device_problem(exc)
                self.out.say(f"   [red]FAILED[/]: {step.detail}")
                return step
            answer = self._answer()
            if answer == "again":
                continue
            step.status = {"yes": "ok", "no": "no", None: "no-answer"}[answer]
            step.detail = {"ok": "confirmed", "no": "the technician said no",
                           "no-answer": f"no key within {self.wait:g} s"}[step.status]
            break
        else:
            step.status, step.detail = "no-answer", "repeated three times without an answer"
        colour = "green" if step.status == "ok" else "red"
        self.out.say(f"   [{colour}]{step.status}[/]")
        return step

    def _answer(self) -> str | None:
        deadline = time.monotonic() + self.wait
        while (left := deadline - time.monotonic()) > 0:
            event = self.listener.next(left)
            key = pressed_key(event)
            if isinstance(event, SpeechEnded) and event.how == "failed":
                return "no"
            if key == "enter":
                return "yes"
            if key == "cancel":
                return "no"
            if key == "clear":
                return "again"
        return None

    def wait_for(self, cls: type, name: str, question: str, prompt: Callable[[], None]) -> _Step:
        step = _Step(name, question)
        self.steps.append(step)
        self.out.prompt(f"[bold]{len(self.steps)}. {name}[/]: {question}")
        self.listener.drain()
        try:
            prompt()
        except DeviceError as exc:
            step.detail = f"(the spoken request failed: {_device_problem(exc)}) "
        deadline = time.monotonic() + self.wait
        while (left := deadline - time.monotonic()) > 0:
            if isinstance(self.listener.next(left), cls):
                step.status, step.detail = "ok", step.detail + "detected"
                break
        else:
            step.status = "failed"
            step.detail += f"the pad reported no headset change within {self.wait:g} s"
        colour = "green" if step.status == "ok" else "red"
        self.out.say(f"   [{colour}]{step.status}[/]: {step.detail}")
        return step


def _device_problem(exc: DeviceError) -> str:
    from protocol.tpp.codes import ResultCode
    if exc.code == int(ResultCode.SPEECH_FAILED):
        return ("the speech unit failed (the pad refused to speak): check the speaker and the "
                "speech module; the pad falls back to its display")
    return str(exc)


def _audiotest(pad: TactilePinPad, args: argparse.Namespace, out: _Out) -> int:
    info = pad.info()
    caps = info.capabilities
    out.prompt(f"[bold]Audio test[/] on {pad.target}. Stand at the pad and answer each step on "
            "its keys: [bold]Enter[/] = yes, [bold]Clear[/] = play it again, [bold]Cancel[/] = "
            f"no (no key within {args.timeout:g} s counts as no answer).")
    with pad.listen() as listener:
        test = _AudioTest(pad, listener, out, args.timeout)
        languages = list(info.languages) or ["en"]
        for lang in languages:
            sample = _SAMPLES.get(lang, _SAMPLES["en"])
            for rate_name, rate in RATES.items():
                test.confirm(f"speech {lang} {rate_name}",
                             f"did you hear the {lang} sentence, clearly, at a {rate_name} rate?",
                             lambda s=sample, lg=lang, r=rate: pad.speak(s, lg, rate=r))
        first = languages[0]
        for vol_name, volume in VOLUMES.items():
            test.confirm(f"volume {vol_name}", f"did you hear the sentence at {vol_name} volume?",
                         lambda v=volume: pad.speak(_SAMPLES.get(first, _SAMPLES["en"]), first,
                                                    volume=v))
        for tone in Tone:
            if tone is Tone.CUSTOM:
                test.confirm("tone custom 1000 Hz", "did you hear a 1000 Hz beep of 300 ms?",
                             lambda: pad.play_tone(Tone.CUSTOM, frequency=1000, duration=300))
            else:
                test.confirm(f"tone {tone.name.lower()}",
                             f"did you hear the {tone.name.lower()} tone?",
                             lambda t=tone: pad.play_tone(t))
        if Capability.HEADSET_JACK in caps and not args.skip_headset:
            if not pad.status().headset:
                test.wait_for(HeadsetInserted, "headset detection",
                              "plug a headset into the pad's jack now.",
                              lambda: pad.speak(_HEADSET_IN.get(first, _HEADSET_IN["en"]), first))
            test.confirm("headset audio", "do you hear the sentence in the headset, and not "
                         "from the speaker?",
                         lambda: pad.speak(_HEADSET_TEST.get(first, _HEADSET_TEST["en"]), first))
            test.wait_for(HeadsetRemoved, "headset removal", "unplug the headset now.",
                          lambda: pad.speak(_HEADSET_OUT.get(first, _HEADSET_OUT["en"]), first))
        elif Capability.HEADSET_JACK not in caps:
            test.steps.append(_Step("headset", "", "skipped", "the pad has no headset jack"))
        if Capability.DISPLAY in caps:
            test.confirm("display", "does the pad's display show 'TACTILE TEST 123'?",
                         lambda: pad.display("TACTILE TEST 123"))
            try:
                pad.display("")
            except TactileError:
                pass
        else:
            test.steps.append(_Step("display", "", "skipped", "the pad has no display"))
        if Capability.HAPTICS in caps:
            test.confirm("haptics", "did the pad vibrate (long, short, long)?",
                         lambda: pad.haptic((400, 150, 150, 150, 400)))
        else:
            test.steps.append(_Step("haptics", "", "skipped", "the pad has no vibration motor"))
    steps = [{"step": s.name, "status": s.status, "detail": s.detail} for s in test.steps]
    ok = all(s.status in ("ok", "skipped") for s in test.steps)
    if out.as_json:
        print_json({"result": "audiotest", "ok": ok, "steps": steps})
    else:
        bad = [s for s in test.steps if s.status not in ("ok", "skipped")]
        out.say("[green]Audio, tones and outputs all confirmed.[/]" if ok else
                f"[red]{len(bad)} step(s) failed: "
                + "; ".join(f"{s.name} ({s.status})" for s in bad) + "[/]")
    return 0 if ok else 1


# ---------------------------------------------------------------------- run
def run(args: argparse.Namespace) -> int:
    out = _Out(args.json)
    action = args.action_name
    with open_pad(args.port, baud=args.baud, timeout=3.0 if action in ("keytest", "audiotest")
                  else args.timeout, trace=args.trace) as pad:
        if action == "keytest":
            return _keytest(pad, args, out)
        if action == "audiotest":
            return _audiotest(pad, args, out)
        if action == "info":
            info = pad.info()
            if out.as_json:
                print_json({"result": "info", "ok": True, "target": pad.target,
                            "version": str(pad.version), **_jsonable(info)})
            else:
                out.table(f"PIN pad on {pad.target}", info_rows(info, pad.version))
            return 0
        if action == "status":
            status = pad.status()
            if out.as_json:
                print_json({"result": "status", "ok": True, **_jsonable(status)})
            else:
                out.table("PIN pad status", status_rows(status))
            return 0
        if action == "layout":
            layout = pad.layout()
            checks = layout_checks(layout)
            ok = all(c["ok"] for c in checks)
            if out.as_json:
                print_json({"result": "layout", "ok": ok, **layout.to_dict(), "checks": checks})
            else:
                assert out.console is not None
                out.console.print(draw_grid(layout, lambda k: (_key_label(k), "bold")))
                from rich.table import Table
                table = Table(title="Keys (x, y, width, height in the 0..999 frame)")
                for column in ("key", "label", "row", "column", "x", "y", "w", "h", "mark",
                               "colour"):
                    table.add_column(column)
                for k in layout:
                    table.add_row(k.name, k.label, str(k.row + 1), str(k.column + 1), str(k.x),
                                  str(k.y), str(k.width), str(k.height), k.mark.value,
                                  k.colour.value)
                out.console.print(table)
                _print_checks(out, checks)
            return 0 if ok else 1
        if action == "keys":
            slots = key_slot_report(pad)
            ok = all(s["status"] in ("ok", "empty", "warning") for s in slots)
            if out.as_json:
                print_json({"result": "keys", "ok": ok, "slots": slots})
            else:
                assert out.console is not None
                from rich.table import Table
                table = Table(title="Key slots")
                for column in ("slot", "name", "kind", "KCV", "KSN", "counter", "status"):
                    table.add_column(column)
                for s in slots:
                    style = {"ok": "green", "empty": "dim", "warning": "yellow"}.get(s["status"],
                                                                                       "red")
                    table.add_row(str(s["slot"]), s["name"], s["kind"], s["kcv"] or "-",
                                  s["ksn"] or "-", "-" if s["counter"] is None else
                                  str(s["counter"]), f"[{style}]{s['status']}[/]"
                                  + (f" {s['note']}" if s["note"] and s["status"] != "empty"
                                     else ""))
                out.console.print(table)
            return 0 if ok else 1
        if action == "reset":
            before = pad.boot_count
            pad.reset()
            status = pad.status()          # negotiates again first
            if out.as_json:
                print_json({"result": "reset", "ok": True, "boot_count_before": before,
                            "boot_count": pad.boot_count, "mode": status.mode.name.lower()})
            else:
                out.say(f"[green]The pad restarted[/] (boot {before} -> {pad.boot_count}); "
                        f"mode {status.mode.name.lower()}.")
            return 0
    raise ConfigurationError(f"unknown pad action {action!r}")  # pragma: no cover


def _print_checks(out: _Out, checks: list[dict[str, Any]]) -> None:
    for c in checks:
        mark = "[green]PASS[/]" if c["ok"] else "[red]FAIL[/]"
        out.say(f"  {mark} {c['check']}: {c['detail']}")
