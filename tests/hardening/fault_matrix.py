"""The fault-injection matrix (issue 9): every fault x every command, for both protocols.

This module is the single source of the matrix: ``tests/hardening/test_fault_matrix.py`` runs
every cell, and ``docs/FAULTS.md`` is rendered from the same data (``python
tests/hardening/fault_matrix.py --write docs/FAULTS.md``; a test checks it is current).

A cell: a fresh simulator and driver, the command's setup (an entry running, a template stored
...), the fault armed, the command run, and its outcome compared with what the cell requires:

* ``ok``      - the command MUST complete with the right result (the link layer recovers);
* ``ok|err``  - it completes with the right result or raises a typed error (a
  :class:`protocol.errors.TactileError`; a flash write whose reply was lost is not repeated);
* ``err``     - it MUST raise the fault's typed error (a timeout, a lost link ...);
* ``n/a``     - the fault does not exist for this protocol (TPP has no address or password).

Whatever the outcome, a wrong result is a failure, nothing may take longer than
:data:`HANG_BOUND` seconds, and after the fault is cleared the next session must work after
reconnection: a PIN entry whose PIN block deciphers to the PIN typed, or a fingerprint
verification of the stored template (after a byte fault on a command that neither writes
flash nor uses the sensor, the module's state cannot have changed: the reconnected reader
reads the stored template back byte for byte instead, which is cheaper).  Deadlines are small (pad requests 1 s, module replies
0.5 s) so that the whole cross product runs in CI; cells run concurrently (they wait on
timers, not on the CPU).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for extra in (str(ROOT), str(ROOT / "tests" / "helpers")):
    if extra not in sys.path:
        sys.path.insert(0, extra)

from protocol.errors import DeviceTimeoutError, TactileError, TransportError  # noqa: E402

#: seconds after which a faulted command counts as hung
HANG_BOUND = 15.0
PAD_TIMEOUT = 1.0
READER_TIMEOUT = 0.5
READER_RETRIES = 2
PAN = "4111111111111111"
RECOVERY_PIN = "2580"
#: seconds for bytes a fault held back to reach the link they were sent on, before the driver
#: reconnects (EF01 replies carry no request id: a stale one on a NEW link would be misread)
_SETTLE = 0.3


@dataclass(frozen=True)
class Fault:
    """One row of the matrix: how it is injected and what every command must do under it."""

    key: str
    title: str
    how: str                         # the runner command(s) or setup, for the docs
    tpp: str                         # required outcome for TPP commands (see module doc)
    ef01: str                        # for EF01 commands: "ok" | "ok|err" | "err" | "n/a" | "safe"
    error: type[BaseException] = TactileError   # the typed error an "err" cell must raise
    note: str = ""


#: "safe" (EF01): "ok" for instructions the reader may repeat (reads, RAM transfers), "ok|err"
#: for flash writes (after a lost reply it cannot know whether the module did it)
FAULTS: tuple[Fault, ...] = (
    Fault("corrupt", "corrupted byte (device to host)", "`fault corrupt 1`", "ok", "safe"),
    Fault("corrupt-in", "corrupted byte (host to device)", "`fault corrupt-in 1`", "ok", "safe"),
    Fault("drop", "dropped byte (device to host)", "`fault drop 1`", "ok", "safe"),
    Fault("drop-in", "dropped byte (host to device)", "`fault drop-in 1`", "ok", "safe"),
    Fault("duplicate", "duplicated frame", "`fault duplicate 1`", "ok", "safe"),
    Fault("truncate", "truncated frame", "`fault truncate 1`", "ok", "safe"),
    Fault("late", "reply later than the deadline", "`fault stall 5` (deadline 1 s / 0.5 s)",
          "err", "err", TimeoutError,
          note="DeviceTimeoutError, or FingerTimeoutError for a finger wait (2 s) that saw "
               "no reply"),
    Fault("reset", "device reset mid-command", "`fault reset-in`", "ok|err", "ok|err",
          note="the request is lost in the restart; a pad refuses until Hello, a restart "
               "during an entry ends it (PadRestartedError)"),
    Fault("unplug", "unplug and replug", "`fault unplug-in`, then `replug`", "err", "err",
          TransportError),
    Fault("baud", "baud mismatch", "`baud_check=1`, host at 9600 baud", "err", "err",
          DeviceTimeoutError),
    Fault("address", "wrong address", "a reader for address 0x12345678", "n/a", "err",
          TactileError, note="TPP frames carry no address. The module ignores the frames "
          "(DeviceTimeoutError); a few commands are refused by the reader first because it "
          "never learnt the model (UnsupportedError, ConfigurationError)"),
    Fault("password", "password lock", "module password 0x1234, power-cycled, a reader "
          "without the password", "n/a", "err", TactileError,
          note="TPP has no link password. The reader raises PasswordError"),
)
FAULT_KEYS = tuple(f.key for f in FAULTS)


def fault(key: str) -> Fault:
    return next(f for f in FAULTS if f.key == key)


# ================================================================================ TPP
@dataclass
class PadCell:
    runner: Any
    link: Any
    pad: Any
    baud: int | None = None        # the host's wrong baud rate while the fault is on
    ctx: dict[str, Any] = field(default_factory=dict)

    def reconnect(self, timeout: float) -> None:
        """Hello on a new link (one host link at a time: the old one is closed first)."""
        self.pad.transport.close()
        self.pad.reconnect(timeout, transport=self.new_link())

    def new_link(self) -> Any:
        link = self.runner.loopback()
        if self.baud:
            link.set_baudrate(self.baud)
        self.link = link
        return link


def _entry(cell: PadCell, **kw: Any) -> Any:
    entry = cell.pad.pin_entry(pan=kw.pop("pan", PAN), timeout=60, min_len=4, max_len=6, **kw)
    entry.__enter__()
    cell.ctx["entry"] = entry
    return entry


def _entry_state(cell: PadCell) -> Any:
    from protocol.tpp.codes import State
    return cell.pad.state is State.PIN_ENTRY


def _typed_pin(cell: PadCell) -> Any:
    """An entry with no PAN, completed by the customer: the PIN is held for GetPinBlock."""
    from drivers.pinpad import EntryReady
    entry = cell.pad.pin_entry(timeout=60, min_len=4, max_len=6)
    with entry:
        for event in entry:
            if isinstance(event, EntryReady):
                for d in "1357":
                    cell.runner.command(f"press {d}")
                cell.runner.command("press enter")
    cell.ctx["held"] = entry
    return entry


def _explore(cell: PadCell) -> Any:
    session = cell.pad.explore(idle_timeout=30)
    session.__enter__()
    cell.ctx["explore"] = session
    return session


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(f"wrong result: {what}")


def _tpp_ops() -> dict[str, tuple[Callable | None, Callable, Callable | None]]:
    """command -> (setup(cell), call(cell) -> value, check(cell, value))."""
    from drivers.pinpad import Completion
    from protocol.tpp import messages as m
    from protocol.tpp.codes import LoadKind, State

    def decrypts(cell: PadCell, block: Any) -> None:
        from pinpad_rig import decrypt
        _check(decrypt(block.block, block.ksn, "iso4", PAN) == "1357", "PIN block")

    return {
        "Hello": (None, lambda c: c.reconnect(PAD_TIMEOUT),
                  lambda c, v: _check(str(c.pad.version) == "1.0", "version")),
        "GetInfo": (None, lambda c: c.pad.info(refresh=True),
                    lambda c, v: _check(v.model == "TPP-SIM" and v.serial == "TPPSIM-0001",
                                        f"info {v!r}")),
        "GetLayout": (None, lambda c: c.pad.layout(refresh=True),
                      lambda c, v: _check(len(v.keys) == 15 and v.get("five").row == 1,
                                          "layout")),
        "GetStatus": (None, lambda c: c.pad.status(),
                      # after a restart the pad truthfully says STARTING until Hello
                      lambda c, v: _check(v.mode in (State.IDLE, State.STARTING),
                                          f"status {v!r}")),
        "Reset": (None, lambda c: c.pad.reset(), None),
        "ExploreStart": (None, _explore, lambda c, v: _check(c.pad.state is State.EXPLORE,
                                                              "explore mode")),
        "ExploreStop": (_explore, lambda c: c.ctx["explore"].stop(),
                        lambda c, v: _check(c.pad.state is State.IDLE, "idle after explore")),
        "PinEntry": (None, _entry, lambda c, v: _check(_entry_state(c), "entry mode")),
        "PinChange": (None, lambda c: _change(c),
                      lambda c, v: _check(c.pad.state is State.PIN_CHANGE, "change mode")),
        "CancelEntry": (_entry, lambda c: c.ctx["entry"].cancel(),
                        lambda c, v: _check(c.ctx["entry"].completion is Completion.CANCEL,
                                            "cancelled")),
        "ExtendTime": (_entry, lambda c: c.ctx["entry"].extend_time(30),
                       lambda c, v: _check(60 <= v <= 600, f"seconds left {v}")),
        "GetPinBlock": (_typed_pin, lambda c: c.ctx["held"].get_pin_block(PAN, "iso4"),
                        decrypts),
        "LoadKey": (None, lambda c: c.pad.load_key(4, LoadKind.TDES_FIXED, bytes(range(16))),
                    lambda c, v: _check(v == _tdes_kcv(bytes(range(16))), "KCV")),
        "GetKeyInfo": (None, lambda c: c.pad.key_info(1),
                       lambda c, v: _check(v.slot == 1 and v.kind.name == "AES_DUKPT",
                                           "key info")),
        # no public method deletes a key: the driver's request path itself
        "DeleteKey": (None, lambda c: c.pad._expect_done(m.DeleteKey(slot=5)), None),
        "Speak": (None, lambda c: c.pad.speak("Welcome"),
                  lambda c, v: _check(isinstance(v, int) and v > 0, "utterance id")),
        "SpeakPrompt": (None, lambda c: c.pad.speak_prompt("help"),
                        lambda c, v: _check(isinstance(v, int) and v > 0, "utterance id")),
        "StopSpeech": (None, lambda c: c.pad.stop_speech(), None),
        "PlayTone": (None, lambda c: c.pad.play_tone("attention"), None),
        "KeypressBeep": (None, lambda c: c.pad.keypress_beep(True, False),
                         lambda c, v: _check(not c.pad.status().beep_inactive, "beep setting")),
        "SetVolume": (None, lambda c: c.pad.set_volume(700, 110),
                      lambda c, v: _check(c.pad.status().volume == 700, "volume")),
        "SetLanguage": (None, lambda c: c.pad.set_language("en"),
                        lambda c, v: _check(c.pad.status().lang == "en", "language")),
        "SetFeedback": (None, lambda c: c.pad.set_feedback(speech=False, haptics=True), None),
        "Display": (None, lambda c: c.pad.display("Hello"), None),
        "Haptic": (None, lambda c: c.pad.haptic((50, 50, 50)), None),
    }


def _change(cell: PadCell) -> Any:
    change = cell.pad.pin_change(pan=PAN, timeout=60, min_len=4, max_len=6)
    change.__enter__()
    cell.ctx["entry"] = change
    return change


def _tdes_kcv(key: bytes) -> bytes:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, modes
    enc = Cipher(TripleDES(key + key[:8]), modes.ECB()).encryptor()
    return (enc.update(bytes(8)) + enc.finalize())[:3]


TPP_COMMANDS = ("Hello", "GetInfo", "GetLayout", "GetStatus", "Reset", "SetLanguage",
                "ExploreStart", "ExploreStop", "PinEntry", "PinChange", "CancelEntry",
                "ExtendTime", "GetPinBlock", "LoadKey", "GetKeyInfo", "DeleteKey", "Speak",
                "SpeakPrompt", "StopSpeech", "PlayTone", "KeypressBeep", "SetVolume",
                "SetFeedback", "Display", "Haptic")

_names = itertools.count(1)


def _arm(runner: Any, key: str, cell: Any) -> None:
    commands = {"corrupt": "fault corrupt 1", "corrupt-in": "fault corrupt-in 1",
                "drop": "fault drop 1", "drop-in": "fault drop-in 1",
                "duplicate": "fault duplicate 1", "truncate": "fault truncate 1",
                "late": "fault stall 5", "reset": "fault reset-in", "unplug": "fault unplug-in"}
    if key in commands:
        reply = runner.command(commands[key])
        assert reply["ok"], reply
    elif key == "baud":
        cell.baud = 9600
        cell.link.set_baudrate(9600)


def _disarm(runner: Any, key: str) -> None:
    runner.command("fault clear")
    if not runner.plugged:
        runner.command("replug")


@dataclass
class Result:
    protocol: str
    fault: str
    command: str
    outcome: str            # "ok" | "err" | "fail"
    detail: str = ""
    seconds: float = 0.0


def _judge(required: str, outcome: str, exc: BaseException | None, expected: type) -> str:
    """'' when the outcome is allowed, else why not."""
    if outcome == "wrong":
        return "returned wrong data"
    if required == "ok" and outcome != "ok":
        return f"must complete, raised {type(exc).__name__}: {exc}"
    if required == "err":
        if outcome != "err":
            return "must raise a typed error, completed"
        if not isinstance(exc, expected):
            return f"must raise {expected.__name__}, raised {type(exc).__name__}: {exc}"
    return ""


def run_tpp_cell(fault_key: str, command: str) -> Result:
    from drivers.pinpad import EntryReady, TactilePinPad
    from pinpad_rig import decrypt, new_runner

    f = fault(fault_key)
    required = f.tpp
    if required == "n/a":
        return Result("TPP", fault_key, command, "n/a")
    setup, call, check = _tpp_ops()[command]
    runner = new_runner(baud_check="1", rate_limit="10000")
    cell = PadCell(runner, None, None)
    try:
        cell.pad = TactilePinPad.open(cell.new_link(), timeout=PAD_TIMEOUT)
        if setup is not None:
            setup(cell)
        _arm(runner, fault_key, cell)
        start = time.monotonic()
        exc: BaseException | None = None
        try:
            value = call(cell)
            outcome = "ok"
        except TactileError as error:
            exc, outcome = error, "err"
        seconds = time.monotonic() - start
        _disarm(runner, fault_key)
        time.sleep(_SETTLE)
        cell.baud = None
        if outcome == "ok" and check is not None:
            try:
                check(cell, value)
            except AssertionError as error:
                exc, outcome = error, "wrong"
            except TactileError:
                pass  # the check's own request met the tail of the fault: not wrong data
        why = _judge(required, outcome, exc, f.error)
        if seconds > HANG_BOUND:
            why = why or f"took {seconds:.1f} s (hung)"
        # the next session works after reconnection
        for name in ("entry", "explore"):
            session = cell.ctx.get(name)
            if session is not None:
                try:
                    session.__exit__(KeyboardInterrupt, None, None)
                except TactileError:
                    pass
        cell.reconnect(5.0)
        with cell.pad.pin_entry(pan=PAN, timeout=60, min_len=4, max_len=4) as entry:
            for event in entry:
                if isinstance(event, EntryReady):
                    for d in RECOVERY_PIN:
                        runner.command(f"press {d}")
                    runner.command("press enter")
        if entry.pin_block is None or decrypt(entry.pin_block, entry.ksn, "iso4",
                                              PAN) != RECOVERY_PIN:
            why = why or f"the next session failed: {entry!r}"
        return Result("TPP", fault_key, command, "fail" if why else outcome,
                      why or (type(exc).__name__ if exc else ""), seconds)
    except (TactileError, AssertionError) as error:
        return Result("TPP", fault_key, command, "fail",
                      f"recovery failed: {type(error).__name__}: {error}")
    finally:
        try:
            if cell.pad is not None:
                cell.pad.close()
        finally:
            runner.stop()


# ================================================================================ EF01
_TEMPLATE: dict[str, bytes] = {}
_TEMPLATE_LOCK = threading.Lock()
FINGER = 3


def reference_template() -> bytes:
    """One enrolled template of virtual finger 3 (made once per process)."""
    from drivers.fingerprint import FingerprintReader
    from fingerprint_helpers import Customer, new_runner
    with _TEMPLATE_LOCK:
        if "t" not in _TEMPLATE:
            runner = new_runner("r503")
            try:
                with FingerprintReader.open(runner.loopback(), close_transport=True) as reader:
                    tpl = reader.enroll(slot=0, on_event=Customer(runner, FINGER, 95))
                    _TEMPLATE["t"] = bytes(tpl.data)
            finally:
                runner.stop()
        return _TEMPLATE["t"]


@dataclass
class ModuleCell:
    runner: Any
    link: Any
    reader: Any
    ctx: dict[str, Any] = field(default_factory=dict)

    def customer(self, finger: int = FINGER) -> Any:
        from fingerprint_helpers import Customer
        return Customer(self.runner, finger, 95)


EF01_COMMANDS = ("ReadSysPara", "TempleteNum", "ReadIndexTable", "GenImg", "Enroll", "Verify",
                 "Search", "UpChar", "DownChar+Store", "DeletChar", "Empty", "ReadNotepad",
                 "WriteNotepad", "AuraLedConfig", "CheckSensor", "UpImage", "SetSysPara",
                 "GetRandomCode", "ReadProdInfo", "HandShake", "SoftRst")
#: commands that include a flash write (never repeated after a lost reply)
EF01_WRITES = {"Enroll", "DownChar+Store", "DeletChar", "Empty", "WriteNotepad", "SetSysPara",
               "SoftRst"}


def _ef01_ops() -> dict[str, tuple[Callable | None, Callable, Callable | None]]:
    from protocol.ef01.codes import Instruction as I

    def lifted(c: ModuleCell) -> None:
        c.runner.command("lift")

    def placed(c: ModuleCell) -> None:
        c.runner.command(f"place {FINGER} 95")

    return {
        "ReadSysPara": (None, lambda c: c.reader.parameters(),
                        lambda c, v: _check(v.capacity == 200 and v.packet_size in
                                            (32, 64, 128, 256), f"parameters {v!r}")),
        "TempleteNum": (None, lambda c: c.reader.template_count(),
                        lambda c, v: _check(v == 1, f"count {v}")),
        "ReadIndexTable": (None, lambda c: c.reader.index(),
                           lambda c, v: _check(v == {0}, f"index {v}")),
        "GenImg": (placed, lambda c: c.reader.capture(timeout=2.0), None),
        "Enroll": (None, lambda c: c.reader.enroll(slot=5, timeout=2.0,
                                                   on_event=c.customer(4)),
                   lambda c, v: _check(5 in c.reader.index(), "enrolled slot")),
        "Verify": (None, lambda c: c.reader.verify(0, attempts=1, timeout=2.0,
                                                   on_event=c.customer()),
                   lambda c, v: _check(v.matched, f"verify {v!r}")),
        "Search": (None, lambda c: c.reader.identify(timeout=2.0, on_event=c.customer()),
                   lambda c, v: _check(v.slot == 0, f"identify {v!r}")),
        "UpChar": (None, lambda c: c.reader.export_template(0),
                   lambda c, v: _check(bytes(v.data) == reference_template(), "template")),
        "DownChar+Store": (None, lambda c: c.reader.import_template(reference_template(),
                                                                   slot=7),
                           lambda c, v: _check(7 in c.reader.index(), "imported slot")),
        "DeletChar": (None, lambda c: c.reader.delete(0),
                      lambda c, v: _check(0 not in c.reader.index(), "deleted")),
        "Empty": (None, lambda c: c.reader.clear(),
                  lambda c, v: _check(c.reader.template_count() == 0, "empty")),
        "ReadNotepad": (None, lambda c: c.reader.read_notepad(0),
                        lambda c, v: _check(bytes(v) == bytes(32), "notepad page 0")),
        "WriteNotepad": (None, lambda c: c.reader.write_notepad(1, b"tactile"),
                         lambda c, v: _check(bytes(c.reader.read_notepad(1)).rstrip(b"\0")
                                             == b"tactile", "notepad page 1")),
        "AuraLedConfig": (None, lambda c: c.reader.led("breathing", "blue"), None),
        "CheckSensor": (None, lambda c: c.reader.check_sensor(),
                        lambda c, v: _check(v is True, f"sensor {v}")),
        "UpImage": (placed, lambda c: c.reader.image(capture=True, timeout=2.0),
                    lambda c, v: _check(getattr(v, "size", None) is not None or v is not None,
                                        "image")),
        "SetSysPara": (None, lambda c: c.reader.set_security_level(4),
                       lambda c, v: _check(c.reader.parameters().security_level == 4,
                                           "security level")),
        "GetRandomCode": (None, lambda c: _raw(c, I.GET_RANDOM_CODE),
                          lambda c, v: _check(v.ok, f"random {v!r}")),
        "ReadProdInfo": (None, lambda c: c.reader.info(),
                         lambda c, v: _check("R503" in v.model, f"model {v.model}")),
        "HandShake": (None, lambda c: _raw(c, I.HANDSHAKE),
                      lambda c, v: _check(v.ok, f"handshake {v!r}")),
        "SoftRst": (lifted, lambda c: c.reader.soft_reset(), None),
    }


def _raw(cell: ModuleCell, instruction: Any) -> Any:
    """``execute()`` returns the module's reply as it is; a refusal becomes its typed error."""
    from drivers.fingerprint.errors import FingerprintError
    reply = cell.reader.execute(instruction)
    if not reply.ok:
        raise FingerprintError(f"{instruction.name} refused: code {reply.code:#04x}",
                               code=reply.code, meaning="refused")
    return reply


