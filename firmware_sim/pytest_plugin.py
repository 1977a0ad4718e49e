"""pytest plugin (entry point ``tactile_sim``): simulated devices for downstream CI.

Installed with the package, it gives every test suite these fixtures::

    def test_counter_flow(simulated_pinpad, simulated_fingerprint):
        pad = TactilePinPad.open(simulated_pinpad.url)          # sim://pinpad?name=...
        simulated_pinpad.script("press 1", "press 2", "press 3", "press 4", "press enter")
        simulated_fingerprint.place(finger=3, quality=90)
        reader = FingerprintReader.open(simulated_fingerprint.url)
        ...

* ``simulated_fingerprint`` / ``simulated_pinpad`` - a running simulator each; options from a
  marker of the same name: ``@pytest.mark.simulated_fingerprint(model="r503")``,
  ``@pytest.mark.simulated_pinpad(layout="calculator")``;
* ``simulator_factory(kind, **options)`` - as many simulators as a test needs.

Every option of the ``sim://`` URL works in the markers and the factory, plus
``fast_clock=N``: simulated time runs N times faster than real time, so a test of a time-out
does not wait for it.  For the pad, its own time (entry time limits, warnings, speech, the
scripted customer) runs fast while its link timing (ACKs, retransmissions) stays real: the
driver needs nothing (a 10 s entry limit times out after 1 s with ``fast_clock=10``).  For the
fingerprint module the time-outs are the HOST's (waiting for a finger), so hand the
simulator's clock to the reader: ``FingerprintReader.open(sim.url, clock=sim.clock,
sleep=sim.sleep)``; its reply deadlines shrink by the same factor, so keep N modest (<= 20).

Scripted lines are checked at once: ``simulated_pinpad.script("pres 1")`` raises
:class:`SimulatorCommandError`.  ``simulated_fingerprint.script("place 3 90", "lift")`` is a
scripted finger that acts on cue: a ``place`` line plays when the module next looks for a
finger and finds none, a ``lift`` line when it has just taken an image (what a person at the
sensor does when the reader's coaching says so); ``follow(finger, quality, times)`` scripts
``times`` place/lift rounds.

Each yields a :class:`Simulator`: ``.url`` (a ``sim://KIND?name=...`` URL any driver opens),
``.transport()`` (an in-process Transport), ``.command(line) -> dict``, ``.events`` (every
event so far), ``.wait_for(event_name)``.  State files go to the test's ``tmp_path``; every
simulator is stopped at teardown.  Imports stay light: pytest loads this in every session.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pytest

from protocol.errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from drivers.transport import Transport
    from firmware_sim.runner import DeviceRunner

__all__ = ["Simulator", "SimulatedFingerprint", "SimulatedPinPad", "SimulatorCommandError",
           "ATTACH_POINTS", "FastClock"]

#: what :meth:`Simulator.open_transport` can go through (for contract suites over all of them)
ATTACH_POINTS = ("loopback", "sim", "tcp", "pty")

_names = itertools.count(1)


class SimulatorCommandError(ConfigurationError):
    """A convenience method's control command was refused (the reply's error is the message)."""


class FastClock:
    """A monotonic clock running ``speed`` times faster than :func:`time.monotonic`, with the
    matching :meth:`sleep` (thread-safe: it only reads the real clock)."""

    def __init__(self, speed: float) -> None:
        if not 1 <= speed <= 1000:
            raise ConfigurationError(f"fast_clock must be 1..1000 (times real time), not {speed}")
        self.speed = float(speed)
        self._origin = time.monotonic()

    def __call__(self) -> float:
        return self._origin + (time.monotonic() - self._origin) * self.speed

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) / self.speed)

    def __repr__(self) -> str:
        return f"FastClock(x{self.speed:g})"


class Simulator:
    """A running simulator in a test: its URL, a transport, control commands and events.

    ``clock`` / ``sleep``: the simulator's time (``time.monotonic`` / ``time.sleep`` unless
    the fingerprint simulator was made with ``fast_clock``); ``speed``: how many times faster
    than real time its time runs.
    """

    def __init__(self, runner: "DeviceRunner", name: str, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, speed: float = 1.0) -> None:
        self.runner = runner
        self.name = name
        self.kind = runner.kind
        self.clock = clock
        self.sleep = sleep
        self.speed = speed
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._transports: list["Transport"] = []
        self._tcp_url: str | None = None
        self._pty_path: str | None = None
        runner.subscribe(self._on_event)

    def _on_event(self, event: dict[str, Any]) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    @property
    def url(self) -> str:
        """``sim://KIND?name=NAME``: open it with any driver or ``serial.serial_for_url``."""
        return f"sim://{self.kind}?name={self.name}"

    @property
    def device(self) -> Any:
        """The model object itself (for assertions on its state)."""
        return self.runner.device

    def transport(self) -> "Transport":
        """An in-process host link (closed at teardown if the test does not close it)."""
        return self.open_transport("loopback")

    def open_transport(self, via: str = "loopback", *, baudrate: int | None = None) -> "Transport":
        """A host Transport through one attach point: ``loopback``, ``sim`` (the sim:// URL),
        ``tcp`` (pyserial socket://) or ``pty`` (a serial port path).  Closed at teardown.

        One host link at a time: close one before opening the next (a pty, once made, stays
        the simulator's link until teardown).  ``baudrate`` defaults to the model's.
        """
        from drivers.transport import SerialTransport

        baud = baudrate or getattr(self.device, "baudrate", None) or 57600
        if via == "loopback":
            link: "Transport" = self.runner.loopback()
        elif via == "sim":
            link = SerialTransport(self.url, baud)
        elif via == "tcp":
            if self._tcp_url is None:
                host, port = self.runner.serve_tcp("127.0.0.1", 0)
                self._tcp_url = f"socket://{host}:{port}"
            mark = len(self.events)
            link = SerialTransport(self._tcp_url, baud)
            # bytes the device sends before the simulator accepts the connection reach nobody
            self.wait_for(lambda e: e.get("event") == "connected", after=mark)
        elif via == "pty":
            if self._pty_path is None:
                self._pty_path = self.runner.serve_pty()
            link = SerialTransport(self._pty_path, baud)
        else:
            raise ConfigurationError(f"unknown attach point {via!r}; use one of "
                                     f"{', '.join(ATTACH_POINTS)}")
        self._transports.append(link)
        return link

    def command(self, line: str) -> dict[str, Any]:
        """Send one control command; returns the reply (``{"ok": False, "error": ...}`` too)."""
        return self.runner.command(line)

    def do(self, line: str) -> dict[str, Any]:
        """Send one control command; raise :class:`SimulatorCommandError` if it is refused."""
        reply = self.runner.command(line)
        if not reply.get("ok"):
            raise SimulatorCommandError(f"{self.kind} simulator refused {self._shown(line)!r}: "
                                        f"{reply.get('error', reply)}")
        return reply

    def _shown(self, line: str) -> str:
        return line

    def wait_for(self, event: str | Callable[[dict[str, Any]], bool], timeout: float = 5.0,
                 *, after: int = 0) -> dict[str, Any]:
        """The first event (from index ``after``) named ``event`` or matching the predicate.

        Raises :class:`TimeoutError` with the events seen if none comes within ``timeout`` s.
        """
        match = event if callable(event) else (lambda e: e.get("event") == event)
        deadline = time.monotonic() + timeout
        with self._cond:
            index = after
            while True:
                while index < len(self.events):
                    if match(self.events[index]):
                        return self.events[index]
                    index += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no {event!r} event from the {self.kind} simulator within "
                                       f"{timeout} s; events so far: {self.events[-10:]}")
                self._cond.wait(remaining)

    # lifecycle
    def power_cycle(self) -> dict[str, Any]:
        return self.do("power-cycle")

    def unplug(self) -> dict[str, Any]:
        return self.do("unplug")

    def replug(self) -> dict[str, Any]:
        return self.do("replug")

    def fault(self, spec: str) -> dict[str, Any]:
        """A byte fault, e.g. ``fault("drop 3")``, ``fault("split")``, ``fault("clear")``."""
        return self.do(f"fault {spec}")

    def _close(self) -> None:
        for link in self._transports:
            link.close()
        self.runner.stop()


