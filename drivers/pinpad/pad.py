"""TactilePinPad: the teller-facing driver for pads speaking TPP (protocol/tpp/SPEC.md).

Open by serial URL (anything ``serial.serial_for_url`` opens: ``/dev/ttyUSB0``,
``socket://host:port``, ``sim://pinpad?layout=calculator``), by USB selector
(``usb:VID:PID[:SERIAL]``, injectable pyusb ``backend``) or with a :class:`Transport`::

    with TactilePinPad.open("sim://pinpad") as pad:
        with pad.pin_entry(min_len=6, max_len=6, pan="6222020200112233445") as entry:
            for event in entry:
                print(event)                  # EntryReady(), DigitAccepted(count=1), ...
        print(entry.completion, entry.pin_block.hex(), entry.ksn.hex())

Threads and deadlines: see :mod:`drivers.pinpad._link`.  Reconnection: when the link goes
away every call (and the running session) raises :class:`DeviceDisconnectedError`; call
:meth:`TactilePinPad.reconnect` to re-open the same target and negotiate again (it retries
until its timeout, so it can be called as soon as the cable is back in).  The pad is never
re-opened behind the application's back: a PIN entry must not silently resume on a pad that
restarted.  A pad that restarts on its own (power glitch, PowerOn event) is noticed too: the
running session raises :class:`PadRestartedError` and the next call re-negotiates first.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from drivers.transport import SerialTransport, Transport
from protocol.errors import (
    ConfigurationError,
    DeviceError,
    LocalProtocolError,
    RemoteProtocolError,
    TactileError,
    TransportError,
)
from protocol.layout import Layout
from protocol.pinblock import PinBlockFormat, validate_pan
from protocol.tpp import messages as m
from protocol.tpp.codes import (
    PROTOCOL_VERSION,
    RESULT_MEANINGS,
    BeepPolicy,
    KeyKind,
    LoadKind,
    ResultCode,
    State,
    Tone,
    Version,
)
from protocol.tpp.prompts import PROMPTS, PromptId

from drivers.pinpad._link import DeviceDisconnectedError, _Link
from drivers.pinpad.events import (
    HeadsetInserted,
    HeadsetRemoved,
    PadEvent,
    PadRestarted,
    TamperDetected,
)
from drivers.pinpad.sessions import (
    ExploreSession,
    PinBlock,
    PinChangeSession,
    PinEntrySession,
    _Session,
    translate,
)

if TYPE_CHECKING:  # pragma: no cover
    from drivers.pinpad.listener import KeyListener

__all__ = ["TactilePinPad", "DEFAULT_BAUDRATE", "DEFAULT_TIMEOUT", "TEST_KEYS", "TestKey"]

_log = logging.getLogger("drivers.pinpad")

#: TPP's serial speed (SPEC: 115200 8N1 unless the pad's documentation says otherwise)
DEFAULT_BAUDRATE = 115200
#: seconds a request may take (the protocol's response timeout)
DEFAULT_TIMEOUT = 3.0
_STATUS_QUEUE = 64


@dataclass(frozen=True, slots=True)
class TestKey:
    """A published TEST key (ANSI X9.24 vectors): never a production key."""

    kind: KeyKind
    load: LoadKind
    bdk: bytes
    ksn: bytes

    def __repr__(self) -> str:  # keys stay out of logs even though they are public test keys
        return f"TestKey({self.kind.name}, ksn={self.ksn.hex().upper()})"


#: the published test keys :meth:`TactilePinPad.load_test_keys` loads (pin-cryptography.md)
TEST_KEYS: tuple[TestKey, ...] = (
    TestKey(KeyKind.AES_DUKPT, LoadKind.AES_DUKPT_BDK_TEST,
            bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1"), bytes.fromhex("1234567890123456")),
    TestKey(KeyKind.TDES_DUKPT, LoadKind.TDES_DUKPT_BDK_TEST,
            bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"),
            bytes.fromhex("FFFF9876543210E00000")),
)

_PROMPT_NAMES = {p.name: int(p.ident) for p in PROMPTS.values()}


def _prompt_id(prompt: int | str | PromptId) -> int:
    if isinstance(prompt, str):
        key = prompt.strip().lower()
        if key in _PROMPT_NAMES:
            return _PROMPT_NAMES[key]
        try:
            return int(PromptId[key.upper().replace("-", "_")])
        except KeyError:
            raise ConfigurationError(
                f"unknown prompt {prompt!r}: use a name of the pad's fixed prompt table ("
                + ", ".join(sorted(_PROMPT_NAMES)) + ")") from None
    return int(prompt)


def _parse_format(value: PinBlockFormat | str) -> PinBlockFormat:
    return PinBlockFormat.parse(value)


def _active_keys(active_keys: Any) -> tuple[m.ActiveKey, ...]:
    """Accept the protocol's tuple, XFS4IoT's ``{key: {"terminate": bool}}`` or
    ``{key: bool}`` mapping, or a list of names (terminating: enter, cancel)."""
    if active_keys is None:
        return m.DEFAULT_ACTIVE_KEYS
    if isinstance(active_keys, dict):
        out = []
        for key, spec in active_keys.items():
            term = spec.get("terminate", False) if isinstance(spec, dict) else bool(spec)
            out.append(m.ActiveKey(str(key), bool(term)))
        return tuple(out)
    out = []
    for item in active_keys:
        if isinstance(item, m.ActiveKey):
            out.append(item)
        else:
            out.append(m.ActiveKey(str(item), str(item) in ("enter", "cancel")))
    return tuple(out)


class TactilePinPad:
    """An open tactile PIN pad.  Use :meth:`open`; a context manager that always releases it.

    ``transport``: an open :class:`Transport`; the pad owns it from now on and closes it (on
    close, and when opening fails).  ``reopen``: how :meth:`reconnect` makes a new one
    (``open`` sets it).  ``timeout``: seconds per request.  ``baudrate``: None on USB
    (scales the protocol's ACK timeout only).  ``clock`` and ``rng`` are injectable (the
    protocol's timers; the Hello session number).
    """

    def __init__(self, transport: Transport, *, timeout: float = DEFAULT_TIMEOUT,
                 baudrate: int | None = DEFAULT_BAUDRATE, target: str | None = None,
                 reopen: Callable[[], Transport] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None, host_name: str = "tactile") -> None:
        if not isinstance(transport, Transport):
            raise ConfigurationError(
                f"TactilePinPad needs a Transport, not {type(transport).__name__}")
        if not timeout > 0:
            raise ConfigurationError("timeout must be a positive number of seconds")
        self.timeout = float(timeout)
        self.baudrate = baudrate
        self.target = target or transport.description
        self._reopen = reopen
        self._clock = clock
        self._rng = rng if rng is not None else random.SystemRandom()
        self._host_name = host_name
        self._lock = threading.RLock()
        self._session: _Session | None = None
        self._status: collections.deque[PadEvent] = collections.deque(maxlen=_STATUS_QUEUE)
        self._status_ready = threading.Condition(self._lock)
        self._layout: Layout | None = None
        self._info: m.DeviceInfo | None = None
        self._needs_hello = True
        self._opening = True
        self._closed = False
        self.version: Version | None = None
        self.boot_count: int | None = None
        #: True while a headset is in (private audio), as last reported by the pad
        self.headset: bool | None = None
        self.transport = transport
        self._link = self._make_link(transport)
        try:
            self._link.start()
            self._hello()
        except BaseException:
            self._shutdown()
            raise

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, target: "str | Transport", *, backend: Any = None,
             timeout: float = DEFAULT_TIMEOUT, baudrate: int = DEFAULT_BAUDRATE,
             clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None,
             host_name: str = "tactile") -> "TactilePinPad":
        """Open a pad and negotiate the protocol version.

        ``target``: a serial URL or device path (through ``serial.serial_for_url``), a USB
        selector ``usb:VID:PID[:SERIAL]`` (``backend``: a pyusb backend; default libusb), or an
        open :class:`Transport`.
        """
        if isinstance(target, Transport):
            # a serial transport's speed scales the ACK timeout; other links have none
            speed = target.baudrate if isinstance(target, SerialTransport) else None
            return cls(target, timeout=timeout, baudrate=speed, clock=clock, rng=rng,
                       host_name=host_name)
        if not isinstance(target, str) or not target.strip():
            raise ConfigurationError(
                f"open() needs a serial URL or path, a USB selector (usb:VID:PID[:SERIAL]) or a "
                f"Transport, not {target!r}")
        opener = cls._opener(target, backend=backend, baudrate=baudrate)
        is_usb = target.lower().startswith("usb:")
        transport = opener()
        try:
            return cls(transport, timeout=timeout, baudrate=None if is_usb else baudrate,
                       target=target, reopen=opener, clock=clock, rng=rng, host_name=host_name)
        except BaseException:
            transport.close()
            raise

    @staticmethod
    def _opener(target: str, *, backend: Any, baudrate: int) -> Callable[[], Transport]:
        if target.lower().startswith("usb:"):
            from drivers.usb import UsbTransport, parse_selector

            selector = parse_selector(target)  # ConfigurationError early, before any I/O
            return lambda: UsbTransport(selector, backend=backend)
        if backend is not None:
            raise ConfigurationError("backend= is for USB selectors (usb:VID:PID); "
                                     f"{target!r} is a serial URL")
        return lambda: SerialTransport(target, baudrate)

    def _make_link(self, transport: Transport) -> _Link:
        return _Link(transport, baudrate=self.baudrate, response_timeout=self.timeout,
                     clock=self._clock, on_event=self._on_event, on_failure=self._on_failure,
                     timeout_text=self._timeout_text)

    def _timeout_text(self, what: str, seconds: float) -> str:
        version = f"TPP {self.version}" if self.version else f"TPP {PROTOCOL_VERSION} offered"
        if isinstance(self.transport, SerialTransport):
            where = f"{self.transport.baudrate} baud, {version}"
            check = ("power and cable (TX/RX crossed?), the baud rate (the pad's default is "
                     f"{DEFAULT_BAUDRATE}; `tactile list` shows the ports), that no console or "
                     "other program holds the port")
        elif self.target.lower().startswith("usb:"):
            where = f"USB, {version}"
            check = ("the USB cable and the pad's power (`tactile list` shows the USB devices), "
                     "that no other program has the pad open")
        else:
            where = version
            check = "that the other end of the link is a running TPP PIN pad"
        return (f"no reply from the PIN pad on {self.transport.description} within {seconds:.1f} s "
                f"to {what} ({where}). Check: {check}; and that the device is a TPP PIN pad.")

    # ------------------------------------------------------------------ context manager
    def __enter__(self) -> "TactilePinPad":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.state.name.lower()
        return f"<TactilePinPad {self.target} {state}>"

    def close(self) -> None:
        """Stop any entry still running, stop the reader thread, release the port.  Idempotent."""
        if self._closed:
            return
        try:
            if self._link.alive and self._link.conn.state in (State.PIN_ENTRY, State.PIN_CHANGE,
                                                              State.EXPLORE):
                self._link.request(m.CancelEntry(), min(self.timeout, 1.0))
        except TactileError:
            pass  # best effort: the pad wipes its PIN buffer on its own time limit anyway
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        self._closed = True
        self._drop_link(TransportError("the PIN pad was closed"))

    def _drop_link(self, reason: BaseException) -> None:
        """Stop the reader, close the transport, and end a running session with ``reason``."""
        self._link.stop()
        self.transport.close()
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session._put(reason)

    # ------------------------------------------------------------------ link plumbing
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def connected(self) -> bool:
        """True while the link is up (False after unplug until :meth:`reconnect`)."""
        return not self._closed and self._link.alive

    @property
    def state(self) -> State:
        """The pad's mode as the protocol tracks it (IDLE, EXPLORE, PIN_ENTRY ...)."""
        return self._link.conn.state

    def _raise_failure(self) -> None:
        if self._closed:
            raise TransportError(f"the PIN pad {self.target} is closed")
        self._link._raise_failure()

    def _on_failure(self, exc: TactileError) -> None:
        _log.warning("PIN pad %s: %s", self.target, exc)
        with self._lock:
            session = self._session
            self._status_ready.notify_all()
        if session is not None:
            session._put(exc)

    def _on_event(self, msg: Any) -> None:
        """Reader thread, link lock held: route one pad event.  Never blocks."""
        with self._lock:
            session = self._session
            if isinstance(msg, BaseException):  # a protocol error for the running session
                if session is not None:
                    session._put(msg)
                return
            event = translate(msg, self._layout)
            if isinstance(msg, m.HeadsetChanged):
                self.headset = msg.inserted
            if isinstance(msg, m.PowerOn):
                self.boot_count = msg.boot_count
                if self._opening:
                    return  # the power-up that precedes our Hello: nothing was lost
                self._needs_hello = True
            if isinstance(event, (HeadsetInserted, HeadsetRemoved, PadRestarted, TamperDetected)):
                self._status.append(event)
                self._status_ready.notify_all()
            if session is not None:
                session._put(event)
            else:
                _log.debug("pad event with no session running: %r", event)

    def _begin_session(self, session: _Session) -> None:
        self._raise_failure()
        with self._lock:
            if self._session is not None and self._session is not session:
                raise LocalProtocolError(
                    f"a {self._session._kind} is already running on this pad: finish it (leave "
                    "its with block) before starting another")
            self._session = session

    def _end_session(self, session: _Session) -> None:
        with self._lock:
            if self._session is session:
                self._session = None

    def _hello(self) -> None:
        with self._lock:
            self._opening = True
        try:
            self._negotiate()
        finally:
            with self._lock:
                self._opening = False

    def _negotiate(self) -> None:
        hello = m.Hello(min_version=PROTOCOL_VERSION, max_version=PROTOCOL_VERSION,
                        session=self._rng.getrandbits(32), host=self._host_name)
        reply = self._link.request(hello, self.timeout)
        if isinstance(reply, m.Refused):
            raise self._refusal(hello, reply)
        if not isinstance(reply, m.HelloReply):
            raise RemoteProtocolError(f"the pad answered Hello with {type(reply).__name__}")
        self.version = reply.version
        self.boot_count = reply.boot_count
        self._needs_hello = False
        self._info = None
        self._layout = None  # after a restart or reconnect it may be another pad
        _log.info("PIN pad %s: TPP %s, boot %d, mode %s", self.transport.description,
                  reply.version, reply.boot_count, reply.mode.name)

    def _refusal(self, request: m.Request, reply: m.Refused) -> DeviceError:
        try:
            result = ResultCode(reply.result)
            meaning = RESULT_MEANINGS.get(result, "")
            name = result.name
        except ValueError:
            meaning, name = "a result code this driver does not know", f"{int(reply.result):#04x}"
        return DeviceError(
            f"the PIN pad refused {type(request).__name__}: {meaning} "
            f"(result {name}, {int(reply.result):#04x})",
            code=int(reply.result), meaning=meaning)

    def _request(self, request: m.Request) -> m.Response:
        """Send one request (negotiating first after a pad restart); raise on refusal."""
        self._raise_failure()
        if self._needs_hello and not isinstance(request, m.Hello):
            self._hello()
        reply = self._link.request(request, self.timeout)
        if isinstance(reply, m.Refused):
            raise self._refusal(request, reply)
        return reply

    def _expect(self, request: m.Request, cls: type) -> Any:
        reply = self._request(request)
        if not isinstance(reply, cls):
            raise RemoteProtocolError(f"the pad answered {type(request).__name__} with "
                                      f"{type(reply).__name__}, not {cls.__name__}")
        return reply

    def _expect_done(self, request: m.Request) -> None:
        self._expect(request, m.Done)

    # ------------------------------------------------------------------ reconnection
    def reconnect(self, timeout: float = 10.0, *, transport: Transport | None = None) -> None:
        """Re-open the link after an unplug (or any link failure) and negotiate again.

        Retries opening the same target until ``timeout`` seconds pass (the cable may go back
        in a moment later).  Pass ``transport`` for a pad opened on a Transport instance.
        Raises the last TransportError / DeviceTimeoutError when the pad does not come back.
        """
        if transport is None and self._reopen is None:
            raise ConfigurationError("this pad was opened on a Transport instance: pass a new "
                                     "one, reconnect(transport=...)")
        self._drop_link(DeviceDisconnectedError("the link was re-opened: the entry is gone"))
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while True:
            try:
                new = transport if transport is not None else self._reopen()  # type: ignore[misc]
            except (TransportError, ConfigurationError) as exc:
                last = exc
            else:
                self.transport = new
                self._link = self._make_link(new)
                self._closed = False
                self._needs_hello = True
                self._link.start()
                try:
                    self._hello()
                    return
                except TactileError as exc:
                    last = exc
                    self._link.stop()
                    new.close()
            if time.monotonic() >= deadline or transport is not None:
                self._closed = True
                assert last is not None
                raise last
            time.sleep(0.1)

    # ------------------------------------------------------------------ information
    def info(self, *, refresh: bool = False) -> m.DeviceInfo:
        """Vendor, model, serial, firmware, protocol versions, capabilities, languages,
        display, PIN block formats, key slots, PIN-entry limit, prompt ids (cached)."""
        if self._info is None or refresh or self._needs_hello:
            self._info = self._expect(m.GetInfo(), m.DeviceInfo)
        return self._info

    def layout(self, *, refresh: bool = False) -> Layout:
        """Every key: XFS name, label, x/y/width/height in the 0..999 frame, row and column
        (0 = top / left), tactile mark and colour (a :class:`protocol.layout.Layout`)."""
        if self._layout is None or refresh:
            reply = self._expect(m.GetLayout(), m.KeyLayout)
            self._layout = reply.to_layout()
        return self._layout

    def status(self) -> m.DeviceStatus:
        """Mode, headset, speaking, volume, rate, language, digit count, time left, ..."""
        reply = self._expect(m.GetStatus(), m.DeviceStatus)
        self.headset = reply.headset
        return reply

    def reset(self) -> None:
        """Restart the pad (any entry ends, PINs are wiped); negotiates again on next use."""
        self._expect_done(m.Reset())
        self._needs_hello = True

    def next_event(self, timeout: float = 0.0) -> PadEvent | None:
        """The next pad-level event (headset in/out, restart, tamper) seen since the last call,
        waiting up to ``timeout`` seconds; None if none.  (They also reach a running session.)"""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            while not self._status:
                self._raise_failure()
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._status_ready.wait(left)
            return self._status.popleft()

    # ------------------------------------------------------------------ keyboard sessions
    def listen(self) -> "KeyListener":
        """Listen to the IDLE pad (function keys, speech endings, headset): see
        :class:`drivers.pinpad.listener.KeyListener`.  Use it in a ``with`` block."""
        from drivers.pinpad.listener import KeyListener

        return KeyListener(self)

    def explore(self, *, lang: str = "en", idle_timeout: float = 60.0) -> ExploreSession:
        """Key exploration (a keypad tour): named key events, no PIN can be active."""
        if not idle_timeout > 0:
            raise ConfigurationError("idle_timeout must be positive")
        if self._layout is None:
            self.layout()
        return ExploreSession(self, lang, idle_timeout)

    def _entry_request(self, cls: type, *, min_len: int, max_len: int, auto_end: bool,
                       active_keys: Any, timeout: int, prompt: Any, prompt_args: Sequence[int],
                       lang: str, beep: BeepPolicy | str, **extra: Any) -> Any:
        if not (4 <= min_len <= max_len <= 12):
            raise ConfigurationError(f"PIN length must satisfy 4 <= min_len <= max_len <= 12 "
                                     f"(got min_len={min_len}, max_len={max_len})")
        if isinstance(beep, str):
            try:
                beep = BeepPolicy[beep.upper().replace("-", "_")]
            except KeyError:
                raise ConfigurationError(f"unknown beep policy {beep!r}: use one of "
                                         + ", ".join(b.name.lower() for b in BeepPolicy)) from None
        return cls(min_len=min_len, max_len=max_len, auto_end=bool(auto_end),
                   time_limit=int(timeout), prompt=_prompt_id(prompt),
                   prompt_args=tuple(int(a) for a in prompt_args), lang=lang, beep=beep,
                   active_keys=_active_keys(active_keys), **extra)

    def pin_entry(self, min_len: int = 4, max_len: int = 12, *, auto_end: bool = False,
                  active_keys: Any = None, timeout: int = 90,
                  prompt: int | str = PromptId.ENTER_PIN, prompt_args: Sequence[int] = (),
                  pan: str | None = None, block_format: PinBlockFormat | str = "iso4",
                  key_slot: int = 0, lang: str = "en",
                  beep: BeepPolicy | str = BeepPolicy.FOLLOW_SETTING) -> PinEntrySession:
        """A PIN entry session (use it in ``with``; iterate it for events).

        ``timeout``: the pad's inactivity limit in seconds (10..600), re-armed by each key;
        ``prompt``: an id or name from the pad's fixed table that may start a PIN entry;
        ``pan`` + ``block_format`` (iso4 | iso0 | iso1 | iso3) + ``key_slot`` (0 = the pad's
        default for the format): the PIN block fetched when the entry completes.
        ``active_keys``: XFS4IoT ``{key: {"terminate": bool}}`` (default: digits, enter and
        cancel terminating, clear, backspace, help).
        """
        fmt = _parse_format(block_format)
        if pan is not None:
            validate_pan(pan)
        request = self._entry_request(m.PinEntry, min_len=min_len, max_len=max_len,
                                      auto_end=auto_end, active_keys=active_keys,
                                      timeout=timeout, prompt=prompt, prompt_args=prompt_args,
                                      lang=lang, beep=beep)
        return PinEntrySession(self, request, pan=pan, block_format=fmt, key_slot=key_slot)

    def pin_change(self, min_len: int = 4, max_len: int = 12, *, auto_end: bool = False,
                   active_keys: Any = None, timeout: int = 90,
                   prompt: int | str = PromptId.ENTER_NEW_PIN, prompt_args: Sequence[int] = (),
                   pan: str | None = None, block_format: PinBlockFormat | str = "iso4",
                   key_slot: int = 0, lang: str = "en", max_mismatches: int = 3,
                   beep: BeepPolicy | str = BeepPolicy.FOLLOW_SETTING) -> PinChangeSession:
        """A PIN change session: the new PIN twice, compared inside the pad (see pin_entry)."""
        fmt = _parse_format(block_format)
        if pan is not None:
            validate_pan(pan)
        request = self._entry_request(m.PinChange, min_len=min_len, max_len=max_len,
                                      auto_end=auto_end, active_keys=active_keys,
                                      timeout=timeout, prompt=prompt, prompt_args=prompt_args,
                                      lang=lang, beep=beep, max_mismatches=int(max_mismatches))
        return PinChangeSession(self, request, pan=pan, block_format=fmt, key_slot=key_slot)

    def cancel_entry(self) -> None:
        """End a running PIN entry / change / exploration (idempotent on the pad)."""
        self._expect_done(m.CancelEntry())

    def extend_time(self, seconds: int = 30) -> int:
        """Extend the running entry's time limit; returns the seconds now left."""
        return int(self._expect(m.ExtendTime(seconds=int(seconds)), m.TimeLeft).seconds_left)

    def get_pin_block(self, pan: str | None, block_format: PinBlockFormat | str = "iso4",
                      key_slot: int = 0) -> PinBlock:
        """Encipher the PIN the pad holds after a completed entry (once per PIN).

        ``pan``: the card number (formats 0, 3, 4); may be None for iso1."""
        fmt = _parse_format(block_format)
        if pan is not None:
            validate_pan(pan)
        elif fmt is not PinBlockFormat.ISO1:
            raise ConfigurationError(f"PIN block format {fmt.value} needs the PAN (card number)")
        reply = self._expect(m.GetPinBlock(format=fmt, customer_data=pan or "", slot=key_slot),
                             m.PinBlockReply)
        return PinBlock(format=reply.format, block=bytes(reply.block),
                        ksn=bytes(reply.ksn) or None, slot=reply.slot)

    # ------------------------------------------------------------------ keys
    def load_key(self, slot: int, kind: LoadKind, key: bytes, *, ksn: bytes = b"",
                 kcv: bytes = b"") -> bytes:
        """Load a key in clear (key-loading room / test use); returns its check value."""
        reply = self._expect(m.LoadKey(slot=slot, kind=kind, key=bytes(key), ksn=bytes(ksn),
                                       kcv=bytes(kcv)), m.KeyLoaded)
        return bytes(reply.kcv)

    def key_info(self, slot: int) -> m.KeyInfo:
        return self._expect(m.GetKeyInfo(slot=slot), m.KeyInfo)

    def load_test_keys(self) -> dict[int, bytes]:
        """Load the published TEST keys (AES DUKPT and TDES DUKPT, :data:`TEST_KEYS`) into the
        pad's DUKPT slots; transaction counters restart.  Returns {slot: KCV}."""
        slots = {s.kind: s.slot for s in self.info().key_slots}
        loaded: dict[int, bytes] = {}
        for test in TEST_KEYS:
            if test.kind not in slots:
                raise DeviceError(f"the pad has no {test.kind.name} key slot for the test keys",
                                  code=int(ResultCode.BAD_KEY_SLOT),
                                  meaning=RESULT_MEANINGS[ResultCode.BAD_KEY_SLOT])
            slot = slots[test.kind]
            loaded[slot] = self.load_key(slot, test.load, test.bdk, ksn=test.ksn)
        return loaded

    # ------------------------------------------------------------------ audio, display, haptics
    def speak(self, text: str, lang: str = "en", *, rate: int = 0, volume: int = 0,
              interruptible: bool = True, queue: bool = False) -> int:
        """Speak free text (refused during PIN entry).  ``rate`` 50..200 % (0 = current),
        ``volume`` 1..1000 (0 = current).  Returns the utterance id (see SpeechEnded)."""
        reply = self._expect(m.Speak(text=text, lang=lang, rate=rate, volume=volume,
                                     interruptible=interruptible, queue=queue), m.SpeechQueued)
        return int(reply.utterance_id)

    def speak_prompt(self, prompt: int | str | PromptId, args: Iterable[int] = (), *,
                     lang: str = "en", interruptible: bool = True, display: bool = True) -> int:
        """Speak (and show) a prompt of the pad's fixed table, with numeric arguments."""
        reply = self._expect(m.SpeakPrompt(prompt=_prompt_id(prompt), lang=lang,
                                           args=tuple(int(a) for a in args),
                                           interruptible=interruptible, display=display),
                             m.SpeechQueued)
        return int(reply.utterance_id)

    def stop_speech(self) -> None:
        self._expect_done(m.StopSpeech())

    def play_tone(self, tone: Tone | str = Tone.ATTENTION, *, frequency: int = 0,
                  duration: int = 0, volume: int = 0) -> None:
        """A named tone (key, inactive, warning, error, success, attention) or ``custom`` with
        ``frequency`` Hz and ``duration`` ms."""
        if isinstance(tone, str):
            try:
                tone = Tone[tone.upper()]
            except KeyError:
                raise ConfigurationError(f"unknown tone {tone!r}: use one of "
                                         + ", ".join(t.name.lower() for t in Tone)) from None
        self._expect_done(m.PlayTone(tone=tone, frequency=frequency, duration=duration,
                                     volume=volume))

    def keypress_beep(self, active: bool = True, inactive: bool = True) -> None:
        """XFS4IoT KeypressBeep: automatic tones for active / inactive keys."""
        self._expect_done(m.KeypressBeep(active=bool(active), inactive=bool(inactive)))

    def set_volume(self, volume: int = 0, rate: int = 0) -> None:
        """Volume 1..1000 and speech rate 50..200 % (0 leaves the pad's default)."""
        self._expect_done(m.SetVolume(volume=int(volume), rate=int(rate)))

    def set_language(self, lang: str) -> None:
        """The language of the pad's own prompts and key names from now on, idle included
        (TPP SetLanguage; a pad without the CUSTOMER_SETTINGS capability refuses it)."""
        self._expect_done(m.SetLanguage(lang=lang))

    def set_feedback(self, *, speech: bool = True, tones: bool = True,
                     haptics: bool = False, captions: bool = True,
                     large: bool = False) -> None:
        """Which senses the pad's feedback reaches for the customer now at the pad (TPP
        SetFeedback): ``speech`` False shows prompts, key names and Speak text without speaking
        them, ``tones`` False silences every tone, ``haptics`` True adds the named vibration
        patterns, ``captions`` shows what is said in pages in step with it, ``large`` in large
        type.  Hello and Reset restore speech, tones and captions on, haptics and large off."""
        self._expect_done(m.SetFeedback(speech=bool(speech), tones=bool(tones),
                                        haptics=bool(haptics), captions=bool(captions),
                                        large=bool(large)))

    def display(self, text: str, *, large: bool = False) -> None:
        """Show text on the pad's display (refused during PIN entry); "" clears it.  Lines are
        separated by ``\n`` and must fit (``protocol.tpp.display``; TEXT_TOO_LONG otherwise)."""
        self._expect_done(m.Display(text=text, large=bool(large)))

    def haptic(self, pattern: Sequence[int] = (100,)) -> None:
        """Vibrate: milliseconds on, off, on, ..."""
        self._expect_done(m.Haptic(pattern=tuple(int(p) for p in pattern)))