#: commands a locked module answers without the password (EF01: HandShake is always allowed)
EF01_UNLOCKED = {"HandShake"}
#: commands that use the sensor or write flash: the cell's recovery also runs a verification
EF01_HEAVY = {"GenImg", "Enroll", "Verify", "Search", "UpImage"} | EF01_WRITES
#: faults after which the module's state is in doubt: every cell's recovery runs a verification
HEAVY_FAULTS = {"late", "reset", "unplug", "baud", "address", "password"}


def ef01_required(f: Fault, command: str) -> str:
    if f.ef01 == "safe":
        return "ok|err" if command in EF01_WRITES else "ok"
    if f.key == "password" and command in EF01_UNLOCKED:
        return "ok|err"
    return f.ef01


def run_ef01_cell(fault_key: str, command: str) -> Result:
    from drivers.fingerprint import FingerprintReader
    from fingerprint_helpers import new_runner

    f = fault(fault_key)
    required = ef01_required(f, command)
    setup, call, check = _ef01_ops()[command]
    options = {"password": "0x1234"} if fault_key == "password" else {}
    password = 0x1234 if fault_key == "password" else 0
    runner = new_runner("r503", baud_check="1", **options)
    cell = ModuleCell(runner, None, None)

    def reader_on(link: Any, **kw: Any) -> Any:
        kw.setdefault("password", password)
        return FingerprintReader.open(link, close_transport=True, timeout=READER_TIMEOUT,
                                      retries=READER_RETRIES, **kw)

    try:
        cell.link = runner.loopback()
        cell.reader = reader_on(cell.link)
        cell.reader.import_template(reference_template(), slot=0)
        if setup is not None:
            setup(cell)
        if fault_key in ("address", "password"):
            cell.reader.close()
            if fault_key == "password":
                runner.command("power-cycle")   # the module locks again until VfyPwd
            cell.link = runner.loopback()
            cell.reader = FingerprintReader(
                cell.link, close_transport=True, timeout=READER_TIMEOUT, retries=READER_RETRIES,
                address=0x12345678 if fault_key == "address" else 0xFFFFFFFF, password=0)
        else:
            _arm(runner, fault_key, cell)
        start = time.monotonic()
        exc: BaseException | None = None
        try:
            value = call(cell)
            outcome = "ok"
        except TactileError as error:
            exc, outcome = error, "err"
        seconds = time.monotonic() - start
        _disarm(runner, fault_key)
        time.sleep(_SETTLE)     # replies held up by the fault reach the OLD link first
        if cell.link is not None and getattr(cell.link, "baudrate", None) == 9600:
            cell.link.set_baudrate(57600)
        cell.reader.close()
        cell.reader = reader_on(runner.loopback())
        if outcome == "ok" and check is not None:
            try:
                check(cell, value)
            except AssertionError as error:
                exc, outcome = error, "wrong"
        why = _judge(required, outcome, exc, f.error)
        if seconds > HANG_BOUND:
            why = why or f"took {seconds:.1f} s (hung)"
        # the next session works after reconnection: the stored template still verifies
        # (or, where the command deleted it, a fresh import does)
        runner.command("lift")
        if 0 not in cell.reader.index():
            cell.reader.import_template(reference_template(), slot=0)
        if fault_key in HEAVY_FAULTS or command in EF01_HEAVY:
            result = cell.reader.verify(0, attempts=2, timeout=2.0, on_event=cell.customer())
            if not result.matched:
                why = why or f"the next verification failed: {result!r}"
        elif bytes(cell.reader.export_template(0).data) != reference_template():
            why = why or "the stored template changed"
        return Result("EF01", fault_key, command, "fail" if why else outcome,
                      why or (type(exc).__name__ if exc else ""), seconds)
    except (TactileError, AssertionError) as error:
        return Result("EF01", fault_key, command, "fail",
                      f"recovery failed: {type(error).__name__}: {error}")
    finally:
        try:
            if cell.reader is not None:
                cell.reader.close()
        finally:
            runner.stop()