class SimulatedFingerprint(Simulator):
    """A simulated EF01 fingerprint module."""

    #: instructions that look for a finger on the sensor (the cues of a scripted finger)
    _CAPTURES = ("GEN_IMG", "GET_IMAGE_EX")
    _NO_FINGER = 0x02

    def __init__(self, runner: "DeviceRunner", name: str, **kwargs: Any) -> None:
        super().__init__(runner, name, **kwargs)
        self._finger_script: list[str] = []
        self._script_lock = threading.Lock()

    def script(self, *lines: str) -> dict[str, Any]:
        """A scripted finger acting on cue (see the module docstring): ``place FINGER
        [QUALITY]`` plays when the module next finds no finger, ``lift`` when it has just
        taken an image.  Lines are checked now; returns ``{"ok": True, "queued": N}``."""
        if not lines:
            raise SimulatorCommandError("script() needs at least one line, e.g. 'place 3 90'")
        checked = [_finger_line(line) for line in lines]
        with self._script_lock:
            self._finger_script.extend(checked)
            queued = len(self._finger_script)
        # the cues come from the module's decoded replies (its trace events)
        with self.runner._lock:
            self.device.trace = True
        return {"ok": True, "command": "script", "queued": queued}

    def follow(self, finger: int, quality: int = 90, times: int = 1) -> dict[str, Any]:
        """A customer who places ``finger`` when asked and lifts it after each image,
        ``times`` times (enrolment takes 2 by default, a verification 1 per attempt)."""
        return self.script(*[line for _ in range(int(times))
                             for line in (f"place {int(finger)} {int(quality)}", "lift")])

    @property
    def script_left(self) -> int:
        """Scripted finger lines not played yet."""
        with self._script_lock:
            return len(self._finger_script)

    def _on_event(self, event: dict[str, Any]) -> None:
        super()._on_event(event)
        if (event.get("event") != "trace" or event.get("dir") != "device->host"
                or event.get("packet") != "ack" or event.get("instruction") not in self._CAPTURES):
            return
        with self._script_lock:
            if not self._finger_script:
                return
            line = self._finger_script[0]
            wanted = "place" if event.get("code") == self._NO_FINGER else (
                "lift" if event.get("code") == 0 else None)
            if wanted is None or not line.startswith(wanted):
                return
            self._finger_script.pop(0)
        reply = self.runner.command(line)   # before the host's next capture is handled
        super()._on_event({"event": "script", "line": line, "ok": bool(reply.get("ok"))})

    def place(self, finger: int, quality: int = 90) -> dict[str, Any]:
        """A virtual finger rests on the sensor (finger id, quality 0..100)."""
        return self.do(f"place {int(finger)} {int(quality)}")

    def lift(self) -> dict[str, Any]:
        """The finger leaves the sensor."""
        return self.do("lift")


