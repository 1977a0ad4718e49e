"""``tactile list``: the serial ports and USB devices a technician can open.

Serial ports come from ``serial.tools.list_ports`` (a pty from ``tactile sim`` is not listed:
that command prints its path).  USB devices come from :func:`drivers.usb.find_devices`; when
no USB backend is usable the reason is shown, not hidden.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from serial.tools import list_ports

from protocol.errors import TactileError
from tools.args import add_json_flag, print_json

__all__ = ["register", "run", "serial_ports", "usb_devices"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list", help="list serial ports and USB devices",
        description="List the serial ports (device, description, VID:PID, serial number) and "
                    "the USB devices this machine sees.")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def serial_ports() -> list[dict[str, Any]]:
    """Every serial port pyserial finds, as JSON-ready dicts."""
    ports = []
    for info in sorted(list_ports.comports(), key=lambda p: p.device):
        ports.append({
            "device": info.device,
            "description": info.description if info.description != "n/a" else None,
            "vid_pid": f"{info.vid:04X}:{info.pid:04X}" if info.vid is not None
            and info.pid is not None else None,
            "serial": info.serial_number,
            "manufacturer": info.manufacturer,
            "hwid": info.hwid if info.hwid != "n/a" else None,
        })
    return ports


def usb_devices(find: Callable[[], list[Any]] | None = None) -> tuple[list[dict[str, Any]],
                                                                     str | None]:
    """(USB devices, None) or ([], why USB cannot be listed).  ``find`` is injectable."""
    if find is None:
        try:
            from drivers import usb as usb_driver
        except ImportError as exc:
            return [], f"USB support is not available: {exc}"
        find = getattr(usb_driver, "find_devices", None)
        if find is None:
            return [], "USB support is not available: drivers.usb has no find_devices()"
    try:
        found = find()
    except TactileError as exc:
        return [], str(exc)
    except (OSError, ValueError) as exc:  # a backend failing in a way it does not wrap
        return [], f"cannot list USB devices: {exc}"
    devices = []
    for dev in found:
        devices.append({
            "selector": dev.selector,
            "vid_pid": f"{dev.vid:04X}:{dev.pid:04X}",
            "serial": dev.serial,
            "manufacturer": dev.manufacturer,
            "product": dev.product,
            "bus": dev.bus,
            "address": dev.address,
        })
    return devices, None


def run(args: argparse.Namespace) -> int:
    ports = serial_ports()
    devices, usb_problem = usb_devices()
    if args.json:
        print_json({"serial": ports, "usb": devices, "usb_error": usb_problem})
        return 0
    _print_tables(ports, devices, usb_problem)
    return 0


def _print_tables(ports: list[dict[str, Any]], devices: list[dict[str, Any]],
                  usb_problem: str | None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if ports:
        table = Table(title="Serial ports")
        for column in ("Device", "Description", "VID:PID", "Serial"):
            table.add_column(column)
        for port in ports:
            table.add_row(*(Text(port[key] or "") for key in
                            ("device", "description", "vid_pid", "serial")))
        console.print(table)
    else:
        console.print("No serial ports found. (A `tactile sim` pty is not listed: use the path "
                      "it printed.)")
    if usb_problem:
        console.print(f"[yellow]USB devices not listed:[/yellow] {escape(usb_problem)}",
                      highlight=False)
    elif devices:
        table = Table(title="USB devices")
        for column in ("Selector", "Manufacturer", "Product", "Bus/Address"):
            table.add_column(column)
        for dev in devices:
            where = f"{dev['bus']}/{dev['address']}" if dev["bus"] is not None else ""
            table.add_row(Text(dev["selector"]), Text(dev["manufacturer"] or ""),
                          Text(dev["product"] or ""), Text(where))
        console.print(table)
    else:
        console.print("No USB devices found.")
