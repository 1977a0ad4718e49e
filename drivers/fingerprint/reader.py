"""``FingerprintReader``: a driver for EF01 optical fingerprint modules (ZFM/R30x/AS608/R503).

The reader owns a :class:`drivers.transport.Transport` and a sans-I/O
:class:`protocol.ef01.Connection` in the HOST role; this module adds what the protocol layer
leaves to us: reading in bulk with deadlines, retrying what is safe to repeat, turning
confirmation codes into typed errors, and the multi-step flows (capture, enroll, verify,
identify) with their coaching events.

Not thread-safe by design of the wire (one exchange at a time); a lock serialises callers that
share one reader anyway.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from drivers.fingerprint.errors import (
    AlreadyEnrolledError,
    CaptureError,
    FingerprintError,
    FingerTimeoutError,
    PasswordError,
    SlotError,
    UnsupportedError,
    error_for_code,
)
from drivers.fingerprint.events import (
    EnrollCompleted,
    EventCallback,
    FingerDetected,
    FingerLifted,
    LiftFinger,
    Matched,
    NoMatch,
    PlaceFinger,
    ReaderEvent,
    RetryScan,
    StagePassed,
)
from drivers.fingerprint.results import (
    PACKET_SIZES,
    CaptureResult,
    IdentifyResult,
    ProductInfo,
    ReaderInfo,
    SensorReport,
    SettingChange,
    SystemParameters,
    Template,
    VerifyResult,
)
from drivers.transport import SerialTransport, Transport
from protocol.errors import (
    ConfigurationError,
    DeviceTimeoutError,
    LocalProtocolError,
    RemoteProtocolError,
    TransportError,
)
from protocol.ef01 import (
    NEED_DATA,
    Command,
    Confirmation,
    Connection,
    DataPacket,
    DataTransfer,
    Instruction,
    RawByte,
    Reply,
    Role,
    Skipped,
    State,
    SysParam,
    index_table_slots,
    opcode_table,
)

if TYPE_CHECKING:  # pragma: no cover
    from PIL.Image import Image

__all__ = ["FingerprintReader", "ProgressCallback", "LED_COLOURS", "LED_MODES", "BAUDRATES"]

_log = logging.getLogger("drivers.fingerprint")

#: ``progress(done_bytes, total_bytes)``; total is None when the size is not known in advance
ProgressCallback = Callable[[int, "int | None"], object]

_I = Instruction
_C = Confirmation

# Instructions whose repetition cannot change the module's state beyond what one run does:
# reads, captures into RAM buffers, comparisons, and RAM-buffer transfers.  Only these are
# re-sent after a timeout or a garbled reply.  Flash writes (Store, DeletChar, Empty,
# WriteNotepad, SetSysPara, SetPwd, SetAdder) are never repeated blindly: after a lost reply we
# cannot know whether the module did it.
_IDEMPOTENT = frozenset({
    _I.GEN_IMG, _I.GET_IMAGE_EX, _I.IMG2TZ, _I.MATCH, _I.SEARCH, _I.HIGH_SPEED_SEARCH,
    _I.REG_MODEL, _I.LOAD_CHAR, _I.UP_CHAR, _I.DOWN_CHAR, _I.UP_IMAGE, _I.READ_SYS_PARA,
    _I.VFY_PWD, _I.GET_RANDOM_CODE, _I.READ_INF_PAGE, _I.READ_NOTEPAD, _I.TEMPLATE_NUM,
    _I.READ_INDEX_TABLE, _I.CHECK_SENSOR, _I.GET_ALG_VER, _I.GET_FW_VER, _I.READ_PROD_INFO,
    _I.HANDSHAKE, _I.GET_ECHO, _I.AURA_LED_CONFIG,
})

# confirmation codes of a scan the customer can fix by placing the finger again
_RESCAN_CODES = frozenset({0x03, 0x04, 0x05, 0x06, 0x07, 0x15, 0x17})
# "the module does not know this instruction" (R30x firmware answers 01, R503 FC)
_UNSUPPORTED_CODES = frozenset({_C.PACKET_ERROR, _C.UNSUPPORTED})

#: Aura LED (R503) colour and mode numbers from the R503 manual
LED_COLOURS = {"red": 1, "blue": 2, "purple": 3, "green": 4, "yellow": 5, "cyan": 6, "white": 7}
LED_MODES = {"breathing": 1, "flashing": 2, "on": 3, "off": 4, "fade-in": 5, "fade-out": 6}

#: the baud rates EF01 modules support (9600 x N, N 1..12), the usual settings first
BAUDRATES = (57600, 115200, 9600, 19200, 38400, 28800, 48000, 67200, 76800, 86400, 96000, 105600)

def _check_link_options(address: object, password: object, baudrate: object) -> None:
    if not isinstance(address, int) or not 0 <= address <= 0xFFFFFFFF:
        raise ConfigurationError(f"the module address must be 0..0xFFFFFFFF, not {address!r}")
    if not isinstance(password, int) or not 0 <= password <= 0xFFFFFFFF:
        raise ConfigurationError(f"the module password must be 0..0xFFFFFFFF, not {password!r}")
    if baudrate is not None and baudrate not in BAUDRATES:
        # an EF01 UART runs only at 9600 x N; any other rate would just look like a dead module
        raise ConfigurationError(f"an EF01 module runs at 9600 x N baud (N 1..12: 9600 .. "
                                 f"115200), not {baudrate!r}")


#: ReadSysPara system id of Synochip (AS608) firmware; ZFM/R30x report 0x0009 or 0x0000
_SYNOCHIP_SYSTEM_ID = 0x2EC8

#: image geometries by UART byte count (4 bits per pixel) when the module does not report one
_KNOWN_IMAGES = {256 * 288 // 2: (256, 288), 192 * 192 // 2: (192, 192)}
#: bytes in a character buffer / template on ZFM, R30x and AS608 modules (their manuals)
_ZFM_TEMPLATE_SIZE = 512

#: how much longer than ``timeout`` :meth:`FingerprintReader.connect` waits for a booting module
_POWER_UP_ALLOWANCE = 0.6
#: per-try reply deadline while connecting (a booting module loses commands)
_CONNECT_POLL = 0.2
#: silence on the line that ends the drain after a lost exchange (a frame's bytes come closer)
_QUIET = 0.05

#: instruction names as the module manuals spell them (what a technician looks up)
_MANUAL_NAMES = {
    _I.GEN_IMG: "GenImg", _I.IMG2TZ: "Img2Tz", _I.MATCH: "Match", _I.SEARCH: "Search",
    _I.REG_MODEL: "RegModel", _I.STORE: "Store", _I.LOAD_CHAR: "LoadChar", _I.UP_CHAR: "UpChar",
    _I.DOWN_CHAR: "DownChar", _I.UP_IMAGE: "UpImage", _I.DOWN_IMAGE: "DownImage",
    _I.DELETE_CHAR: "DeletChar", _I.EMPTY: "Empty", _I.SET_SYS_PARA: "SetSysPara",
    _I.READ_SYS_PARA: "ReadSysPara", _I.SET_PWD: "SetPwd", _I.VFY_PWD: "VfyPwd",
    _I.GET_RANDOM_CODE: "GetRandomCode", _I.SET_ADDER: "SetAdder", _I.READ_INF_PAGE: "ReadINFpage",
    _I.PORT_CONTROL: "PortControl", _I.WRITE_NOTEPAD: "WriteNotepad", _I.READ_NOTEPAD: "ReadNotepad",
    _I.HIGH_SPEED_SEARCH: "HighSpeedSearch", _I.TEMPLATE_NUM: "TempleteNum",
    _I.READ_INDEX_TABLE: "ReadIndexTable", _I.GET_IMAGE_EX: "GetImageEx",
    _I.AURA_LED_CONFIG: "AuraLedConfig", _I.CHECK_SENSOR: "CheckSensor", _I.GET_ALG_VER: "GetAlgVer",
    _I.GET_FW_VER: "GetFwVer", _I.READ_PROD_INFO: "ReadProdInfo", _I.SOFT_RST: "SoftRst",
    _I.HANDSHAKE: "HandShake", _I.GET_ECHO: "GetEcho",
}


def _name(instruction: Instruction | int) -> str:
    if isinstance(instruction, Instruction):
        return _MANUAL_NAMES.get(instruction, instruction.name)
    return f"opcode 0x{instruction:02X}"


_F = TypeVar("_F", bound=Callable[..., Any])


def _locked(method: _F) -> _F:
    @functools.wraps(method)
    def wrapper(self: "FingerprintReader", *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self._closed:
                raise TransportError(f"the fingerprint reader on {self.port} is closed")
            return method(self, *args, **kwargs)
    return wrapper  # type: ignore[return-value]


def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("ascii", "replace").strip()


class FingerprintReader:
    """An EF01 fingerprint module (ZFM-20/60, R305/R307, FPM10A, AS608, R503).

    Open with :meth:`open` (a URL or a port path) or construct it on a ready
    :class:`~drivers.transport.Transport`.  Use it as a context manager: leaving the block closes
    the port the reader opened.

    ``timeout`` is the shortest wait for any reply; instructions the protocol allows longer
    (Search over a big library, Empty, a data packet at a low baud rate) get their protocol
    deadline.  ``retries`` is how often a safe-to-repeat request is re-sent after a lost or
    garbled reply.  ``poll_interval`` is the pause between finger polls.  ``clock``/``sleep``
    are injectable for tests.  ``model`` names the opcode table ("r307", "r503", "as608";
    default: the standard opcodes, refined when the module reports its product info).
    """

    def __init__(self, transport: Transport, *, address: int = 0xFFFFFFFF, password: int = 0,
                 timeout: float = 2.0, retries: int = 2, baudrate: int | None = None,
                 model: str | None = None, poll_interval: float = 0.05,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 close_transport: bool = False) -> None:
        _check_link_options(address, password, baudrate)
        if not timeout > 0:
            raise ConfigurationError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if not isinstance(retries, int) or retries < 0:
            raise ConfigurationError(f"retries must be 0 or more, not {retries!r}")
        self.transport = transport
        self.timeout = float(timeout)
        self.retries = retries
        self.poll_interval = poll_interval
        self._clock = clock
        self._sleep = sleep
        self._password = password
        self._close_transport = close_transport
        self._closed = False
        self._lock = threading.RLock()
        self._baudrate = baudrate or getattr(transport, "baudrate", None) or 57600
        try:
            table = opcode_table(model) if model else opcode_table("standard")
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        self._model_hint = model
        self._conn = Connection(Role.HOST, address=address, model=table, baudrate=self._baudrate)
        self._params: SystemParameters | None = None
        self._product: ProductInfo | None | bool = False   # False = not probed yet
        self._refresh_params = False
        #: bytes skipped while hunting for frames (noise, power-up bytes), for diagnostics
        self.stray_bytes = 0
        self._last_budget = 0.0     # the deadline of the last wait, for timeout messages
        #: seconds added to the wait for a finger (or its lift) now running (extend_wait)
        self._extension = 0.0
        self._fast_retry = False    # connect(): poll a booting module at short intervals
        self._connect_skipped: list[Skipped] = []
        self._answered = False      # the module has replied on this link at least once
        self._desynced = False      # an exchange was lost: drain late replies before the next
        self._sending_until = 0.0   # when the last download's bytes have left at our baud rate
        self._pending_baudrate: int | None = None   # set_baudrate waiting for a restart

    # ------------------------------------------------------------------ opening and closing
    @classmethod
    def open(cls, target: str | Transport, *, baudrate: int = 57600, address: int = 0xFFFFFFFF,
             password: int = 0, timeout: float = 2.0, retries: int = 2, model: str | None = None,
             poll_interval: float = 0.05, close_transport: bool | None = None,
             clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> "FingerprintReader":
        """Open the module at ``target`` and check that it answers.

        ``target`` is a pyserial URL or path (``/dev/ttyUSB0``, ``socket://10.0.0.5:4001``,
        ``sim://fingerprint?model=r503``) or a ready :class:`~drivers.transport.Transport`.
        The password is verified when it is non-zero (and again whenever the module asks for
        it).  A port opened from a URL is closed when the reader is.  Raises
        :class:`~protocol.errors.DeviceTimeoutError` when nothing answers,
        :class:`~drivers.fingerprint.errors.PasswordError` for a wrong or missing password.
        ``close_transport`` (default: only for a port opened here) closes the transport with
        the reader; the other options are the constructor's.
        """
        _check_link_options(address, password, baudrate)    # before a port is opened
        if isinstance(target, Transport):
            transport, owned = target, bool(close_transport)
        elif isinstance(target, str):
            transport = SerialTransport(target, baudrate)
            owned = True if close_transport is None else close_transport
        else:
            raise ConfigurationError(f"open() takes a port URL/path or a Transport, not {type(target).__name__}")
        try:
            reader = cls(transport, address=address, password=password, timeout=timeout,
                         retries=retries, baudrate=baudrate, model=model,
                         poll_interval=poll_interval, clock=clock, sleep=sleep,
                         close_transport=owned)
            reader.connect()
        except BaseException:
            if isinstance(target, str) or owned:
                transport.close()
            raise
        return reader

    @classmethod
    def detect_baudrate(cls, target: str | Transport, *, address: int = 0xFFFFFFFF,
                        password: int = 0, timeout: float = 0.3,
                        baudrates: tuple[int, ...] = ()) -> int:
        """Find the baud rate a module answers at: for a module set to a rate nobody wrote down.

        Tries each rate (the common ones first: 57600, 115200, 9600 ...; all 9600 x N) with a
        short ``timeout`` and returns the first one at which the module answers (up to about
        1 s per rate).  A URL is opened and closed again; a Transport must have
        ``set_baudrate``.  Raises DeviceTimeoutError when none works.
        """
        rates = baudrates or BAUDRATES
        transport = target if isinstance(target, Transport) else SerialTransport(target, rates[0])
        try:
            setter = getattr(transport, "set_baudrate", None)
            if setter is None:
                raise ConfigurationError(f"{transport.description} has no baud rate to change")
            for rate in rates:
                setter(rate)
                transport.reset_input()
                probe = cls(transport, address=address, password=password, timeout=timeout,
                            retries=0, baudrate=rate)
                try:
                    probe.connect()
                except DeviceTimeoutError:
                    _log.debug("no answer at %d baud on %s", rate, probe.port)
                    continue
                except PasswordError:
                    pass    # it answered: the rate is right, the password is another matter
                return rate
            port = getattr(transport, "url", None) or transport.description
            raise DeviceTimeoutError(
                f"no fingerprint module answered on {port} at any baud rate "
                f"({', '.join(map(str, rates))}; address {address:08X}). Check power and wiring "
                "(TX/RX crossed?), the address, and that no console is attached to the port.")
        finally:
            if not isinstance(target, Transport):
                transport.close()

    def connect(self) -> SystemParameters:
        """(Re)establish the session: verify the password, read the system parameters.

        Call it again after the module was power-cycled (e.g. to pick up a pending packet size).
        Waits out a module's power-up time (ZFM: about 0.5 s without answers).
        """
        with self._lock:
            self._conn.reset()
            self._conn.packet_size = 128
            self._product = False
            # A module that is still powering up (ZFM: 0.5 s) loses commands: ask again at the
            # protocol's own reply deadline instead of the user's floor, until the floor is over.
            start = self._clock()
            deadline = start + self.timeout + _POWER_UP_ALLOWANCE
            self._fast_retry = True
            try:
                while True:
                    try:
                        if self._password:
                            self._verify_password(single=True)
                        return self._read_parameters(single=True)
                    except DeviceTimeoutError as exc:
                        if self._clock() >= deadline:
                            self._last_budget = self._clock() - start
                            raise self._timeout_error("ReadSysPara, the first request",
                                                      self._connect_skipped) from exc
            finally:
                self._fast_retry = False
                self._connect_skipped = []

    def close(self) -> None:
        """Release the port (if the reader opened it).  Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._close_transport:
                self.transport.close()

    def __enter__(self) -> "FingerprintReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"address {self.address:08X}"
        return f"<FingerprintReader {self.port} {state}>"

    @property
    def port(self) -> str:
        """The port as given (URL or path), for messages."""
        return getattr(self.transport, "url", None) or self.transport.description

    @property
    def address(self) -> int:
        return self._conn.address

    @property
    def baudrate(self) -> int:
        return self._baudrate

    @property
    def packet_size(self) -> int:
        """The data packet size the reader uses now (the module's active setting)."""
        return self._conn.packet_size

    # ------------------------------------------------------------------ the I/O loop
    def _where(self) -> str:
        return f"{self.port} (address {self.address:08X})"

    def _write(self, data: bytes) -> None:
        self.transport.write(data)

    def _wire_time(self, nbytes: int) -> float:
        return nbytes * 10 / self._baudrate

    def _pump(self, deadline: float, waiting_for: str) -> Any:
        """Return the next protocol event that is not noise, reading until ``deadline``."""
        skipped: list[Skipped] = []
        while True:
            event = self._conn.next_event()
            if event is NEED_DATA:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise self._timeout_error(waiting_for, skipped)
                # one system call returns everything already waiting (up to 64 KiB)
                chunk = self.transport.read(65536, remaining)
                if chunk:
                    self._conn.receive_data(chunk)
                continue
            if isinstance(event, Skipped):
                self.stray_bytes += len(event.data)
                skipped.append(event)
                if self._fast_retry:
                    self._connect_skipped.append(event)
                _log.debug("skipped %d stray bytes from %s: %s", len(event.data), self.port, event.reason)
                continue
            if isinstance(event, RawByte):
                # the module (re)booted: it forgot the password and applies pending settings
                _log.debug("the module on %s announced a power-up (0x%02X)", self.port, event.value)
                self._refresh_params = True
                continue
            return event

    def _timeout_error(self, waiting_for: str, skipped: list[Skipped]) -> DeviceTimeoutError:
        budget = self._last_budget
        msg = (f"no reply from the fingerprint module on {self.port} within {budget:.1f} s "
               f"({self._baudrate} baud, address {self.address:08X}) to {waiting_for}.")
        foreign = [s.reason for s in skipped if "another module" in s.reason]
        if foreign:
            msg += (f" A module at another address answered ({foreign[0]}): open the reader with "
                    "that address.")
        elif skipped:
            n = sum(len(s.data) for s in skipped)
            msg += (f" {n} bytes arrived but formed no valid reply: the baud rate is probably "
                    "wrong (or TX/RX noise); try the module's baud rate, default 57600.")
        msg += (" Check: power and wiring (TX/RX crossed?), the baud rate "
                "(`tactile fingerprint info PORT --baud auto` finds it), the module address "
                "(a module ignores packets for another address; factory default FFFFFFFF), "
                "and that no console is attached to the port.")
        return DeviceTimeoutError(msg)

    def _drain(self) -> None:
        """After a lost exchange, let late replies arrive and throw them away.

        EF01 replies carry no sequence number: a late acknowledge of the same size would pass
        for the answer to the next command.  So before the next command we read until the line
        has been quiet for a moment (bounded by ``timeout``) and let the connection skip it all.
        """
        end = self._clock() + self.timeout
        while True:
            remaining = end - self._clock()
            if remaining <= 0:
                break
            chunk = self.transport.read(65536, min(_QUIET, remaining))
            if not chunk:
                break
            self._conn.receive_data(chunk)
        while (event := self._conn.next_event()) is not NEED_DATA:
            if isinstance(event, Skipped):
                self.stray_bytes += len(event.data)
                _log.debug("skipped %d stray bytes from %s: %s", len(event.data), self.port, event.reason)
            elif isinstance(event, RawByte):
                self._refresh_params = True
        self._conn.cancel()
        self._desynced = False

    def _deadline(self, extra: float = 0.0) -> float:
        due = self._conn.reply_due or 0.0
        if self._fast_retry:
            # while connecting, poll a booting module often; it answers in milliseconds once up
            self._last_budget = min(due, _CONNECT_POLL) + extra
        else:
            self._last_budget = max(self.timeout, due) + extra
        return self._clock() + self._last_budget

    def _request(self, instruction: Instruction, params: dict[str, Any] | None = None, *,
                 single: bool = False, probe: bool = False) -> Reply:
        """Send one command and return its acknowledge, whatever its confirmation code.

        Safe-to-repeat instructions are re-sent after a timeout or a garbled reply (``retries``
        times; never when ``single``).  A 01 (packet damaged on the way in: the module did not
        run it) is re-sent once for any instruction.  A 21 (password first) triggers one
        password verification and a re-send.
        """
        command = Command(instruction, params or {})
        tries = 1 if single else 1 + (self.retries if instruction in _IDEMPOTENT else 0)
        attempt = 0
        packet_retry = not probe
        password_retry = bool(self._password) and instruction is not _I.VFY_PWD
        name = _name(instruction)
        while True:
            attempt += 1
            if self._conn.state is not State.IDLE:
                self._conn.cancel()
            if self._desynced:
                self._drain()
            try:
                wire = self._conn.send(command)
            except LocalProtocolError as exc:
                if not self._conn.opcodes.supports(instruction):
                    raise UnsupportedError(
                        f"the {self._conn.opcodes.name} firmware of the module on {self._where()} has "
                        f"no {name} instruction; nothing was sent.", code=None,
                        meaning="not on this model") from exc
                raise
            self._write(wire)
            # our command, and any download still on the wire ahead of it, must arrive first
            backlog = max(0.0, self._sending_until - self._clock())
            try:
                event = self._pump(self._deadline(backlog + self._wire_time(len(wire))), name)
                if not isinstance(event, Reply):
                    raise RemoteProtocolError(f"the module sent {type(event).__name__} instead of "
                                              f"the reply to {name}")
                self._answered = True
            except (DeviceTimeoutError, RemoteProtocolError) as exc:
                self._conn.cancel()
                self._desynced = True
                if attempt < tries:
                    _log.debug("%s on %s: %s; sending it again (%d/%d)", name, self.port, exc,
                               attempt, tries - 1)
                    continue
                if instruction not in _IDEMPOTENT and isinstance(exc, DeviceTimeoutError):
                    raise DeviceTimeoutError(
                        f"{exc} The module may or may not have carried out {name}; it was not "
                        "repeated automatically. Check the module's state (e.g. `tactile "
                        "fingerprint index`) before trying again.") from exc
                raise
            if event.code == _C.PACKET_ERROR and packet_retry:
                packet_retry = False
                _log.debug("%s on %s: module reports a damaged packet; sending it again", name, self.port)
                continue
            if event.code == _C.PASSWORD_REQUIRED and password_retry:
                password_retry = False
                self._verify_password(single=False)
                continue
            return event

    def _ok(self, instruction: Instruction, params: dict[str, Any] | None = None, *,
            single: bool = False) -> Reply:
        """Like :meth:`_request`, but a non-zero confirmation code raises its typed error."""
        reply = self._request(instruction, params, single=single)
        if not reply.ok:
            raise self._error(reply)
        return reply

    def _error(self, reply: Reply) -> FingerprintError:
        info = reply.info
        return error_for_code(reply.code, info.meaning, instruction=_name(reply.instruction),
                              where=self._where(), action=info.action)

    def _upload(self, instruction: Instruction, params: dict[str, Any] | None = None, *,
                total: int | None = None, progress: ProgressCallback | None = None) -> bytes:
        """Run an upload (UpChar, UpImage): the ack, then data packets until the last."""
        for attempt in range(1 + self.retries):
            self._ok(instruction, params)
            done = 0
            lost_before = self.stray_bytes
            try:
                while True:
                    event = self._pump(self._deadline(), f"the data of {_name(instruction)}")
                    if isinstance(event, DataPacket):
                        done += len(event.data)
                        if progress is not None:
                            progress(done, total)
                    elif isinstance(event, DataTransfer):
                        # a damaged packet is skipped by the receiver and the transfer would
                        # end short: any bytes skipped on the way mean "repeat the upload"
                        if self.stray_bytes != lost_before:
                            raise RemoteProtocolError(
                                f"{self.stray_bytes - lost_before} bytes of {_name(instruction)} were "
                                "damaged on the line; the data is incomplete")
                        return event.data
                    else:
                        raise RemoteProtocolError(
                            f"the module sent {type(event).__name__} in the middle of {_name(instruction)}")
            except (DeviceTimeoutError, RemoteProtocolError) as exc:
                self._conn.cancel()
                self._desynced = True
                if attempt >= self.retries:
                    raise
                _log.debug("%s on %s broke off after %d bytes (%s); repeating it", _name(instruction),
                           self.port, done, exc)
        raise AssertionError("unreachable")  # pragma: no cover

    def _download(self, instruction: Instruction, params: dict[str, Any], data: bytes) -> None:
        """Run a download (DownChar, DownImage): the ack, then our data packets; no answer."""
        if not data:
            raise ConfigurationError(f"{_name(instruction)} needs data; an empty template is not one")
        # The packets must have the module's active size, which a power cycle we may not have
        # seen (R30x modules announce none) can have changed: ask, it costs one short exchange.
        self._read_parameters()
        self._ok(instruction, params)
        wire = self._conn.send(DataTransfer(instruction, bytes(data)))
        self._write(wire)
        self._sending_until = self._clock() + self._wire_time(len(wire))

    # ------------------------------------------------------------------ password, parameters
    def _verify_password(self, *, single: bool) -> None:
        reply = self._request(_I.VFY_PWD, {"password": self._password}, single=single)
        if reply.code == _C.WRONG_PASSWORD:
            raise PasswordError(
                f"the fingerprint module on {self._where()} refused the password: code 0x13, "
                f"{reply.info.meaning}. Open the reader with the password set on this module "
                "(password=..., or `--password N` with `tactile fingerprint`); a module whose "
                "password is lost must be replaced or reflashed.",
                code=reply.code, meaning=reply.info.meaning)
        if not reply.ok:
            raise self._error(reply)

    def _read_parameters(self, *, single: bool = False) -> SystemParameters:
        reply = self._request(_I.READ_SYS_PARA, single=single)
        if reply.code == _C.PASSWORD_REQUIRED:
            raise PasswordError(
                f"the fingerprint module on {self._where()} is protected by a password: code 0x21, "
                f"{reply.info.meaning}. Open the reader with the module's password (password=..., "
                "or `--password N` with `tactile fingerprint`).",
                code=reply.code, meaning=reply.info.meaning)
        if not reply.ok:
            raise self._error(reply)
        f = reply.fields
        code = f["packet_size_code"]
        params = SystemParameters(
            status=f["status"], system_id=f["system_id"], capacity=f["capacity"],
            security_level=f["security_level"], address=f["device_address"],
            packet_size=PACKET_SIZES[code] if code < len(PACKET_SIZES) else 128,
            baudrate=9600 * f["baud_multiplier"])
        if code >= len(PACKET_SIZES):
            _log.warning("module on %s reports packet size code %d; using 128-byte packets", self.port, code)
        self._params = params
        self._conn.packet_size = params.packet_size
        self._refresh_params = False
        return params

    def _ensure_parameters(self) -> SystemParameters:
        if self._params is None or self._refresh_params:
            return self._read_parameters()
        return self._params

    # ------------------------------------------------------------------ information
    @_locked
    def parameters(self) -> SystemParameters:
        """ReadSysPara: status register, capacity, security level, address, packet size, baud."""
        return self._read_parameters()

    @_locked
    def template_count(self) -> int:
        """TempleteNum: how many templates the library holds."""
        return self._ok(_I.TEMPLATE_NUM).fields["count"]

    @_locked
    def index(self) -> set[int]:
        """ReadIndexTable over the whole library: the set of used slot numbers."""
        capacity = self._ensure_parameters().capacity
        used: set[int] = set()
        for page in range(max(1, math.ceil(capacity / 256))):
            table = self._ok(_I.READ_INDEX_TABLE, {"page": page}).fields["table"]
            used.update(s for s in index_table_slots(table, page) if s < capacity)
        return used

    @_locked
    def first_free_slot(self) -> int:
        """The lowest unused slot; :class:`LibraryFullError` when there is none."""
        capacity = self._ensure_parameters().capacity
        used = self.index()
        for slot in range(capacity):
            if slot not in used:
                return slot
        raise error_for_code(_C.LIBRARY_FULL, "the fingerprint library is full", where=self._where())

    def _probe(self, instruction: Instruction) -> Reply | None:
        """Ask for something only some models have; None when this one lacks it.

        Not repeated: firmware that lacks an instruction may answer 01/FC or nothing at all.
        Silence means "lacks it" only from a module that has answered on this link before; a
        module never heard from (wrong address, locked, no power) is a fault, and raises.
        """
        try:
            reply = self._request(instruction, single=True, probe=True)
        except UnsupportedError:
            return None
        except DeviceTimeoutError:
            if not self._answered:
                raise
            _log.debug("no answer to %s on %s: taken as not supported", _name(instruction), self.port)
            return None
        if reply.code in _UNSUPPORTED_CODES:
            return None
        return reply

    def _product_info(self) -> ProductInfo | None:
        if self._product is False:
            reply = self._probe(_I.READ_PROD_INFO)
            product = None
            if reply is not None and reply.ok:
                f = reply.fields
                product = ProductInfo(
                    model=_text(f["model"]), batch=_text(f["batch"]), serial=_text(f["serial"]),
                    hardware_version=f"{f['hw_major']}.{f['hw_minor']}", sensor=_text(f["sensor"]),
                    image_width=f["width"], image_height=f["height"],
                    template_size=f["template_size"], library_size=f["database_size"])
                if self._model_hint is None and product.model.lower().startswith("r503"):
                    self._conn.opcodes = opcode_table("r503")
            self._product = product
        return self._product  # type: ignore[return-value]

    def _has_aura_led(self) -> bool:
        if self._model_hint is not None:
            return self._model_hint.lower() == "r503"
        product = self._product_info()
        return product is not None and product.model.upper().startswith(("R50", "R55"))

    def _template_size(self) -> int:
        """Bytes in one template: what ReadProdInfo reports (R503-class), else the 512 bytes
        the ZFM/R30x/AS608 manuals give for a character buffer."""
        product = self._product_info()
        if product is not None and product.template_size:
            return product.template_size
        return _ZFM_TEMPLATE_SIZE

    def _check_template(self, data: bytes) -> bytes:
        # a module pads or truncates a download to its buffer size and then simply fails to
        # match: a wrong-sized bank record would reject the customer with no sign of the cause
        size = self._template_size()
        if len(data) != size:
            raise ConfigurationError(
                f"that template is {len(data)} bytes, but the fingerprint module on "
                f"{self._where()} uses {size}-byte templates. Check that it was exported from "
                "this model of module and was not cut short or altered in storage.")
        return data

    def _image_size(self) -> tuple[int, int]:
        product = self._product_info()
        if product is not None and product.image_width and product.image_height:
            return product.image_width, product.image_height
        return 256, 288

    @_locked
    def info(self) -> ReaderInfo:
        """What the module is and how it is set: parameters, template count, product, versions."""
        params = self._read_parameters()
        count = self.template_count()
        product = self._product_info()
        firmware = algorithm = None
        if product is not None:     # version strings exist on the same (R503-class) firmware
            fw = self._probe(_I.GET_FW_VER)
            firmware = _text(fw.fields["version"]) if fw is not None and fw.ok else None
            alg = self._probe(_I.GET_ALG_VER)
            algorithm = _text(alg.fields["version"]) if alg is not None and alg.ok else None
        has_check = self._probe(_I.CHECK_SENSOR) is not None
        width, height = self._image_size()
        if product is not None:
            model = product.model
        elif self._model_hint:
            model = self._model_hint.upper()
        elif params.system_id == _SYNOCHIP_SYSTEM_ID:
            model = "AS608-class module (Synochip)"
        else:   # no product information: the classic ZFM-20/60 instruction set
            model = "ZFM/R30x-class module"
        return ReaderInfo(port=self.port, model=model, parameters=params, template_count=count,
                          image_width=width, image_height=height, product=product,
                          firmware=firmware, algorithm=algorithm,
                          has_aura_led=self._has_aura_led(), has_sensor_check=has_check)

    # ------------------------------------------------------------------ finger flows
    @staticmethod
    def _emit(on_event: EventCallback | None, event: ReaderEvent) -> None:
        _log.debug("event %s", event.status)
        if on_event is not None:
            on_event(event)

    def extend_wait(self, seconds: float) -> None:
        """Give the customer ``seconds`` more for the finger (or the lift) being waited for
        now, as Help does in a PIN entry; safe to call from another thread (the guidance's
        key listener).  The next wait starts with its own full limit again."""
        if seconds > 0:
            self._extension += float(seconds)

    def _wait_finger(self, deadline: float, timeout: float, on_event: EventCallback | None) -> None:
        """Poll GenImg until an image is taken.

        A scan failure the customer can fix (03 capture failed, 04/05 too dry/wet, 17 residual
        print) is coached with RetryScan once per change; if the deadline passes during such
        failures, their typed error is raised (it is not the customer's absence).
        """
        last = _C.NO_FINGER
        while True:
            code = self._request(_I.GEN_IMG).code
            if code == _C.OK:
                return
            if code != _C.NO_FINGER:
                if code not in _RESCAN_CODES:
                    raise self._error(Reply(_I.GEN_IMG, code))
                if code != last:
                    self._emit(on_event, RetryScan.for_code(code))
            last = code
            if self._clock() >= deadline + self._extension:
                if last != _C.NO_FINGER:
                    raise self._error(Reply(_I.GEN_IMG, last))
                raise FingerTimeoutError(
                    f"no finger was placed on the sensor of {self.port} within "
                    f"{timeout + self._extension:.1f} s. "
                    "Ask the customer to place a finger flat on the sensor window.", waiting_for="place")
            self._sleep(self.poll_interval)

    def _capture(self, buffer: int, timeout: float, on_event: EventCallback | None,
                 stage: int = 0, stages: int = 0) -> CaptureResult:
        deadline = self._clock() + timeout
        self._extension = 0.0
        self._emit(on_event, PlaceFinger(stage, stages))
        scans = 0
        rejected: list[int] = []
        while True:
            self._wait_finger(deadline, timeout, on_event)
            scans += 1
            self._emit(on_event, FingerDetected())
            reply = self._request(_I.IMG2TZ, {"buffer": buffer})
            if reply.ok:
                return CaptureResult(buffer=buffer, scans=scans, rejected=tuple(rejected))
            if reply.code not in _RESCAN_CODES:
                raise self._error(reply)
            rejected.append(reply.code)
            if self._clock() >= deadline:
                raise self._error(reply)
            self._emit(on_event, RetryScan.for_code(reply.code))
            self._sleep(self.poll_interval)

    def _wait_lift(self, timeout: float, on_event: EventCallback | None) -> None:
        self._extension = 0.0
        self._emit(on_event, LiftFinger())
        deadline = self._clock() + timeout
        while True:
            code = self._request(_I.GEN_IMG).code
            if code == _C.NO_FINGER:
                self._emit(on_event, FingerLifted())
                return
            if self._clock() >= deadline + self._extension:
                raise FingerTimeoutError(
                    f"the finger was not lifted from the sensor of {self.port} within {timeout:.1f} s. "
                    "Ask the customer to lift the finger (or wipe the sensor window).",
                    waiting_for="lift")
            self._sleep(self.poll_interval)

    @_locked
    def capture(self, *, timeout: float = 10.0, on_event: EventCallback | None = None,
                buffer: int = 1) -> CaptureResult:
        """Wait for a finger, take its image and extract its features into ``buffer``.

        Emits PlaceFinger, FingerDetected, and RetryScan (with advice) for every unusable
        scan.  Raises :class:`FingerTimeoutError` when no finger comes within ``timeout`` s,
        or the :class:`CaptureError` of the last scan when none was usable in that time.
        """
        return self._capture(buffer, timeout, on_event)

    @_locked
    def wait_for_lift(self, *, timeout: float = 10.0, on_event: EventCallback | None = None) -> None:
        """Ask for the finger to be lifted (LiftFinger) and wait until it is (FingerLifted)."""
        self._wait_lift(timeout, on_event)

    def _check_slot(self, slot: int) -> None:
        if not isinstance(slot, int) or isinstance(slot, bool) or not 0 <= slot <= 0xFFFF:
            raise ConfigurationError(f"a slot is a number 0..capacity-1, not {slot!r}")

    def _check_free_slot(self, slot: int, overwrite: bool) -> None:
        """Before anyone's time is spent: the slot exists and (unless ``overwrite``) is free."""
        self._check_slot(slot)
        capacity = self._ensure_parameters().capacity
        if slot >= capacity:
            raise SlotError(
                f"slot {slot} is outside the library of the fingerprint module on {self._where()} "
                f"(slots 0..{capacity - 1}); nothing was done.", code=None,
                meaning="slot out of range")
        if not overwrite and slot in self.index():
            raise SlotError(
                f"slot {slot} of the fingerprint module on {self._where()} already holds a "
                "template. Delete it first (`tactile fingerprint delete`), choose a free slot, "
                "or pass overwrite=True (`--overwrite` with `tactile fingerprint`).", code=None,
                meaning="slot in use")

    @_locked
    def enroll(self, *, captures: int = 2, slot: int | None = None,
               on_event: EventCallback | None = None, check_duplicate: bool = True,
               overwrite: bool = False, timeout: float = 10.0) -> Template:
        """Enroll a finger: ``captures`` scans with a lift between, merged into one template.

        With ``check_duplicate`` the merged template is searched in the library first and
        :class:`AlreadyEnrolledError` (``.slot``) raised if the finger is already there.  With
        ``slot`` the template is stored there (an occupied slot raises :class:`SlotError`
        unless ``overwrite``); it is always exported too, so the returned :class:`Template`
        carries the bytes a bank may keep.  Events: PlaceFinger(stage), FingerDetected,
        StagePassed, LiftFinger, FingerLifted, RetryScan, EnrollCompleted.
        """
        if not isinstance(captures, int) or captures < 2:
            raise ConfigurationError(f"an enrollment needs at least 2 captures, not {captures!r}")
        params = self._ensure_parameters()
        if slot is not None:
            self._check_free_slot(slot, overwrite)
        merges_failed = 0
        stage = 1
        while stage <= captures:
            if stage > 1:
                self._wait_lift(timeout, on_event)
            # ZFM modules have two character buffers: the first scan goes to 1, each later scan
            # to 2 and is merged with what 1 holds (RegModel leaves the merge in both)
            buffer = 1 if stage == 1 else 2
            self._capture(buffer, timeout, on_event, stage, captures)
            if stage > 1:
                reply = self._request(_I.REG_MODEL)
                if reply.code == _C.MERGE_FAILED and merges_failed < 2:
                    merges_failed += 1
                    self._emit(on_event, RetryScan(code=reply.code, reason="enroll-retry-scan",
                                                   advice="That did not look like the same finger; "
                                                          "place the same finger again."))
                    continue
                if not reply.ok:
                    raise self._error(reply)
            self._emit(on_event, StagePassed(stage, captures))
            stage += 1
        if check_duplicate:
            reply = self._request(_I.SEARCH, {"buffer": 1, "start": 0, "count": params.capacity})
            if reply.ok:
                raise AlreadyEnrolledError(
                    f"this finger is already enrolled in slot {reply.fields['slot']} of the "
                    f"fingerprint module on {self._where()} (score {reply.fields['score']}). Use "
                    "that enrollment, or delete it first.", code=None,
                    meaning="fingerprint already enrolled", slot=reply.fields["slot"],
                    score=reply.fields["score"])
            if reply.code not in (_C.NOT_FOUND, _C.LIBRARY_EMPTY):
                raise self._error(reply)
        data = self._upload(_I.UP_CHAR, {"buffer": 1})
        if slot is not None:
            self._ok(_I.STORE, {"buffer": 1, "slot": slot})
        self._emit(on_event, EnrollCompleted(slot))
        return Template(data, slot=slot, captures=captures)

    def _load_reference(self, template: Template | bytes | int, buffer: int) -> None:
        if isinstance(template, int) and not isinstance(template, bool):
            self._check_slot(template)
            self._ok(_I.LOAD_CHAR, {"buffer": buffer, "slot": template})
        elif isinstance(template, (Template, bytes, bytearray, memoryview)):
            self._download(_I.DOWN_CHAR, {"buffer": buffer}, self._check_template(bytes(template)))
        else:
            raise ConfigurationError(
                f"verify() takes a Template, template bytes or a slot number, not {type(template).__name__}")

    @_locked
    def verify(self, template: Template | bytes | int, *, attempts: int = 3,
               on_event: EventCallback | None = None, timeout: float = 10.0) -> VerifyResult:
        """1:1 verify: does the finger on the sensor match ``template``?

        ``template`` is a :class:`Template` (or its bytes: downloaded into buffer 2) or a slot
        number (loaded from the library into buffer 2).  Each attempt captures into buffer 1
        and runs Match; between attempts the customer lifts the finger.  Returns
        ``VerifyResult(matched, score, attempts_used)`` (``score`` is the best seen).
        """
        if not isinstance(attempts, int) or attempts < 1:
            raise ConfigurationError(f"attempts must be 1 or more, not {attempts!r}")
        self._load_reference(template, 2)
        best = 0
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                self._wait_lift(timeout, on_event)
            self._capture(1, timeout, on_event)
            reply = self._request(_I.MATCH)
            score = reply.fields.get("score", 0) if reply.fields else 0
            if reply.ok:
                self._emit(on_event, Matched(score))
                return VerifyResult(True, score, attempt)
            if reply.code != _C.NO_MATCH:
                raise self._error(reply)
            best = max(best, score)
            self._emit(on_event, NoMatch(attempt, attempts, score))
        return VerifyResult(False, best, attempts)

    @_locked
    def identify(self, *, attempts: int = 1, on_event: EventCallback | None = None,
                 timeout: float = 10.0, start: int = 0, count: int | None = None) -> IdentifyResult:
        """1:N identify: capture and Search the library (``start``.. ``start+count``).

        Returns ``IdentifyResult(slot, score)``; ``slot`` is None when nothing matched.
        """
        if not isinstance(attempts, int) or attempts < 1:
            raise ConfigurationError(f"attempts must be 1 or more, not {attempts!r}")
        capacity = self._ensure_parameters().capacity
        if count is None:
            count = max(0, capacity - start)
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                self._wait_lift(timeout, on_event)
            self._capture(1, timeout, on_event)
            reply = self._request(_I.SEARCH, {"buffer": 1, "start": start, "count": count})
            if reply.ok:
                self._emit(on_event, Matched(reply.fields["score"], reply.fields["slot"]))
                return IdentifyResult(reply.fields["slot"], reply.fields["score"])
            if reply.code not in (_C.NOT_FOUND, _C.LIBRARY_EMPTY):
                raise self._error(reply)
            self._emit(on_event, NoMatch(attempt, attempts, 0))
        return IdentifyResult(None, 0)

    # ------------------------------------------------------------------ templates and library
    @_locked
    def export_template(self, slot: int | None = None, *, buffer: int = 1) -> Template:
        """UpChar: the template in ``slot`` (LoadChar first) or already in ``buffer``."""
        if slot is not None:
            self._check_slot(slot)
            self._ok(_I.LOAD_CHAR, {"buffer": buffer, "slot": slot})
        return Template(self._upload(_I.UP_CHAR, {"buffer": buffer}), slot=slot)

    @_locked
    def import_template(self, template: Template | bytes, *, slot: int | None = None,
                        buffer: int = 1, overwrite: bool = False) -> Template:
        """DownChar ``template`` into ``buffer``; with ``slot``, Store it there too.

        An export after an import returns the same bytes (the module keeps them verbatim).
        """
        data = self._check_template(bytes(template))
        if slot is not None:
            self._check_free_slot(slot, overwrite)
        self._download(_I.DOWN_CHAR, {"buffer": buffer}, data)
        if slot is not None:
            self._ok(_I.STORE, {"buffer": buffer, "slot": slot})
        return Template(data, slot=slot, captures=getattr(template, "captures", 0))

    @_locked
    def delete(self, slot: int, count: int = 1) -> None:
        """DeletChar: erase ``count`` templates from ``slot`` on."""
        self._check_slot(slot)
        if not isinstance(count, int) or count < 1:
            raise ConfigurationError(f"count must be 1 or more, not {count!r}")
        capacity = self._ensure_parameters().capacity
        if slot + count > capacity:
            # the module would answer 10 "delete failed", which reads like a flash fault
            raise SlotError(
                f"cannot delete slots {slot}..{slot + count - 1}: the library of the fingerprint "
                f"module on {self._where()} has slots 0..{capacity - 1}; nothing was deleted.",
                code=None, meaning="slot out of range")
        self._ok(_I.DELETE_CHAR, {"start": slot, "count": count})

    @_locked
    def clear(self) -> None:
        """Empty: erase the whole template library."""
        self._ok(_I.EMPTY)

    @_locked
    def read_notepad(self, page: int) -> bytes:
        """ReadNotepad: the 32 bytes of notepad ``page`` (0..15)."""
        return self._ok(_I.READ_NOTEPAD, {"page": self._page(page)}).fields["data"]

    @_locked
    def write_notepad(self, page: int, data: bytes) -> None:
        """WriteNotepad: store up to 32 bytes (zero-padded) in notepad ``page`` (0..15)."""
        data = bytes(data)
        if len(data) > 32:
            raise ConfigurationError(f"a notepad page holds 32 bytes, not {len(data)}")
        self._ok(_I.WRITE_NOTEPAD, {"page": self._page(page), "data": data.ljust(32, b"\x00")})

    @staticmethod
    def _page(page: int) -> int:
        if not isinstance(page, int) or not 0 <= page <= 255:
            raise ConfigurationError(f"a notepad page is a number 0..15, not {page!r}")
        return page

    # ------------------------------------------------------------------ LED, sensor, image
    @_locked
    def led(self, mode: str = "breathing", colour: str = "blue", *, speed: int = 128,
            cycles: int = 0) -> None:
        """Aura LED ring (R503 family): ``mode`` in LED_MODES, ``colour`` in LED_COLOURS.

        ``speed`` 0..255 (lower is faster), ``cycles`` 0 = endless.  Raises
        :class:`UnsupportedError` on modules without the ring.
        """
        if mode not in LED_MODES:
            raise ConfigurationError(f"LED mode must be one of {', '.join(LED_MODES)}, not {mode!r}")
        if colour not in LED_COLOURS:
            raise ConfigurationError(f"LED colour must be one of {', '.join(LED_COLOURS)}, not {colour!r}")
        if not 0 <= speed <= 255 or not 0 <= cycles <= 255:
            raise ConfigurationError("LED speed and cycles are 0..255")
        if not self._has_aura_led():
            raise UnsupportedError(
                f"the fingerprint module on {self._where()} has no Aura LED ring (only R503-family "
                "modules do); nothing was sent.", code=None, meaning="no LED on this model")
        self._ok(_I.AURA_LED_CONFIG, {"control": LED_MODES[mode], "speed": speed,
                                      "colour": LED_COLOURS[colour], "times": cycles})

    @_locked
    def _known_to_have(self, instruction: Instruction) -> bool:
        """True when this module certainly has ``instruction``: the model named at open, or the
        model the module itself reported (ReadProdInfo), lists it.  Then a lost or garbled
        reply is a link fault to retry or report, not a sign that the model lacks it."""
        if self._model_hint is not None:
            return opcode_table(self._model_hint).supports(instruction)
        product = self._product if isinstance(self._product, ProductInfo) else None
        if product is not None and product.model.upper().startswith(("R50", "R55")):
            return opcode_table("r503").supports(instruction)
        return False

    def check_sensor(self) -> bool | None:
        """CheckSensor self-test: True ok, False sensor fault, None where the model has none.

        On a module known to have it (the model given at open, or an R50x that said so), the
        request is repeated after a lost or garbled reply and then raises, like any other."""
        if self._known_to_have(_I.CHECK_SENSOR):
            reply = self._request(_I.CHECK_SENSOR)
        else:
            reply = self._probe(_I.CHECK_SENSOR)
        if reply is None:
            return None
        if reply.ok:
            return True
        if reply.code == _C.SENSOR_FAULT:
            return False
        raise self._error(reply)

    @_locked
    def image(self, *, capture: bool = True, timeout: float = 10.0,
              on_event: EventCallback | None = None,
              progress: ProgressCallback | None = None) -> "Image":
        """Upload the sensor image as a Pillow greyscale image (``.save("x.png")``).

        With ``capture`` it first waits for a finger (PlaceFinger/FingerDetected); otherwise it
        uploads what the image buffer holds.  Over UART the module sends 4 bits per pixel;
        each nibble is expanded to 8 bits (0x0 -> 0, 0xF -> 255).  ``progress(done, total)``
        is called per data packet: at 57600 baud a 256x288 image takes about 7 s.
        """
        import numpy as np
        from PIL import Image as PILImage

        if capture:
            deadline = self._clock() + timeout
            self._emit(on_event, PlaceFinger())
            self._wait_finger(deadline, timeout, on_event)
            self._emit(on_event, FingerDetected())
        width, height = self._image_size()
        data = self._upload(_I.UP_IMAGE, total=width * height // 2, progress=progress)
        raw = np.frombuffer(data, dtype=np.uint8)
        if len(data) * 2 != width * height:
            if len(data) == width * height:     # USB units send 8 bits per pixel
                return PILImage.fromarray(raw.reshape(height, width).copy(), mode="L")
            if len(data) not in _KNOWN_IMAGES:
                raise RemoteProtocolError(
                    f"the module on {self.port} sent an image of {len(data)} bytes, which fits no "
                    f"known sensor (expected {width * height // 2} for {width}x{height})")
            width, height = _KNOWN_IMAGES[len(data)]
        pixels = np.empty(raw.size * 2, dtype=np.uint8)
        pixels[0::2] = raw >> 4       # left pixel in the high nibble
        pixels[1::2] = raw & 0x0F
        pixels *= 17                  # 0..15 -> 0..255
        return PILImage.fromarray(pixels.reshape(height, width), mode="L")

    @_locked
    def sensor_test(self, *, scans: int = 3, timeout: float = 10.0,
                    on_event: EventCallback | None = None, with_image: bool = False) -> SensorReport:
        """A technician's check: CheckSensor (where the model has it) and ``scans`` captures.

        Counts usable scans and the codes of unusable ones; ``with_image`` also uploads one
        image and reports its mean grey level and contrast (standard deviation).
        """
        sensor_ok = self.check_sensor()
        rejected: dict[int, int] = {}
        usable = 0
        for n in range(scans):
            if n and usable:
                self._wait_lift(timeout, on_event)
            deadline = self._clock() + timeout
            self._emit(on_event, PlaceFinger(n + 1, scans))
            try:
                self._wait_finger(deadline, timeout, on_event)
            except CaptureError as exc:     # the sensor gave no image at all: that is the finding
                rejected[exc.code] = rejected.get(exc.code, 0) + 1
                continue
            self._emit(on_event, FingerDetected())
            reply = self._request(_I.IMG2TZ, {"buffer": 1})
            if reply.ok:
                usable += 1
            elif reply.code in _RESCAN_CODES:
                rejected[reply.code] = rejected.get(reply.code, 0) + 1
                self._emit(on_event, RetryScan.for_code(reply.code))
            else:
                raise self._error(reply)
        mean = contrast = None
        if with_image:
            import numpy as np
            img = np.asarray(self.image(capture=False), dtype=np.float64)
            mean, contrast = float(img.mean()), float(img.std())
        return SensorReport(sensor_ok=sensor_ok, scans=scans, usable=usable, rejected=rejected,
                            image_mean=mean, image_contrast=contrast)

    # ------------------------------------------------------------------ settings
    def _set(self, register: SysParam, value: int) -> None:
        self._ok(_I.SET_SYS_PARA, {"register": int(register), "value": value})

    @_locked
    def set_security_level(self, level: int) -> SettingChange:
        """SetSysPara 5: matching strictness 1 (lenient) .. 5 (strict), 3 typical.

        Most firmware applies it at once; the ZFM manual says after the next power-up.  The
        returned :class:`SettingChange` says which happened on this module (``pending``).
        """
        if not isinstance(level, int) or not 1 <= level <= 5:
            raise ConfigurationError(f"the security level is 1..5, not {level!r}")
        old = self._read_parameters().security_level
        self._set(SysParam.SECURITY, level)
        now = self._read_parameters().security_level
        pending = now != level
        note = ("takes effect after the module is power-cycled; until then it matches at level "
                f"{now}" if pending else "in effect now")
        return SettingChange("security_level", old, level, pending, note)

    @_locked
    def set_packet_size(self, size: int) -> SettingChange:
        """SetSysPara 6: data packet size 32/64/128/256 bytes.

        Per the manuals it takes effect after the module is power-cycled; the reader keeps
        using the size the module reports until then (call :meth:`connect` after the power
        cycle, or reopen).  Some firmware applies it at once: ``pending`` tells.
        """
        if size not in PACKET_SIZES:
            raise ConfigurationError(f"the packet size is one of {PACKET_SIZES}, not {size!r}")
        old = self._read_parameters().packet_size
        self._set(SysParam.PACKET_SIZE, PACKET_SIZES.index(size))
        now = self._read_parameters().packet_size
        pending = now != size
        note = ("takes effect after the module is power-cycled (then call connect() or reopen "
                f"the reader); until then it uses {now}-byte packets" if pending else "in effect now")
        return SettingChange("packet_size", old, size, pending, note)

    @_locked
    def set_baudrate(self, baudrate: int) -> SettingChange:
        """SetSysPara 4: the UART speed, 9600 x N (N 1..12).

        Per the manuals it takes effect after the module is power-cycled: the module keeps
        answering at the old rate until then, and afterwards must be opened with
        ``baudrate=<new>`` (:meth:`soft_reset` restarts it and follows it to the new rate).  If
        the module switches at once (some firmware), the reader follows it and ``pending`` is
        False.
        """
        if not isinstance(baudrate, int) or baudrate % 9600 or not 1 <= baudrate // 9600 <= 12:
            raise ConfigurationError(f"the baud rate is 9600 x N with N 1..12 (9600 .. 115200), "
                                     f"not {baudrate!r}")
        old = self._baudrate
        self._set(SysParam.BAUD, baudrate // 9600)
        try:
            self._read_parameters(single=True)
        except DeviceTimeoutError:
            # silent at the old rate: the module switched at once; follow it
            self._switch_baud(baudrate)
            self._read_parameters()
            return SettingChange("baudrate", old, baudrate, False,
                                 f"in effect now; the reader switched to {baudrate} baud")
        self._pending_baudrate = baudrate
        return SettingChange("baudrate", old, baudrate, True,
                             f"takes effect after the module is power-cycled; then open it with "
                             f"baudrate={baudrate} (`--baud {baudrate}` with `tactile fingerprint`)")

    def _switch_baud(self, baudrate: int) -> None:
        setter = getattr(self.transport, "set_baudrate", None)
        if setter is not None:
            setter(baudrate)
        self._baudrate = baudrate
        self._conn.baudrate = baudrate
        self._pending_baudrate = None

    @_locked
    def soft_reset(self) -> None:
        """SoftRst (R503/AS608): the module restarts (0x55 when ready); waits until it answers.

        RAM buffers are lost; settings written with SetSysPara since the last power-up apply.
        """
        self._ok(_I.SOFT_RST)
        if self._pending_baudrate is not None:
            # a restart applies a pending baud rate change: follow the module to its new speed
            self._switch_baud(self._pending_baudrate)
        self.connect()

    # ------------------------------------------------------------------ low level
    @_locked
    def execute(self, instruction: Instruction, params: dict[str, Any] | None = None) -> Reply:
        """Send one instruction and return its :class:`protocol.ef01.Reply` (any code).

        For technicians and tests; the methods above are the supported API.  Only
        safe-to-repeat instructions are retried.
        """
        return self._request(instruction, params)

