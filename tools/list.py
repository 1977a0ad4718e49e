"""``tactile list [--probe [PORT ...]] [--json]``: the serial ports and USB devices a technician
can open, matched against our id tables, and (``--probe``) what answers on each port.

Serial ports come from ``serial.tools.list_ports``; a USB-serial bridge chip that fingerprint
modules and pads are commonly wired through is named (CP210x, CH340, FTDI, PL2303).  A pty
from ``tactile sim`` is not listed by the operating system: name it (``tactile list --probe
/tmp/fp``).  USB devices come from :func:`drivers.usb.find_devices`; our pad's VID:PID is
recognised; when no USB backend is usable the reason is shown, not hidden.

``--probe`` asks every port (in parallel, a few seconds in all, see :mod:`tools._probe`) for an
EF01 fingerprint module at each standard baud rate and the default address, and a TPP pad at
115200 and 9600.  ``--json`` prints ONE array of objects: ``{"type": "serial", "device", ...,
"probe": {...}}`` and ``{"type": "usb", "selector", ...}``; a USB listing problem goes to
stderr.  Exit status 0 (also when nothing answers: listing is not a check), 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from serial.tools import list_ports

from protocol.errors import TactileError
from tools.args import add_json_flag, print_json
from tools.commands import COMMANDS

__all__ = ["register", "run", "serial_ports", "usb_devices", "SERIAL_BRIDGES", "USB_DEVICES"]

#: USB-serial bridges EF01 modules and TPP pads are commonly wired through (VID, PID) -> name
SERIAL_BRIDGES: dict[tuple[int, int], str] = {
    (0x10C4, 0xEA60): "Silicon Labs CP210x USB-serial bridge",
    (0x1A86, 0x7523): "WCH CH340 USB-serial bridge",
    (0x1A86, 0x55D4): "WCH CH9102 USB-serial bridge",
    (0x0403, 0x6001): "FTDI FT232R USB-serial bridge",
    (0x0403, 0x6015): "FTDI FT231X USB-serial bridge",
    (0x067B, 0x2303): "Prolific PL2303 USB-serial bridge",
}
#: USB devices we drive directly (VID, PID) -> what they are
USB_DEVICES: dict[tuple[int, int], str] = {
    (0x1209, 0x0001): "TPP PIN pad (USB, pid.codes test PID)",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list", help=COMMANDS["list"],
        description="List the serial ports (device, description, VID:PID, serial number) and "
                    "the USB devices this machine sees, matched against our id tables. With "
                    "--probe, ask each port (or only the PORTs named, e.g. the pty of "
                    "`tactile sim`, which the system does not list) what answers there: an "
                    "EF01 fingerprint module at every standard baud rate, a TPP PIN pad at "
                    "115200 and 9600. --json prints one array of objects.")
    parser.add_argument("--probe", action="store_true",
                        help="ask every port what answers there (a few seconds in all)")
    parser.add_argument("ports", nargs="*", metavar="PORT",
                        help="with --probe: probe these ports (paths or pyserial URLs) instead "
                             "of every port found")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _vid_pid(vid: int | None, pid: int | None) -> str | None:
    return f"{vid:04X}:{pid:04X}" if vid is not None and pid is not None else None


def serial_ports() -> list[dict[str, Any]]:
    """Every serial port pyserial finds, as JSON-ready dicts."""
    ports = []
    for info in sorted(list_ports.comports(), key=lambda p: p.device):
        ports.append({
            "type": "serial",
            "device": info.device,
            "description": info.description if info.description != "n/a" else None,
            "vid_pid": _vid_pid(info.vid, info.pid),
            "serial": info.serial_number,
            "manufacturer": info.manufacturer,
            "hwid": info.hwid if info.hwid != "n/a" else None,
            "known_as": SERIAL_BRIDGES.get((info.vid, info.pid)) if info.vid is not None
            else None,
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
        find = usb_driver.find_devices
    try:
        found = find()
    except TactileError as exc:
        return [], str(exc)
    except (OSError, ValueError) as exc:  # a backend failing in a way it does not wrap
        return [], f"cannot list USB devices: {exc}"
    devices = []
    for dev in found:
        devices.append({
            "type": "usb",
            "selector": dev.selector,
            "vid_pid": f"{dev.vid:04X}:{dev.pid:04X}",
            "serial": dev.serial,
            "manufacturer": dev.manufacturer,
            "product": dev.product,
            "bus": dev.bus,
            "address": dev.address,
            "known_as": USB_DEVICES.get((dev.vid, dev.pid))
            or SERIAL_BRIDGES.get((dev.vid, dev.pid)),
        })
    return devices, None


def _named_port(device: str) -> dict[str, Any]:
    return {"type": "serial", "device": device, "description": None,
            "vid_pid": None, "serial": None, "manufacturer": None, "hwid": None,
            "known_as": None}


def run(args: argparse.Namespace) -> int:
    named = list(getattr(args, "ports", None) or [])
    if named and not args.probe:
        print("tactile list: error: PORT arguments are for --probe (tactile list --probe PORT "
              "...)", file=sys.stderr)
        return 2
    ports = [_named_port(p) for p in named] if named else serial_ports()
    devices, usb_problem = usb_devices()
    if args.probe and ports:
        _probe(ports, show_progress=not args.json)
    if args.json:
        if usb_problem:
            print(f"tactile list: USB devices not listed: {usb_problem}", file=sys.stderr)
        print_json([*ports, *devices])
        return 0
    _print_tables(ports, devices, usb_problem, probed=args.probe)
    return 0


def _probe(ports: list[dict[str, Any]], *, show_progress: bool) -> None:
    from tools._probe import probe_ports

    names = [p["device"] for p in ports]
    if show_progress:
        from rich.progress import Progress
        with Progress(transient=True) as progress:
            task = progress.add_task(f"Probing {len(names)} port(s)", total=len(names))
            results = probe_ports(names, progress=lambda _r: progress.advance(task))
    else:
        results = probe_ports(names)
    for port, result in zip(ports, results):
        port["probe"] = {**result.to_dict(), "summary": result.summary}


def _print_tables(ports: list[dict[str, Any]], devices: list[dict[str, Any]],
                  usb_problem: str | None, *, probed: bool = False) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if ports:
        table = Table(title="Serial ports")
        rows = []
        for port in ports:
            description = port["description"] or ""
            if port.get("known_as"):
                description = f"{description} ({port['known_as']})" if description else \
                    port["known_as"]
            row = [Text(port["device"]), Text(description), Text(port["vid_pid"] or ""),
                   Text(port["serial"] or "")]
            if probed:
                probe = port.get("probe") or {}
                style = "green" if probe.get("answer") else "yellow"
                row.append(Text(probe.get("summary", ""), style=style))
            rows.append(row)
        names = ["Device", "Description", "VID:PID", "Serial"] + (["What answers"] if probed
                                                                  else [])
        # columns nobody has a value in (ports named on the command line) are left out
        keep = [i for i, name in enumerate(names)
                if i == 0 or name == "What answers" or any(r[i].plain for r in rows)]
        for i in keep:
            table.add_column(names[i])
        for row in rows:
            table.add_row(*(row[i] for i in keep))
        console.print(table)
        if probed and not any((p.get("probe") or {}).get("answer") for p in ports):
            console.print("Nothing answered. A `tactile sim` pty is not listed by the system: "
                          "name it, `tactile list --probe PATH`.")
    else:
        console.print("No serial ports found. (A `tactile sim` pty is not listed: name it, "
                      "`tactile list --probe PATH`, or use the path it printed.)")
    if usb_problem:
        console.print(f"[yellow]USB devices not listed:[/yellow] {escape(usb_problem)}",
                      highlight=False)
    elif devices:
        table = Table(title="USB devices")
        for column in ("Selector", "Manufacturer", "Product", "Known as", "Bus/Address"):
            table.add_column(column)
        for dev in devices:
            where = f"{dev['bus']}/{dev['address']}" if dev["bus"] is not None else ""
            table.add_row(Text(dev["selector"]), Text(dev["manufacturer"] or ""),
                          Text(dev["product"] or ""), Text(dev.get("known_as") or ""),
                          Text(where))
        console.print(table)
    else:
        console.print("No USB devices found.")