class SimulatedPinPad(Simulator):
    """A simulated tactile PIN pad."""

    def _shown(self, line: str) -> str:
        # a refused line may hold digits someone meant to key in: never echo them
        return "".join("*" if c.isdigit() else c for c in line)

    def press(self, key: str | int) -> dict[str, Any]:
        """Press one key now (a digit or an XFS key name such as ``enter``)."""
        return self.do(f"press {key}")

    def script(self, *lines: str) -> dict[str, Any]:
        """Queue commands the pad plays when it next enters an entry mode."""
        if not lines:
            raise SimulatorCommandError("script() needs at least one command, e.g. 'press 1'")
        for line in lines:
            if ";" in line or "\n" in line:
                raise SimulatorCommandError(f"one command per argument, not {line!r}")
        return self.do("script " + "; ".join(lines))

    def headset(self, inserted: bool = True) -> dict[str, Any]:
        return self.do("headset in" if inserted else "headset out")


def _finger_line(line: str) -> str:
    words = line.split()
    if words and words[0].lower() == "lift" and len(words) == 1:
        return "lift"
    if words and words[0].lower() == "place" and len(words) in (2, 3):
        try:
            finger = int(words[1])
            quality = int(words[2]) if len(words) == 3 else 90
        except ValueError:
            finger, quality = -1, -1
        if finger >= 0 and 0 <= quality <= 100:
            return f"place {finger} {quality}"
    raise SimulatorCommandError(f"bad scripted finger line {line!r}: use 'place FINGER "
                                "[QUALITY]' (finger id >= 0, quality 0..100) or 'lift'")


