"""Run one device model in one background thread and connect it to a host.

A :class:`DeviceRunner` owns a :class:`~firmware_sim.base.SimulatedDevice`: it feeds the model
the host's bytes, calls :meth:`~firmware_sim.base.SimulatedDevice.tick` when a timer is due,
forwards the model's output to the host link that is attached, models wire time (10 bits per
byte at the device's baud rate) when asked, injects byte faults, and handles the generic control
commands (``power-cycle``, ``unplug``, ``replug``, ``fault ...``).  Everything else a control
line says goes to the model's own :meth:`~firmware_sim.base.SimulatedDevice.command`.

Attach points (one host link at a time): :meth:`DeviceRunner.loopback` (an in-process
:class:`drivers.transport.Transport`), :meth:`DeviceRunner.serve_tcp` (reachable as pyserial
``socket://host:port``), :meth:`DeviceRunner.serve_pty` (a pseudo-terminal, optionally behind a
symlink) and the ``sim://`` pyserial URL (:mod:`firmware_sim.urlhandler.protocol_sim`).

Threading: one runner thread waits in a selector on the TCP/pty sockets and a wake-up socket.
Every call into the model happens with the runner's lock held, so models need no locking.
Events (the model's and the runner's) are delivered to subscribers outside that lock, in order.
"""

from __future__ import annotations

import itertools
import logging
import random
import selectors
import socket
import threading
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

from firmware_sim.base import SimulatedDevice
from protocol.errors import ConfigurationError, TactileError, TransportError

if TYPE_CHECKING:  # pragma: no cover
    from firmware_sim.attach import SimulatorTransport, _Link

__all__ = ["DeviceRunner", "open_runners", "FAULTS"]

_log = logging.getLogger(__name__)

#: the longest the runner thread sleeps without looking at its clock (so that a runner driven by
#: an injected clock still makes progress when nothing wakes it)
_MAX_WAIT = 0.25
#: default gap between bytes under ``fault split``
_SPLIT_GAP = 0.002
#: bits on the wire per byte: start bit, 8 data bits, stop bit (8N1)
_BITS_PER_BYTE = 10
#: baud rate mismatch a UART still receives correctly (about half a bit over a 10-bit frame)
_BAUD_TOLERANCE = 0.03
#: how long stop() waits for the runner thread before reporting it stuck
_JOIN_TIMEOUT = 5.0

#: fault commands and their arguments, for help texts and error messages
FAULTS: dict[str, str] = {
    "garbage": "garbage N: send N random bytes to the host now",
    "drop": "drop N: drop the next N bytes the device sends",
    "corrupt": "corrupt N: flip one bit in each of the next N bytes the device sends",
    "drop-in": "drop-in N: drop the next N bytes the host sends",
    "corrupt-in": "corrupt-in N: flip one bit in each of the next N bytes the host sends",
    "split": "split [MILLISECONDS]: deliver device bytes one at a time with a gap (default 2 ms)",
    "stall": "stall SECONDS: the device says nothing for that long (its output is held back)",
    "duplicate": "duplicate N: send each of the next N frames (device writes) twice",
    "truncate": "truncate N: cut each of the next N frames the device sends to its first half",
    "reset-in": "reset-in: power-cycle the device when the host's next bytes arrive (they are lost)",
    "unplug-in": "unplug-in: unplug the device when the host's next bytes arrive (they are lost)",
    "clear": "clear: end every fault",
}

_GENERIC = ("power-cycle", "unplug", "replug", "fault")

_names = itertools.count(1)
_open: "weakref.WeakSet[DeviceRunner]" = weakref.WeakSet()


def open_runners() -> list["DeviceRunner"]:
    """Runners that hold threads, sockets or ptys (started or serving, and not stopped yet)."""
    return [runner for runner in list(_open) if not runner.stopped]