# ================================================================================ known defects
#: cells the matrix found broken in code outside this suite's owner's files:
#: (protocol, fault, command) -> why.  They must still fail (the test is strict about it), so
#: the list shrinks as they are fixed.  (Empty: CheckSensor on a module known to have it is
#: now retried and raises, instead of reading a lost reply as "no sensor check".)
KNOWN: dict[tuple[str, str, str], str] = {}


# ================================================================================ docs
def required(protocol: str, f: Fault, command: str) -> str:
    return f.tpp if protocol == "TPP" else ef01_required(f, command)


def render() -> str:
    lines = [
        "# Fault-injection matrix",
        "",
        "<!-- generated by tests/hardening/fault_matrix.py from the data "
        "tests/hardening/test_fault_matrix.py runs; do not edit by hand -->",
        "",
        "Every cell is a test (`tests/hardening/test_fault_matrix.py`): a fresh simulator and "
        "driver, the command's setup, the fault armed, the command run through the public "
        "driver API. **ok**: it must complete with the right result; **ok/err**: the right "
        "result or a typed error (`TactileError`; a flash write whose reply was lost is never "
        "repeated); **err**: it must raise the fault's typed error; **n/a**: the fault does "
        "not exist in that protocol. In every cell a wrong result fails, nothing may take "
        f"longer than {HANG_BOUND:g} s, and after the fault is cleared the next session must "
        "work after reconnection (a PIN entry whose block deciphers to the PIN typed; a "
        "fingerprint verification; after a byte fault on a command that neither writes flash "
        "nor uses the sensor, the reconnected reader reads the stored template back "
        "byte for byte instead). Deadlines in the matrix: pad requests "
        f"{PAD_TIMEOUT:g} s, module replies {READER_TIMEOUT:g} s with {READER_RETRIES} retries.",
        "",
        "## Faults",
        "",
        "| fault | injected by | TPP | EF01 | typed error of an err cell | note |",
        "|---|---|---|---|---|---|",
    ]
    for f in FAULTS:
        ef = "ok (reads), ok/err (flash writes)" if f.ef01 == "safe" else f.ef01.replace("|", "/")
        lines.append(f"| {f.title} | {f.how} | {f.tpp.replace('|', '/')} | {ef} | "
                     f"`{f.error.__name__}` | {f.note} |")
    for protocol, commands in (("TPP", TPP_COMMANDS), ("EF01", EF01_COMMANDS)):
        lines += ["", f"## {protocol}", "",
                  "| command | " + " | ".join(f.key for f in FAULTS) + " |",
                  "|---|" + "---|" * len(FAULTS)]
        for command in commands:
            cells = [required(protocol, f, command).replace("|", "/")
                     + (" (known defect)" if (protocol, f.key, command) in KNOWN else "")
                     for f in FAULTS]
            lines.append(f"| {command} | " + " | ".join(cells) + " |")
    reasons = sorted(set(KNOWN.values()))
    if reasons:
        lines += ["", "## Known defects", "",
                  "Cells marked (known defect) fail today for a reason outside this suite; the "
                  "test requires them to keep failing until fixed, then to be removed here:", ""]
        lines += [f"- {why}" for why in reasons]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the fault matrix table (docs/FAULTS.md).")
    parser.add_argument("--write", metavar="PATH", help="write the table there (else stdout)")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
