"""The pad's side of the TPP link: requests in, responses and events out, byte for byte.

:class:`PadWire` drives a :class:`protocol.tpp.TppConnection` in the DEVICE role.  Each request
is checked first by the protocol (``check_request``: mode and parameter rules of the SPEC), then
by the pad (:class:`~firmware_sim.pinpad.core.PadCore`: keys present, rate limit, speech unit).
Notices the core raises while a request is handled (EntryReady after Done(PinEntry), PowerOn
after Done(Reset)) are sent after the response, in order, so both ends' state tables agree.
An event the state table does not allow in the current mode (a key press before Hello) is not
sent: the protocol, not the pad, has the last word.

Trace (``trace=True``): one ``{"event": "trace", "dir": ..., ...}`` line per data frame each way
(the decoded message via :func:`protocol.tpp.describe`: key material redacted, and no message
type has a field that could carry a PIN digit), plus link events (resynchronisation, delivery
failures) and protocol errors.  ACK frames are not traced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from protocol.errors import LocalProtocolError, RemoteProtocolError
from protocol.pinblock import PinBlockFormat
from protocol.tpp import (
    NEED_DATA,
    PROMPTS,
    PROTOCOL_VERSION,
    BadMessageError,
    Capability,
    DeliveryFailed,
    EntryEnd,
    Extender,
    KeyKind,
    KeyStatus,
    MessageType,
    ResetReason,
    ResultCode,
    Resynchronised,
    Role,
    SpeechEnd,
    State,
    TamperCause,
    Tone,
    TppConnection,
    describe,
)
from protocol.tpp import messages as m
from protocol.tpp.codes import MAX_PAYLOAD

from firmware_sim.pinpad.audio import DEFAULT_RATE
from firmware_sim.pinpad.core import EntryRequest, Mode, Refusal
from firmware_sim.pinpad.keys import SLOTS, KeyProblem
from firmware_sim.pinpad.prompts import LANGUAGES

if TYPE_CHECKING:  # pragma: no cover
    from firmware_sim.pinpad.device import PinPadDevice

__all__ = ["PadWire", "DISPLAY_COLUMNS", "DISPLAY_ROWS"]

DISPLAY_COLUMNS = 20
DISPLAY_ROWS = 4

_STATE_OF_MODE = {Mode.IDLE: State.IDLE, Mode.EXPLORE: State.EXPLORE, Mode.PIN: State.PIN_ENTRY,
                  Mode.PIN_CHANGE: State.PIN_CHANGE, Mode.LOCKED: State.TAMPERED,
                  Mode.OFF: State.STARTING}
_BEEP = {"FOLLOW_SETTING": "follow", "SILENT": "silent", "ALWAYS": "always",
         "PRIVATE_ONLY": "private-only"}
_SPEECH_END = {"completed": SpeechEnd.COMPLETED, "key": SpeechEnd.INTERRUPTED_BY_KEY,
               "host": SpeechEnd.STOPPED, "replaced": SpeechEnd.REPLACED,
               "mode": SpeechEnd.MODE_CHANGE, "failed": SpeechEnd.FAILED}
_KEY_STATUS = {"accepted": KeyStatus.ACCEPTED, "inactive": KeyStatus.INACTIVE,
               "too-short": KeyStatus.TOO_SHORT,
               "no-more-extensions": KeyStatus.NO_MORE_EXTENSIONS}
_ENTRY_END = {"enter": EntryEnd.ENTER, "auto": EntryEnd.AUTO, "cancel": EntryEnd.CANCEL,
              "clear": EntryEnd.CLEAR, "backspace": EntryEnd.BACKSPACE, "help": EntryEnd.HELP,
              "timeout": EntryEnd.TIMEOUT, "host-cancel": EntryEnd.HOST_CANCEL,
              "mismatch": EntryEnd.MISMATCH}
_RESET_REASON = {"power-up": ResetReason.POWER_UP, "host-reset": ResetReason.HOST_RESET,
                 "service": ResetReason.SERVICE}
_TONE_NAMES = {Tone.KEY: "key", Tone.INACTIVE: "inactive", Tone.WARNING: "warning",
               Tone.ERROR: "error", Tone.SUCCESS: "success", Tone.ATTENTION: "attention",
               Tone.CUSTOM: "custom"}
_CAPABILITIES = (Capability.SPEAKER | Capability.HEADSET_JACK | Capability.DISPLAY
                 | Capability.LARGE_TYPE | Capability.HAPTICS | Capability.KEYPRESS_BEEP
                 | Capability.TEXT_TO_SPEECH | Capability.EXPLORE | Capability.PIN_CHANGE
                 | Capability.TAMPER_SENSOR | Capability.CUSTOMER_SETTINGS)


class PadWire:
    """TPP in the DEVICE role for one :class:`~firmware_sim.pinpad.device.PinPadDevice`."""

    def __init__(self, device: "PinPadDevice") -> None:
        self.dev = device
        self.conn = TppConnection(Role.DEVICE, baudrate=device.baudrate)
        self._deferred: list[tuple[str, dict[str, Any]]] | None = None
        self._handlers: dict[type, Callable[[Any], m.Response]] = {
            m.Hello: self._hello, m.GetInfo: self._info, m.GetLayout: self._layout,
            m.GetStatus: self._status, m.Reset: self._reset, m.SetLanguage: self._language,
            m.SetFeedback: self._feedback, m.ExploreStart: self._explore,
            m.ExploreStop: self._explore_stop, m.PinEntry: self._pin_entry,
            m.PinChange: self._pin_change, m.CancelEntry: self._cancel,
            m.ExtendTime: self._extend, m.GetPinBlock: self._pin_block,
            m.LoadKey: self._load_key, m.GetKeyInfo: self._key_info,
            m.DeleteKey: self._delete_key, m.Speak: self._speak,
            m.SpeakPrompt: self._speak_prompt, m.StopSpeech: self._stop_speech,
            m.PlayTone: self._tone, m.KeypressBeep: self._beep, m.SetVolume: self._volume,
            m.Display: self._display, m.Haptic: self._haptic,
        }

    @property
    def core(self) -> Any:
        return self.dev.core

    # -- link plumbing ------------------------------------------------------------------------
    def reset(self) -> None:
        """Power-up: a fresh link (sequence numbers, state STARTING)."""
        self.conn = TppConnection(Role.DEVICE, baudrate=self.dev.baudrate)
        self._deferred = None

    def _write(self, data: bytes | None) -> None:
        if not data:
            return
        if self.dev.faults.no_ack:
            data = _drop_acks(data)
        self.dev.send(data)

    def _trace(self, direction: str, item: Any) -> None:
        if self.dev.trace:
            # emitted as a dict: decoded fields may be called "name" (KeyLayout)
            self.dev._emit_event({"event": "trace", "dir": direction, **describe(item)})

    def _trace_note(self, **fields: Any) -> None:
        if self.dev.trace:
            self.dev._emit_event({"event": "trace", "dir": "link", **fields})

    def _link_note(self, item: Any) -> None:
        if isinstance(item, DeliveryFailed):
            self._trace_note(link="DeliveryFailed", undelivered=type(item.message).__name__,
                             seq=item.seq, attempts=item.attempts)
        elif isinstance(item, Resynchronised):
            self._trace_note(link="Resynchronised", skipped=item.skipped)
        else:
            self._trace_note(link=type(item).__name__)

    def receive(self, data: bytes) -> None:
        self.conn.receive_data(data)
        while True:
            try:
                item = self.conn.next_event()
            except BadMessageError as exc:
                self._trace_note(error=str(exc), seq=exc.seq)
                self._write(self.conn.data_to_send())
                if self.dev.faults.no_reply:
                    self.conn.abandon_requests(exc.seq)
                else:
                    self._send(m.Refused(exc.message_type, exc.result))
                continue
            except RemoteProtocolError as exc:
                self._trace_note(error=str(exc))
                continue
            if item is NEED_DATA:
                break
            if isinstance(item, m.Request):
                self._trace("host->device", item)
                self._write(self.conn.data_to_send())  # the ACK goes out first
                if self.dev.faults.no_reply:
                    # the pad's firmware "hangs": the request is acknowledged, then lost (it
                    # must not be answered later by a response meant for a newer request)
                    self.conn.abandon_requests()
                else:
                    self._handle(item)
            elif isinstance(item, (Resynchronised, DeliveryFailed)):
                self._link_note(item)
        self._write(self.conn.data_to_send())

    def next_deadline(self) -> float | None:
        return self.conn.next_deadline(self.dev.now())

    def tick(self, now: float) -> float | None:
        self._write(self.conn.retransmit_due(now))
        self._drain_link_events()
        return self.conn.next_deadline(now)

    def _drain_link_events(self) -> None:
        while True:
            try:
                item = self.conn.next_event()
            except RemoteProtocolError as exc:
                self._trace_note(error=str(exc))
                continue
            if item is NEED_DATA:
                return
            if isinstance(item, m.Request):  # only from receive(); kept for completeness
                self._handle(item)
            else:
                self._link_note(item)

    def _send(self, message: m.Message) -> bool:
        try:
            data = self.conn.send(message)
        except LocalProtocolError as exc:
            # the state table forbids this message now (e.g. a key event before Hello)
            self._trace_note(dropped=type(message).__name__, reason=str(exc))
            return False
        self._trace("device->host", message)
        self._write(data)
        return True

    # -- notices from the core -------------------------------------------------------------------
    def notice(self, kind: str, fields: dict[str, Any]) -> None:
        if self._deferred is not None:
            self._deferred.append((kind, fields))
            return
        message = self._event_for(kind, fields)
        if message is not None:
            self._send(message)

    def _event_for(self, kind: str, f: dict[str, Any]) -> m.Event | None:
        if kind == "power-on":
            return m.PowerOn(boot_count=f["boot_count"] & 0xFFFFFFFF,
                             reason=_RESET_REASON[f["reason"]], max_version=PROTOCOL_VERSION)
        if kind == "tamper":
            return m.Tamper(TamperCause.CASE_OPENED)
        if kind == "headset":
            return m.HeadsetChanged(f["inserted"])
        if kind == "speech-ended":
            return m.SpeechEnded(f["id"], _SPEECH_END[f["how"]])
        if kind == "key":
            return m.KeyPressed(f["key"], f["digits"], _KEY_STATUS[f["status"]])
        if kind == "entry-ready":
            return m.EntryReady(f["phase"], min(f["seconds_left"], 0xFFFF))
        if kind == "digit":
            return m.DigitEntered(f["digits"], f["accepted"])
        if kind == "entry-complete":
            cls = m.PinChangeCompleted if f["change"] else m.PinEntryCompleted
            return cls(_ENTRY_END[f["how"]], f["digits"], f["key"])
        if kind == "change-mismatch":
            return m.PinChangeMismatch(f["attempts_left"])
        if kind == "time-warning":
            return m.TimeWarning(f["seconds_left"])
        if kind == "time-extended":
            by = Extender.CUSTOMER if f["by"] == "customer" else Extender.HOST
            return m.TimeExtended(f["seconds_left"], by)
        raise ValueError(f"unknown pad notice {kind!r}")  # a bug in this package

    # -- requests -----------------------------------------------------------------------------
    def _handle(self, req: m.Request) -> None:
        verdict = self.conn.check_request(req, languages=LANGUAGES)
        if verdict is not ResultCode.OK:
            self._refused(req, verdict, "refused by the protocol's mode/parameter rules")
            return
        self._deferred = []
        try:
            try:
                response = self._handlers[type(req)](req)
            except Refusal as exc:
                self._refused(req, exc.code, str(exc))
            except KeyProblem as exc:
                self._refused(req, exc.code, str(exc))
            else:
                self._send(response)
        finally:
            deferred, self._deferred = self._deferred, None
        for kind, fields in deferred:
            self.notice(kind, fields)

    def _refused(self, req: m.Request, code: ResultCode, reason: str) -> None:
        if self.dev.trace:
            self.dev.event("trace", dir="device", refused=type(req).__name__,
                           result=code.name.lower(), reason=reason)
        self._send(m.Refused(int(req.TYPE), code))

    def _hello(self, req: m.Hello) -> m.Response:
        # a new host session: abort explore / entry silently, wipe every PIN (SPEC: Hello)
        self.core.abort_session()
        version = PROTOCOL_VERSION
        mode = State.TAMPERED if self.core.mode is Mode.LOCKED else State.IDLE
        return m.HelloReply(version=version, max_payload=MAX_PAYLOAD,
                            boot_count=self.core.boot_count & 0xFFFFFFFF, mode=mode)

    def _info(self, req: m.GetInfo) -> m.Response:
        from firmware_sim.pinpad.device import FIRMWARE, MODEL, VENDOR
        return m.DeviceInfo(
            vendor=VENDOR, model=MODEL, serial=self.dev.serial, firmware=FIRMWARE,
            min_version=PROTOCOL_VERSION, max_version=PROTOCOL_VERSION,
            capabilities=_CAPABILITIES, languages=tuple(LANGUAGES),
            display_columns=self.core.display_size.columns,
            display_rows=self.core.display_size.rows,
            pin_block_formats=tuple(PinBlockFormat),
            key_slots=tuple(m.KeySlot(n, kind, name) for n, (name, kind) in SLOTS.items()),
            max_pin_entries_per_hour=self.core.rate_limit, prompts=tuple(sorted(PROMPTS)))

    def _layout(self, req: m.GetLayout) -> m.Response:
        return m.KeyLayout.from_layout(self.dev.layout)

    def _status(self, req: m.GetStatus) -> m.Response:
        s = self.core.status()
        return m.DeviceStatus(
            mode=self.conn.state if self.conn.state is State.STARTING
            else _STATE_OF_MODE[self.core.mode],
            headset=s["headset"], speaking=s["speaking"], volume=s["volume"],
            rate=int(round(s["rate"] * 100)), lang=s["lang"], digits=s["digits"],
            phase=s["phase"], seconds_left=min(s["seconds_left"], 0xFFFF),
            pin_held=s["pin_held"], entries_left=min(s["entries_left"], 0xFFFF),
            beep_active=s["beep_active"], beep_inactive=s["beep_inactive"])

    def _reset(self, req: m.Reset) -> m.Response:
        self.core.power_on("host-reset")  # its PowerOn event follows Done(Reset)
        return m.Done(MessageType.RESET)

    def _language(self, req: m.SetLanguage) -> m.Response:
        self.core.set_language(req.lang)
        return m.Done(MessageType.SET_LANGUAGE)

    def _feedback(self, req: m.SetFeedback) -> m.Response:
        self.core.set_feedback(req.speech, req.tones, req.haptics, req.captions, req.large)
        return m.Done(MessageType.SET_FEEDBACK)

    def _explore(self, req: m.ExploreStart) -> m.Response:
        self.core.start_explore(req.lang)
        return m.Done(MessageType.EXPLORE_START)

    def _explore_stop(self, req: m.ExploreStop) -> m.Response:
        self.core.stop_explore()
        return m.Done(MessageType.EXPLORE_STOP)

    @staticmethod
    def _entry_request(req: m.PinEntry | m.PinChange) -> EntryRequest:
        return EntryRequest(
            min_len=req.min_len, max_len=req.max_len, auto_end=req.auto_end,
            active_keys={k.key: k.terminate for k in req.active_keys},
            timeout=float(req.time_limit), prompt_id=int(req.prompt),
            prompt_args=tuple(req.prompt_args), lang=req.lang, beep=_BEEP[req.beep.name],
            max_mismatches=getattr(req, "max_mismatches", 3))

    def _pin_entry(self, req: m.PinEntry) -> m.Response:
        self.core.start_pin_entry(self._entry_request(req))
        return m.Done(MessageType.PIN_ENTRY)

    def _pin_change(self, req: m.PinChange) -> m.Response:
        self.core.start_pin_change(self._entry_request(req))
        return m.Done(MessageType.PIN_CHANGE)

    def _cancel(self, req: m.CancelEntry) -> m.Response:
        self.core.cancel_entry()  # its completion event follows Done(CancelEntry)
        return m.Done(MessageType.CANCEL_ENTRY)

    def _extend(self, req: m.ExtendTime) -> m.Response:
        return m.TimeLeft(self.core.extend_time(req.seconds, by="host"))

    def _pin_block(self, req: m.GetPinBlock) -> m.Response:
        block, ksn, slot = self.core.pin_block(req.format, req.customer_data or None, req.slot)
        return m.PinBlockReply(format=req.format, slot=slot, block=block, ksn=ksn or b"")

    def _load_key(self, req: m.LoadKey) -> m.Response:
        kcv = self.dev.keystore.load(req.slot, req.kind, req.key, req.ksn, req.kcv)
        return m.KeyLoaded(req.slot, kcv)

    def _key_info(self, req: m.GetKeyInfo) -> m.Response:
        kind, kcv, ksn = self.dev.keystore.info(req.slot)
        return m.KeyInfo(req.slot, kind, kcv if kind is not KeyKind.NONE else b"", ksn)

    def _delete_key(self, req: m.DeleteKey) -> m.Response:
        self.dev.keystore.delete(req.slot)
        return m.Done(MessageType.DELETE_KEY)

    def _speak(self, req: m.Speak) -> m.Response:
        ident = self.core.speak(req.text, req.lang, rate=req.rate / 100 if req.rate else None,
                                volume=req.volume or None, interruptible=req.interruptible,
                                queue=req.queue)
        return m.SpeechQueued(ident)

    def _speak_prompt(self, req: m.SpeakPrompt) -> m.Response:
        ident = self.core.speak_prompt(int(req.prompt), tuple(req.args), req.lang,
                                       interruptible=req.interruptible, display=req.display)
        return m.SpeechQueued(ident)

    def _stop_speech(self, req: m.StopSpeech) -> m.Response:
        self.core.stop_speech()
        return m.Done(MessageType.STOP_SPEECH)

    def _tone(self, req: m.PlayTone) -> m.Response:
        self.core.play_tone(_TONE_NAMES[req.tone], freq=req.frequency or None,
                            ms=req.duration or None, volume=req.volume or None)
        return m.Done(MessageType.PLAY_TONE)

    def _beep(self, req: m.KeypressBeep) -> m.Response:
        self.core.keypress_beep(req.active, req.inactive)
        return m.Done(MessageType.KEYPRESS_BEEP)

    def _volume(self, req: m.SetVolume) -> m.Response:
        self.core.set_volume(req.volume or None, req.rate / 100 if req.rate else DEFAULT_RATE)
        return m.Done(MessageType.SET_VOLUME)

    def _display(self, req: m.Display) -> m.Response:
        self.core.display(req.text, req.large)
        return m.Done(MessageType.DISPLAY)

    def _haptic(self, req: m.Haptic) -> m.Response:
        self.core.haptic(list(req.pattern))
        return m.Done(MessageType.HAPTIC)


def _drop_acks(data: bytes) -> bytes:
    """Fault ``no-ack``: remove the pad's ACK frames (TYPE 0x00) from bytes it is about to send.

    The pad's own output is always whole frames: SOF, LEN (2), SEQ, REF, TYPE, HCK, payload,
    CRC (2)."""
    out = bytearray()
    i = 0
    while i + 7 <= len(data):
        total = 9 + ((data[i + 1] << 8) | data[i + 2])
        if data[i + 5] != MessageType.ACK:
            out += data[i:i + total]
        i += total
    out += data[i:]
    return bytes(out)
