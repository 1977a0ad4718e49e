"""The pad's link: one reader thread around a sans-I/O :class:`protocol.tpp.TppConnection`.

Threading model (why it is shaped like this):

* ONE reader thread per open pad reads the transport with a short deadline, feeds the
  connection, writes the ACKs it asks for at once (the pad retransmits an event it does not see
  acknowledged within ~200 ms, so ACKs must not wait for the application), runs the
  retransmission timers at the deadlines the connection reports, and hands every decoded
  message to the pad under the link lock.  It never blocks on the application: events go into
  queues.
* Callers send requests from their own thread; requests are serialised (one in flight, TPP is
  stop-and-wait anyway), and the caller waits on a per-call condition with a deadline.
* The reader thread never dies silently: any exception it meets (the link went away, or an
  internal error) is stored as the link's ``failure``, every waiting call and the active
  session are woken with it, and every later call raises it (a typed :class:`TactileError`).
* All connection state is touched only with ``_lock`` held; writes happen under the same lock
  so bytes leave in the order the connection produced them.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from drivers.transport import Transport
from protocol.errors import (
    DeviceTimeoutError,
    LocalProtocolError,
    RemoteProtocolError,
    TactileError,
    TransportError,
)
from protocol.tpp import (
    NEED_DATA,
    DeliveryFailed,
    LateResponse,
    RequestTimedOut,
    Resynchronised,
    Role,
    TppConnection,
    UnexpectedResponse,
    describe,
)
from protocol.tpp import messages as m

__all__ = ["DeviceDisconnectedError"]

_log = logging.getLogger("drivers.pinpad")

#: longest the reader sleeps in one transport read (bounds close() and timer latency)
_POLL = 0.05
_READ_CHUNK = 4096


def _loggable(request: m.Request) -> dict:
    """describe() with the PAN masked (PCI DSS: at most the first 6 and last 4 digits)."""
    out = describe(request)
    pan = out.get("customer_data")
    if isinstance(pan, str) and pan:
        out["customer_data"] = pan[:6] + "*" * max(0, len(pan) - 10) + pan[-4:] \
            if len(pan) > 10 else "*" * len(pan)
    return out


class DeviceDisconnectedError(TransportError):
    """The link to the pad went away (cable pulled, pad powered off, port closed).

    Every call raises it until :meth:`TactilePinPad.reconnect` re-opens the link."""


class _Call:
    __slots__ = ("request", "done", "response", "error")

    def __init__(self, request: m.Request) -> None:
        self.request = request
        self.done = threading.Event()
        self.response: m.Response | None = None
        self.error: BaseException | None = None


class _Link:
    """Reader thread + connection for one open transport (see the module docstring).

    ``on_event(message)`` is called from the reader thread, with the link lock held, for every
    pad event (it must not block); ``on_failure(exc)`` once when the link fails.
    """

    def __init__(self, transport: Transport, *, baudrate: int | None, response_timeout: float,
                 clock: Callable[[], float], on_event: Callable[[m.Event], None],
                 on_failure: Callable[[TactileError], None],
                 timeout_text: Callable[[str, float], str],
                 name: str = "tactile-pinpad-reader") -> None:
        self.transport = transport
        self.clock = clock
        self.conn = TppConnection(Role.HOST, baudrate=baudrate, response_timeout=response_timeout)
        self._on_event = on_event
        self._on_failure = on_failure
        self._timeout_text = timeout_text
        self._lock = threading.RLock()
        self._call_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._call: _Call | None = None
        self._stop = threading.Event()
        self.failure: TactileError | None = None
        #: counters for diagnostics (bytes skipped, protocol errors seen)
        self.protocol_errors = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the reader thread (does not close the transport)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and self.failure is None

    # ------------------------------------------------------------------ requests
    def request(self, request: m.Request, timeout: float) -> m.Response:
        """Send ``request``; return its response (Done, Refused or a body) or raise."""
        with self._call_lock:
            self._raise_failure()
            call = _Call(request)
            try:
                with self._lock:
                    self._call = call
                    out = self.conn.send(request)
                if _log.isEnabledFor(logging.DEBUG):
                    _log.debug("host->pad %s", _loggable(request))
                self._write(out)
            except TactileError as exc:
                with self._lock:
                    if self._call is call:
                        self._call = None
                if isinstance(exc, TransportError):
                    self._fail(self._gone(exc))
                    self._raise_failure()
                raise
            # the connection gives up on its own (RequestTimedOut) at response_timeout; our
            # deadline is a backstop a little later in case the reader thread stalls
            if not call.done.wait(timeout + 1.0):
                with self._lock:
                    if self._call is call:
                        self._call = None
                self._raise_failure()
                raise DeviceTimeoutError(self._timeout_text(type(request).__name__, timeout))
            if call.error is not None:
                raise call.error
            assert call.response is not None
            return call.response

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    # ------------------------------------------------------------------ reader thread
    def _write(self, data: bytes | None) -> None:
        # the write lock, not the connection lock: a serial write flushes (tcdrain) and may
        # wait for the peer, and nobody should wait for that to touch the connection.  Order
        # between an ACK and a data frame does not matter; data frames cannot overtake each
        # other (stop-and-wait: the connection releases the next one only after an ACK).
        if data:
            with self._write_lock:
                self.transport.write(data)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                with self._lock:
                    deadline = self.conn.next_deadline(self.clock())
                wait = _POLL if deadline is None else min(_POLL, max(0.0, deadline - self.clock()))
                data = self.transport.read(_READ_CHUNK, wait)
                if self._stop.is_set():
                    break
                with self._lock:
                    out = bytearray()
                    if data:
                        self.conn.receive_data(data)
                        # events are handed over before the ACKs are written (the pad's ACK
                        # timeout, 200 ms, is far longer than handing them over takes)
                        out += self.conn.data_to_send()
                        self._drain()
                    out += self.conn.retransmit_due(self.clock()) or b""
                    self._drain()
                    out += self.conn.data_to_send()
                self._write(bytes(out))
        except TransportError as exc:
            if not self._stop.is_set():
                self._fail(self._gone(exc))
        except TactileError as exc:
            self._fail(exc)
        except Exception as exc:  # noqa: BLE001 - never die silently: hand it to the caller
            _log.exception("PIN pad reader thread failed")
            err = LocalProtocolError(f"internal error in the PIN pad reader thread: "
                                     f"{type(exc).__name__}: {exc}")
            err.__cause__ = exc
            self._fail(err)

    def _gone(self, exc: BaseException) -> DeviceDisconnectedError:
        err = DeviceDisconnectedError(
            f"the PIN pad link {self.transport.description} went away ({exc}). Check the cable "
            "and the pad's power; once it is back, reconnect (TactilePinPad.reconnect(), or run the command again).")
        err.__cause__ = exc
        return err

    def _drain(self) -> None:
        while True:
            try:
                ev = self.conn.next_event()
            except UnexpectedResponse as exc:
                # a stale frame from an earlier session (a retransmission still on the line
                # after a reconnect, a reply held up by a stalled link) or another program on
                # the port: it answers nothing, so it must not end a running session either
                self.protocol_errors += 1
                _log.warning("PIN pad %s: %s (dropped: a stale reply from an earlier session, "
                             "or another program using the port)", self.transport.description,
                             exc)
                continue
            except RemoteProtocolError as exc:
                # the connection stays usable; the frame is dropped.  A pad breaking the state
                # table (e.g. naming a digit key during PIN entry) is reported to the session.
                self.protocol_errors += 1
                _log.warning("PIN pad protocol error on %s: %s", self.transport.description, exc)
                self._deliver_error(exc)
                continue
            if ev is NEED_DATA:
                return
            debug = _log.isEnabledFor(logging.DEBUG)
            if isinstance(ev, m.Response):
                if debug:
                    _log.debug("pad->host %s", describe(ev))
                call = self._call
                if call is not None:
                    self._call = None
                    call.response = ev
                    call.done.set()
                else:
                    _log.debug("response with no caller waiting (dropped): %s", type(ev).__name__)
            elif isinstance(ev, m.Event):
                if debug:
                    _log.debug("pad->host %s", describe(ev))
                self._on_event(ev)
            elif isinstance(ev, (RequestTimedOut, DeliveryFailed)):
                request = ev.request if isinstance(ev, RequestTimedOut) else ev.message
                call = self._call
                if call is not None and call.request is request:
                    self._call = None
                    what = "no response" if isinstance(ev, RequestTimedOut) else \
                        f"no acknowledgement after {ev.attempts} transmissions"
                    call.error = DeviceTimeoutError(self._timeout_text(
                        f"{type(request).__name__} ({what})", self.conn.response_timeout))
                    call.done.set()
            elif isinstance(ev, Resynchronised):
                _log.debug("skipped %d bytes of line noise on %s", ev.skipped,
                           self.transport.description)
            elif isinstance(ev, LateResponse):
                _log.debug("late response to seq %d dropped", ev.request_seq)

    def _deliver_error(self, exc: RemoteProtocolError) -> None:
        call = self._call
        # a garbled response to our request: fail that call rather than wait for a timeout
        answer_type = type(call.request).TYPE | 0x40 if call is not None else None
        if call is not None and getattr(exc, "message_type", None) == answer_type:
            self._call = None
            call.error = exc
            call.done.set()
            return
        self._on_event(exc)  # type: ignore[arg-type] - the pad routes errors to the session

    def _fail(self, exc: TactileError) -> None:
        with self._lock:
            if self.failure is not None:
                return
            self.failure = exc
            call, self._call = self._call, None
        if call is not None:
            call.error = exc
            call.done.set()
        self._on_failure(exc)
