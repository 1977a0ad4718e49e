"""``--trace`` for the driver commands: every frame on the host's line, decoded, to stderr.

:class:`TracingTransport` wraps the driver's transport (serial or USB); what the driver writes
is decoded as host->device, what it reads as device->host, with the decoder and masking of
:mod:`tools._frames` (no PIN field is ever printed in clear).  One line per frame.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from drivers.transport import Transport
from tools._frames import DEVICE_TO_HOST, HOST_TO_DEVICE, DecodeContext, StreamDecoder, \
    format_frame

__all__ = ["TracingTransport"]


class TracingTransport(Transport):
    """A transport that prints each frame crossing it (attribute access goes to ``inner``)."""

    def __init__(self, inner: Transport, *, out: TextIO | None = None) -> None:
        self.inner = inner
        self.description = inner.description
        self._out = out
        self._lock = threading.Lock()
        self._start = time.monotonic()
        context = DecodeContext()
        self._decoders = {HOST_TO_DEVICE: StreamDecoder(HOST_TO_DEVICE, context),
                          DEVICE_TO_HOST: StreamDecoder(DEVICE_TO_HOST, context)}

    def __getattr__(self, name: str) -> Any:   # baudrate, set_baudrate, url, serial ...
        return getattr(self.inner, name)

    def _show(self, direction: str, data: bytes) -> None:
        with self._lock:
            stream = self._out if self._out is not None else sys.stderr
            for frame in self._decoders[direction].feed(data, time.monotonic() - self._start):
                try:
                    stream.write("trace " + format_frame(frame) + "\n")
                    stream.flush()
                except (OSError, ValueError):
                    pass

    def write(self, data: bytes) -> None:
        self.inner.write(data)
        self._show(HOST_TO_DEVICE, bytes(data))

    def read(self, max_bytes: int, timeout: float) -> bytes:
        data = self.inner.read(max_bytes, timeout)
        if data:
            self._show(DEVICE_TO_HOST, data)
        return data

    def reset_input(self) -> None:
        self.inner.reset_input()

    @property
    def closed(self) -> bool:
        return self.inner.closed

    def close(self) -> None:
        self.inner.close()