class DeviceRunner:
    """Runs ``device`` in one background thread; a context manager (``with`` starts and stops).

    ``clock`` is the time source handed to the model (seconds, monotonic).  ``wire_baud`` turns
    on the wire-time model: bytes cross the link no faster than 10 bits per byte at that baud
    rate, in both directions; ``None`` delivers them as fast as possible.  ``name`` identifies the
    runner in messages and in :func:`firmware_sim.registry.register_runner`.  ``rng`` is the
    random source of the byte faults (garbage bytes, flipped bits).  ``follow_device_baud``
    takes the wire-time baud rate from the model's ``baudrate`` attribute at every power-on (a
    module whose baud rate setting applies at the next power cycle changes speed then).
    ``baud_check`` models a mismatched line: where the host's baud rate is known (a pty whose
    host set its speed, a ``sim://`` port, a loopback Transport after ``set_baudrate``) and
    differs from the model's ``baudrate`` by more than a UART tolerates, each side receives
    garbage instead of the other's bytes, as on a real wire.
    """

    def __init__(self, device: SimulatedDevice, *, clock: Callable[[], float] = time.monotonic,
                 wire_baud: int | None = None, name: str | None = None,
                 rng: random.Random | None = None, follow_device_baud: bool = False,
                 baud_check: bool = False) -> None:
        if not isinstance(device, SimulatedDevice):
            raise ConfigurationError(
                f"DeviceRunner needs a SimulatedDevice, not {type(device).__name__}")
        if wire_baud is not None and (not isinstance(wire_baud, int) or wire_baud <= 0):
            raise ConfigurationError(f"wire_baud must be a positive integer, not {wire_baud!r}")
        self.device = device
        self.clock = clock
        self.wire_baud = wire_baud
        self.follow_device_baud = follow_device_baud
        self.baud_check = baud_check
        if baud_check:
            self._device_baud()
        if follow_device_baud:
            self._device_baud()  # fail now, not at power-on, if the model has no baud rate
        self.name = name or f"{device.kind}-{next(_names)}"
        self._rng = rng if rng is not None else random.Random()
        self._byte_time = _BITS_PER_BYTE / wire_baud if wire_baud else 0.0

        self._lock = threading.RLock()          # guards the model and every field below
        self._thread: threading.Thread | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._started = False
        self._stopping = False
        self._stopped = False
        self._plugged = True

        self._link: _Link | None = None         # the host link bytes go to (one at a time)
        self._servers: list[Any] = []           # TCP server / pty attach points (see attach.py)
        self._rx = bytearray()                  # host -> device, not yet delivered
        self._rx_time = 0.0                     # when the last delivered host byte finished
        self._tx = bytearray()                  # device -> host, not yet released
        self._tx_time = 0.0                     # when the last released device byte finished
        self._next_tick: float | None = None

        # byte faults
        self._drop_out = 0
        self._corrupt_out = 0
        self._drop_in = 0
        self._corrupt_in = 0
        self._split_gap: float | None = None
        self._split_next = 0.0
        self._stall_until: float | None = None
        self._dup_out = 0
        self._trunc_out = 0
        self._on_host_bytes: str | None = None   # "reset" | "unplug": fires at the next write

        # events
        self._subscribers: list[Callable[[dict[str, Any]], None]] = []
        self._pending: deque[dict[str, Any]] = deque()
        self._dispatch_lock = threading.Lock()
        self._dispatch_owner: int | None = None
        #: internal errors the model raised while running (also emitted as "error" events)
        self.errors: list[str] = []

        device.bind(self._device_output, self._device_event, clock)

    # ------------------------------------------------------------------ public API
    @property
    def kind(self) -> str:
        return self.device.kind

    @property
    def running(self) -> bool:
        return self._started and not self._stopping

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def plugged(self) -> bool:
        return self._plugged

    def __repr__(self) -> str:
        state = "running" if self.running else ("stopped" if self._stopped else "new")
        return f"<DeviceRunner {self.name} {self.kind} {state}>"

    def __enter__(self) -> "DeviceRunner":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> "DeviceRunner":
        """Power the model on and start the runner thread.  Returns self.

        If the model fails to power on, everything already set up (links, servers, a pty
        link) is released, the runner counts as stopped, and the error is raised.
        """
        with self._lock:
            if self._stopped or self._stopping:
                raise ConfigurationError(f"simulator {self.name} was stopped; create a new runner")
            if self._started:
                raise ConfigurationError(f"simulator {self.name} is already running")
            self._ensure_io()
            self._started = True
            now = self.clock()
            self._rx_time = self._tx_time = now
            try:
                self.device.plugged = True
                self.device.power_on()
                self._powered_on()
                self._retick(now)
            except BaseException:
                self._started = False
                self.stop()  # the lock is re-entrant; there is no thread to join yet
                raise
            self._thread = threading.Thread(target=self._run, name=f"tactile-sim-{self.name}",
                                            daemon=True)
            self._thread.start()
        self._dispatch()
        return self

    def stop(self) -> None:
        """Stop the thread (joined), hang up every link, close servers and flush the model.

        Idempotent.  A failure of the model's ``close()`` (state not saved) is raised after
        everything else has been released.
        """
        with self._lock:
            if self._stopped or self._stopping:
                return
            self._stopping = True
            thread = self._thread
        self._wake()
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_TIMEOUT)
            if thread.is_alive():  # pragma: no cover - only a model stuck in a loop gets here
                _log.error("simulator thread %s did not stop within %.0f s", self.name,
                           _JOIN_TIMEOUT)
        close_error: BaseException | None = None
        with self._lock:
            if self._link is not None:
                self._link.hang_up(f"the simulated {self.kind} ({self.name}) was stopped")
                self._link = None
            for server in self._servers:
                server.close()
            self._servers.clear()
            try:
                if self._started:
                    self.device.close()
            except Exception as exc:  # noqa: BLE001 - reported below, after cleanup
                close_error = exc
            self._release_io()
            self._stopped = True
        from firmware_sim import registry  # here: registry must not be needed to run a model
        registry._forget_runner(self)
        self._dispatch()
        if close_error is not None:
            raise close_error

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Call ``callback(event_dict)`` for every event; returns a function that unsubscribes."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
        return unsubscribe

    def command(self, line: str) -> dict[str, Any]:
        """Run one control command thread-safely; never raises for a bad command.

        Returns the JSON-ready reply: ``{"ok": True, ...}`` or ``{"ok": False, "error": ...}``.
        """
        try:
            words = line.split()
            if not words:
                return {"ok": False, "error": "empty command"}
            head = words[0].lower()
            with self._lock:
                if self._stopped or self._stopping:
                    return {"ok": False, "error": f"the simulator {self.name} is stopped"}
                if head == "power-cycle":
                    reply = self._power_cycle(words)
                elif head == "unplug":
                    reply = self._unplug(words)
                elif head == "replug":
                    reply = self._replug(words)
                elif head == "fault":
                    reply = self._fault(words)
                elif head == "help" and len(words) == 1:
                    reply = self._help()
                else:
                    reply = self._device_command(line.strip())
            self._wake()
            return reply
        except TactileError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a control line must never crash the caller
            _log.exception("simulator %s: command %r failed", self.name, line)
            return {"ok": False, "error": f"internal error in the simulator: "
                                          f"{type(exc).__name__}: {exc}"}
        finally:
            self._dispatch()

    def wake(self) -> None:
        """Make the runner thread look at its clock now (after advancing an injected clock)."""
        self._wake()

    def use_clock(self, clock: Callable[[], float]) -> None:
        """Give the model another time source (for example a clock that runs faster than real
        time; one with a ``speed`` attribute - its seconds per real second - has the runner's
        waits scaled to match).  Only before :meth:`start`: a running model's timers are in
        the old clock."""
        with self._lock:
            if self._started or self._stopped or self._stopping:
                raise ConfigurationError(f"simulator {self.name}: the clock can only be changed "
                                         "before the simulator starts")
            self.clock = clock
            self.device.bind(self._device_output, self._device_event, clock)

    # attach points (implemented in firmware_sim.attach)
    def loopback(self) -> "SimulatorTransport":
        """Attach an in-process host link and return its host end (a Transport)."""
        from firmware_sim.attach import SimulatorTransport, _LoopbackLink
        with self._lock:
            link = _LoopbackLink(self, f"simulated {self.kind} {self.name} (loopback)")
            self._attach(link)
        return SimulatorTransport(link)

    def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen for one TCP client at a time (pyserial ``socket://host:port``).

        ``port`` 0 picks a free port.  Returns the address actually bound.
        """
        from firmware_sim.attach import _TcpServer
        with self._lock:
            self._check_serving()
            if any(isinstance(s, _TcpServer) for s in self._servers):
                raise ConfigurationError(f"simulator {self.name} already serves TCP")
            self._ensure_io()
            server = _TcpServer(self, host, port)
            self._servers.append(server)
            address = server.address
        self._wake()
        return address

    def serve_pty(self, link_path: str | None = None) -> str:
        """Create a pseudo-terminal for the host; returns ``link_path`` if given, else its path.

        The symlink at ``link_path`` is replaced if it is a stale symlink and removed on stop.
        """
        from firmware_sim.attach import _PtyServer
        with self._lock:
            self._check_serving()
            if any(isinstance(s, _PtyServer) for s in self._servers):
                raise ConfigurationError(f"simulator {self.name} already serves a pty")
            if self._link is not None:
                raise TransportError(f"simulator {self.name} already has a host attached "
                                     f"({self._link.description}); close it first")
            self._ensure_io()
            server = _PtyServer(self, link_path)
            self._servers.append(server)
            path = server.path
        self._wake()
        return path

    @property
    def port(self) -> str | None:
        """What a host opens to reach this runner: the pty (link) path or ``socket://h:p``."""
        with self._lock:
            for server in self._servers:
                return server.url
        return None

    # ------------------------------------------------------------------ links (attach.py)
    def _check_serving(self) -> None:
        if self._stopped or self._stopping:
            raise TransportError(f"the simulator {self.name} is stopped")

    def _attach(self, link: "_Link") -> None:
        """Make ``link`` the current host link (called with the lock held)."""
        self._check_serving()
        if not self._plugged:
            raise TransportError(f"the simulated {self.kind} ({self.name}) is unplugged; "
                                 "send `replug` first")
        if self._link is not None:
            raise TransportError(f"the simulated {self.kind} ({self.name}) already has a host "
                                 f"attached ({self._link.description}); close that link first")
        self._link = link

    def _detach(self, link: "_Link") -> None:
        """The host closed ``link`` (any thread)."""
        with self._lock:
            if self._link is link:
                self._link = None

    def _host_bytes(self, link: "_Link", data: bytes) -> None:
        """Bytes the host wrote on ``link`` (any thread)."""
        with self._lock:
            if self._link is not link:
                raise TransportError(f"{link.description} is no longer attached")
            if self._on_host_bytes is not None and data:
                action, self._on_host_bytes = self._on_host_bytes, None
                # the request reaches a device that loses power at that moment: it is lost
                if action == "reset":
                    self._power_cycle(["power-cycle"])
                else:
                    self._unplug(["unplug"])
                self._emit("fault", fault=f"{action}-in", fired=True)
                return
            if self._drop_in:
                cut = min(self._drop_in, len(data))
                self._drop_in -= cut
                data = data[cut:]
            if not data:
                return
            if self._corrupt_in:
                data = self._flip_bits(data, self._corrupt_in)
                self._corrupt_in -= min(self._corrupt_in, len(data))
            data = self._across_line(link, data, towards_host=False)
            if not data:
                return
            if not self._rx:
                self._rx_time = max(self._rx_time, self.clock())
            self._rx += data
        self._wake()

    def _register(self, fileobj: Any, events: int, handler: Callable[[int], None]) -> None:
        assert self._selector is not None
        self._selector.register(fileobj, events, handler)

    def _modify(self, fileobj: Any, events: int, handler: Callable[[int], None]) -> None:
        assert self._selector is not None
        self._selector.modify(fileobj, events, handler)

    def _unregister(self, fileobj: Any) -> None:
        if self._selector is not None:
            try:
                self._selector.unregister(fileobj)
            except (KeyError, ValueError):
                pass

    def _emit(self, event: str, **fields: Any) -> None:
        """A runner event (lock held)."""
        self._pending.append({"event": event, **fields})

    # ------------------------------------------------------------------ model callbacks
    def _device_output(self, data: bytes) -> None:
        """``emit_bytes`` of the model: called from inside a model method, lock held."""
        if not self._plugged or not data:
            return
        data = bytearray(data)
        if self._drop_out:
            cut = min(self._drop_out, len(data))
            self._drop_out -= cut
            del data[:cut]
        if self._corrupt_out and data:
            corrupted = self._flip_bits(bytes(data), self._corrupt_out)
            self._corrupt_out -= min(self._corrupt_out, len(data))
            data = bytearray(corrupted)
        if self._trunc_out and data:
            self._trunc_out -= 1
            del data[max(1, len(data) // 2):]
        if self._dup_out and data:
            self._dup_out -= 1
            data = data + data
        self._queue_out(bytes(data))

    def _flip_bits(self, data: bytes, count: int) -> bytes:
        """Flip one random bit in each of the first ``count`` bytes."""
        out = bytearray(data)
        for i in range(min(count, len(out))):
            out[i] ^= 1 << self._rng.randrange(8)
        return bytes(out)

    def _queue_out(self, data: bytes) -> None:
        if not data or self._link is None:
            return  # no host attached: the bytes go out on a wire nobody listens to
        if not self._tx:
            self._tx_time = max(self._tx_time, self.clock())
        self._tx += data

    def _device_event(self, obj: dict[str, Any]) -> None:
        self._pending.append(dict(obj))

    def _call_model(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Call a model method from the runner thread; a model bug becomes an error event."""
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - the thread must survive a model bug
            message = f"the {self.kind} model failed in {what}: {type(exc).__name__}: {exc}"
            _log.exception("simulator %s: %s", self.name, message)
            self.errors.append(message)
            self._emit("error", source="model", message=message)
            return None

    def _across_line(self, link: "_Link", data: bytes, *, towards_host: bool) -> bytes:
        """What the receiver gets when both ends' baud rates are known and do not match.

        A UART samples each bit at its own rate: beyond a few per cent of mismatch it frames
        the wrong bits, so the receiver sees unrelated bytes, more of them when it runs faster
        than the sender and fewer when slower.  Modelled as random bytes in that proportion.
        """
        if not self.baud_check:
            return data
        host_baud = getattr(link, "host_baud", None)
        device_baud = getattr(self.device, "baudrate", None)
        if not host_baud or not isinstance(device_baud, int) or device_baud <= 0:
            return data
        if abs(host_baud / device_baud - 1) <= _BAUD_TOLERANCE:
            return data
        sender, receiver = (device_baud, host_baud) if towards_host else (host_baud, device_baud)
        count = int(len(data) * receiver / sender + self._rng.random())
        return bytes(self._rng.randrange(256) for _ in range(count))

    def _device_baud(self) -> int:
        baud = getattr(self.device, "baudrate", None)
        if not isinstance(baud, int) or baud <= 0:
            raise ConfigurationError(f"the {self.kind} simulator has no baud rate, so its wire "
                                     "time cannot be modelled")
        return baud

    def _powered_on(self) -> None:
        if self.follow_device_baud:
            self.wire_baud = self._device_baud()
            self._byte_time = _BITS_PER_BYTE / self.wire_baud

    def _retick(self, now: float) -> None:
        due = self.device.tick(now)
        # a model asking to be ticked "now" again would spin the thread: at most every ms
        self._next_tick = None if due is None else max(float(due), now + 0.001)

    # ------------------------------------------------------------------ generic commands
    def _power_cycle(self, words: list[str]) -> dict[str, Any]:
        if len(words) != 1:
            return {"ok": False, "error": "power-cycle takes no argument"}
        if not self._plugged:
            return {"ok": False, "error": "the device is unplugged: send `replug` (which powers "
                                          "it on) instead"}
        self._rx.clear()
        self._tx.clear()
        self._stall_until = None
        self._boot()
        return {"ok": True, "command": "power-cycle"}

    def _boot(self) -> None:
        """The device gets power again (power-cycle, replug): restart the wire clocks, let the
        model boot, and schedule its timers."""
        now = self.clock()
        self._rx_time = self._tx_time = now
        self.device.plugged = True
        self.device.power_on()
        self._powered_on()
        self._retick(now)

    def _unplug(self, words: list[str]) -> dict[str, Any]:
        if len(words) != 1:
            return {"ok": False, "error": "unplug takes no argument"}
        if not self._plugged:
            return {"ok": False, "error": "the device is already unplugged"}
        self._plugged = False
        self.device.plugged = False
        self._rx.clear()
        self._tx.clear()
        if self._link is not None:
            self._link.hang_up(f"the simulated {self.kind} ({self.name}) was unplugged")
            self._link = None
        for server in self._servers:
            server.unplug()
        # the model learns of the power loss now (a pad wipes its RAM and reports mode "off"),
        # not at its next timer, which a quick replug would overtake
        self._call_model("tick", self._retick, self.clock())
        return {"ok": True, "command": "unplug"}

    def _replug(self, words: list[str]) -> dict[str, Any]:
        if len(words) != 1:
            return {"ok": False, "error": "replug takes no argument"}
        if self._plugged:
            return {"ok": False, "error": "the device is not unplugged"}
        self._plugged = True
        self._boot()
        for server in self._servers:
            server.replug()  # after power-on: a pty has no host yet to hear the power-up bytes
        reply: dict[str, Any] = {"ok": True, "command": "replug"}
        port = self.port
        if port is not None:
            reply["port"] = port
        return reply

    def _fault(self, words: list[str]) -> dict[str, Any]:
        usage = "; ".join(f"fault {text}" for text in FAULTS.values())
        if len(words) == 1:
            return {"ok": True, "command": "fault", "active": self._active_faults()}
        name = words[1].lower()
        args = words[2:]
        if name not in FAULTS:
            return {"ok": False, "error": f"unknown fault {words[1]!r}. Byte faults: {usage}. "
                                          "Faults of the device itself: see `help`"}
        if name == "clear":
            if args:
                return {"ok": False, "error": "fault clear takes no argument"}
            self._drop_out = self._corrupt_out = self._drop_in = self._corrupt_in = 0
            self._dup_out = self._trunc_out = 0
            self._on_host_bytes = None
            self._split_gap = None
            self._stall_until = None
            return {"ok": True, "command": "fault", "fault": "clear"}
        if name == "split":
            if len(args) > 1:
                return {"ok": False, "error": f"usage: fault {FAULTS['split']}"}
            gap_ms = _number(args[0], "the split gap in milliseconds", 0.0, 1000.0) \
                if args else _SPLIT_GAP * 1000
            self._split_gap = gap_ms / 1000.0
            return {"ok": True, "command": "fault", "fault": "split", "gap_ms": gap_ms}
        if name in ("reset-in", "unplug-in"):
            if args:
                return {"ok": False, "error": f"usage: fault {FAULTS[name]}"}
            self._on_host_bytes = name[:-3]
            return {"ok": True, "command": "fault", "fault": name}
        if len(args) != 1:
            return {"ok": False, "error": f"usage: fault {FAULTS[name]}"}
        if name == "stall":
            seconds = _number(args[0], "the stall in seconds", 0.0, 3600.0)
            self._stall_until = self.clock() + seconds
            return {"ok": True, "command": "fault", "fault": "stall", "seconds": seconds}
        count = int(_number(args[0], "the byte count", 0, 1_000_000, integer=True))
        if name == "garbage":
            self._queue_out(bytes(self._rng.randrange(256) for _ in range(count)))
        elif name == "drop":
            self._drop_out += count
        elif name == "corrupt":
            self._corrupt_out += count
        elif name == "drop-in":
            self._drop_in += count
        elif name == "corrupt-in":
            self._corrupt_in += count
        elif name == "duplicate":
            self._dup_out += count
        elif name == "truncate":
            self._trunc_out += count
        return {"ok": True, "command": "fault", "fault": name, "count": count}

    def _active_faults(self) -> dict[str, Any]:
        active: dict[str, Any] = {}
        if self._drop_out:
            active["drop"] = self._drop_out
        if self._corrupt_out:
            active["corrupt"] = self._corrupt_out
        if self._drop_in:
            active["drop-in"] = self._drop_in
        if self._corrupt_in:
            active["corrupt-in"] = self._corrupt_in
        if self._dup_out:
            active["duplicate"] = self._dup_out
        if self._trunc_out:
            active["truncate"] = self._trunc_out
        if self._on_host_bytes is not None:
            active[f"{self._on_host_bytes}-in"] = True
        if self._split_gap is not None:
            active["split_ms"] = self._split_gap * 1000
        if self._stall_until is not None:
            left = self._stall_until - self.clock()
            if left > 0:
                active["stall_s"] = round(left, 3)
        return active

    def _help(self) -> dict[str, Any]:
        """The model's help (if it has one) plus the runner's own commands."""
        try:
            reply = dict(self._device_command("help"))
        except TactileError:
            reply = {"ok": True, "command": "help"}
        reply["runner_commands"] = ["power-cycle", "unplug", "replug",
                                    "fault: list active faults"] + [
            f"fault {text}" for text in FAULTS.values()]
        return reply

    def _device_command(self, line: str) -> dict[str, Any]:
        reply = self.device.command(line)
        if not isinstance(reply, dict):
            raise TypeError(f"the {self.kind} model answered {line!r} with "
                            f"{type(reply).__name__}, not a dict")
        self._retick(self.clock())
        return reply

    # ------------------------------------------------------------------ the thread
    def _ensure_io(self) -> None:
        if self._selector is not None:
            return
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, self._drain_wake)
        _open.add(self)

    def _release_io(self) -> None:
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        for sock in (self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        self._wake_r = self._wake_w = None
        _open.discard(self)

    def _wake(self) -> None:
        sock = self._wake_w
        if sock is None:
            return
        try:
            sock.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # already awake (buffer full) or closing

    def _drain_wake(self, mask: int) -> None:
        assert self._wake_r is not None
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _run(self) -> None:
        selector = self._selector
        assert selector is not None
        while True:
            with self._lock:
                if self._stopping:
                    break
                now = self.clock()
                self._service(now)
                timeout = self._timeout(self.clock())
            self._dispatch()
            try:
                ready = selector.select(timeout)
            except (OSError, ValueError):  # selector closed under us: stopping
                if self._stopping:
                    break
                raise
            with self._lock:
                for key, mask in ready:
                    try:
                        key.data(mask)
                    except Exception as exc:  # noqa: BLE001 - one bad link must not kill the thread
                        message = f"link error: {type(exc).__name__}: {exc}"
                        _log.exception("simulator %s: %s", self.name, message)
                        self.errors.append(message)
                        self._emit("error", source="runner", message=message)
            self._dispatch()

    def _service(self, now: float) -> None:
        """Deliver due host bytes, run due timers, release due device bytes (lock held)."""
        if self._rx:
            if self._byte_time:
                count = min(len(self._rx), int((now - self._rx_time) / self._byte_time + 1e-9))
                self._rx_time += count * self._byte_time
            else:
                count = len(self._rx)
            if count > 0:
                chunk = bytes(self._rx[:count])
                del self._rx[:count]
                self._call_model("receive", self.device.receive, chunk)
                self._call_model("tick", self._retick, now)
        if self._next_tick is not None and now >= self._next_tick:
            self._next_tick = None
            self._call_model("tick", self._retick, now)
        self._release(now)

    def _release(self, now: float) -> None:
        if not self._tx:
            return
        if self._stall_until is not None:
            if now < self._stall_until:
                return
            self._stall_until = None
            self._tx_time = max(self._tx_time, now)
        count = len(self._tx)
        if self._byte_time:
            count = min(count, int((now - self._tx_time) / self._byte_time + 1e-9))
        if self._split_gap is not None:
            if now < self._split_next:
                return
            count = min(count, 1)
        if count <= 0:
            return
        data = bytes(self._tx[:count])
        del self._tx[:count]
        if self._byte_time:
            self._tx_time += count * self._byte_time
        if self._split_gap is not None:
            self._split_next = now + self._split_gap
            self._tx_time = max(self._tx_time, now)
        if self._link is not None:
            data = self._across_line(self._link, data, towards_host=True)
            if data:
                self._link.deliver(data)
        # no link: the bytes went out on a wire nobody listens to

    def _timeout(self, now: float) -> float:
        due: list[float] = []
        if self._next_tick is not None:
            due.append(self._next_tick)
        if self._rx:
            due.append(self._rx_time + self._byte_time if self._byte_time else now)
        if self._tx:
            when = now
            if self._stall_until is not None:
                when = max(when, self._stall_until)
            if self._byte_time:
                when = max(when, self._tx_time + self._byte_time)
            if self._split_gap is not None:
                when = max(when, self._split_next)
            due.append(when)
        # a clock that runs faster than real time says so (FastClock.speed): its seconds are
        # shorter, and the selector waits in real seconds
        speed = getattr(self.clock, "speed", 1.0)
        if not due:
            return _MAX_WAIT
        return min(_MAX_WAIT, max(0.0, min(due) - now) / speed)

    def _dispatch(self) -> None:
        """Deliver pending events to subscribers, in order, outside the model lock."""
        me = threading.get_ident()
        if self._dispatch_owner == me:
            return  # a subscriber called back into the runner: the outer loop delivers
        with self._dispatch_lock:
            self._dispatch_owner = me
            try:
                while self._pending:
                    event = self._pending.popleft()
                    with self._lock:
                        subscribers = list(self._subscribers)
                    for callback in subscribers:
                        try:
                            callback(event)
                        except Exception:  # noqa: BLE001 - a bad subscriber must not stop others
                            _log.exception("simulator %s: event subscriber %r failed",
                                           self.name, callback)
            finally:
                self._dispatch_owner = None


def _number(text: str, what: str, low: float, high: float, *, integer: bool = False) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ConfigurationError(f"{what} must be a {'whole ' if integer else ''}number, "
                                 f"not {text!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{what} must be between {low:g} and {high:g}, not {text}")
    return value
