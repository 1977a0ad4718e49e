"""The ``sim://`` pyserial URL: a serial port whose other end is a simulated device.

``sim://KIND?option=value&...`` creates a model of KIND (``fingerprint``, ``pinpad``) and a
private :class:`~firmware_sim.runner.DeviceRunner` that lives as long as the port is open.
``sim://KIND?name=N`` attaches to a runner registered under N in this process (the pytest
fixtures do that); closing the port then only detaches.  Generic options: ``wire_time=1``,
``seed=N``, ``baud_check=1`` (a port set to another baud rate than the model's receives
garbage); the rest go to the model.  ``port.simulator`` is the runner, for control commands::

    port = serial.serial_for_url("sim://fingerprint?model=r503", timeout=1)
    port.simulator.command("place 3 90")

pyserial imports this module lazily and reports any ImportError only as "protocol not known",
so at import time it needs nothing but pyserial; the simulator machinery (and through it the
device models) is imported when a port opens, where a failure can be reported as it is.
"""

from __future__ import annotations

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

__all__ = ["Serial"]


class Serial(SerialBase):
    """A pyserial port on a simulated device (see the module docstring)."""

    BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)

    def __init__(self, *args, **kwargs) -> None:
        self.simulator = None
        self._link = None
        self._owned = False
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        if self.is_open:
            raise SerialException("Port is already open.")
        try:
            from firmware_sim.attach import attach_loopback
            from protocol.errors import TransportError
        except ImportError as exc:
            raise SerialException(f"could not open port {self._port}: the simulator cannot be "
                                  f"loaded ({exc}); reinstall the package") from exc
        runner, owned = self.from_url(self._port)
        try:
            link = attach_loopback(runner)
        except TransportError as exc:
            if owned:
                runner.stop()
            raise SerialException(f"could not open port {self._port}: {exc}") from exc
        if owned:
            try:
                # attached before power-on: the host sees what the device says at power-up
                runner.start()
            except BaseException:
                link.close()
                runner.stop()
                raise
        self.simulator, self._link, self._owned = runner, link, owned
        link.host_baud = self._baudrate
        self.is_open = True

    def from_url(self, url: str):
        """Parse the URL and return (runner, owned); raises ValueError for a bad URL."""
        from firmware_sim.attach import runner_for_url
        return runner_for_url(url)

    def _reconfigure_port(self) -> None:
        """Only the baud rate matters, and only to a simulator with ``baud_check=1``."""
        if self._link is not None:
            self._link.host_baud = self._baudrate

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            link, runner, owned = self._link, self.simulator, self._owned
            self._link = None
            if link is not None:
                link.close()
            if owned and runner is not None:
                runner.stop()
        super().close()

    def _require_link(self):
        if not self.is_open or self._link is None:
            raise PortNotOpenError()
        return self._link

    @property
    def in_waiting(self) -> int:
        return self._require_link().waiting

    def read(self, size: int = 1) -> bytes:
        link = self._require_link()
        if size <= 0:
            return b""
        try:
            return link.read(size, self._timeout, fill=True)
        except OSError as exc:  # TransportError: the link died (unplug, stop)
            raise SerialException(str(exc)) from exc

    def write(self, data) -> int:
        link = self._require_link()
        data = bytes(data)
        try:
            link.write(data)
        except OSError as exc:  # TransportError: the link died (unplug, stop)
            raise SerialException(str(exc)) from exc
        return len(data)

    def reset_input_buffer(self) -> None:
        self._require_link().reset()

    def reset_output_buffer(self) -> None:
        self._require_link()  # written bytes are handed to the runner at once

    @property
    def out_waiting(self) -> int:
        self._require_link()
        return 0

    def cancel_read(self) -> None:
        if self._link is not None:
            self._link.cancel_read()

    def cancel_write(self) -> None:
        """Writes never block."""

    def _update_break_state(self) -> None:
        self._require_link()

    def _update_rts_state(self) -> None:
        """No modem lines in the simulator."""

    def _update_dtr_state(self) -> None:
        """No modem lines in the simulator."""

    @property
    def cts(self) -> bool:
        self._require_link()
        return True

    @property
    def dsr(self) -> bool:
        self._require_link()
        return True

    @property
    def ri(self) -> bool:
        self._require_link()
        return False

    @property
    def cd(self) -> bool:
        self._require_link()
        return True