_CLASSES: dict[str, type[Simulator]] = {
    "fingerprint": SimulatedFingerprint,
    "pinpad": SimulatedPinPad,
}


class _Factory:
    """``simulator_factory(kind, **options)``: start a simulator; all are stopped at teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp = tmp_path
        self._made: list[Simulator] = []

    def __call__(self, kind: str, **options: Any) -> Simulator:
        from firmware_sim import registry
        from firmware_sim.attach import create_runner

        name = f"pytest-{kind}-{next(_names)}"
        options = dict(options)
        speed = options.pop("fast_clock", None)
        clock: FastClock | None = None
        if speed is not None:
            try:
                clock = FastClock(float(speed))
            except (TypeError, ValueError):
                raise ConfigurationError(f"fast_clock must be a number, not {speed!r}") from None
            if kind == "pinpad":
                # the pad's own time runs fast; its link timing stays real (see module doc)
                options["time_scale"] = clock.speed
                clock = None
        opts = {key: _option_text(value) for key, value in options.items() if value is not None}
        if "state" not in options:
            opts["state"] = str(self._tmp / f"{name}.json")
        runner = create_runner(kind, opts, name=name)
        extra: dict[str, Any] = {}
        if clock is not None:
            runner.use_clock(clock)
            extra = {"clock": clock, "sleep": clock.sleep, "speed": clock.speed}
        elif speed is not None:
            extra = {"speed": float(speed)}
        registry.register_runner(name, runner)
        simulator = _CLASSES.get(kind, Simulator)(runner, name, **extra)
        try:
            runner.start()
        except BaseException:
            runner.stop()
            raise
        self._made.append(simulator)
        return simulator

    def close(self) -> None:
        errors = []
        for simulator in reversed(self._made):
            try:
                simulator._close()
            except Exception as exc:  # noqa: BLE001 - stop the others, then report
                errors.append(f"{simulator!r}: {exc}")
        self._made.clear()
        if errors:
            raise ConfigurationError("stopping simulators failed: " + "; ".join(errors))


def _option_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _marker_options(request: pytest.FixtureRequest, fixture: str) -> dict[str, Any]:
    marker = request.node.get_closest_marker(fixture)
    if marker is None:
        return {}
    if marker.args:
        raise ConfigurationError(f"@pytest.mark.{fixture} takes options by name only, "
                                 f"e.g. @pytest.mark.{fixture}(seed=1)")
    return dict(marker.kwargs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "simulated_fingerprint(**options): options of the simulated_fingerprint "
                   "fixture, e.g. model='r503'")
    config.addinivalue_line(
        "markers", "simulated_pinpad(**options): options of the simulated_pinpad fixture, "
                   "e.g. layout='calculator'")


@pytest.fixture
def simulator_factory(tmp_path: Path) -> Iterator[_Factory]:
    """Start simulators: ``simulator_factory("pinpad", layout="pos")``; stopped at teardown."""
    factory = _Factory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def simulated_fingerprint(simulator_factory: _Factory,
                          request: pytest.FixtureRequest) -> SimulatedFingerprint:
    """A running simulated EF01 fingerprint module (options: ``@pytest.mark.simulated_fingerprint(
    model="r503")``)."""
    options = _marker_options(request, "simulated_fingerprint")
    simulator = simulator_factory("fingerprint", **options)
    assert isinstance(simulator, SimulatedFingerprint)
    return simulator


@pytest.fixture
def simulated_pinpad(simulator_factory: _Factory,
                     request: pytest.FixtureRequest) -> SimulatedPinPad:
    """A running simulated tactile PIN pad (options: ``@pytest.mark.simulated_pinpad(
    layout="pos")``)."""
    simulator = simulator_factory("pinpad", **_marker_options(request, "simulated_pinpad"))
    assert isinstance(simulator, SimulatedPinPad)
    return simulator
