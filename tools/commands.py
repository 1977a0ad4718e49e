"""The ``tactile`` subcommands and their one-line help, in the order ``tactile --help`` lists
them.  Kept apart from the command modules (which import the driver stacks) so that
``tactile --help`` and each command start without importing every other command's code."""

from __future__ import annotations

__all__ = ["COMMANDS"]

#: subcommand (the module tools/NAME.py) -> its one-line help
COMMANDS: dict[str, str] = {
    "demo": "run the whole counter scene (guidance, PIN change, fingerprint, confirmation) on "
            "the built-in simulators",
    "sim": "run a simulated fingerprint module or PIN pad on a pty or TCP port",
    "list": "list serial ports and USB devices; --probe asks what answers",
    "diag": "find out what is on a port and run its self-test",
    "fingerprint": "technician commands for EF01 fingerprint modules",
    "pin": "run a PIN entry on a tactile PIN pad and show the PIN block",
    "pad": "technician tools for TPP PIN pads (keytest, audiotest, info ...)",
    "monitor": "tap a link: forward both ways and decode every frame",
    "decode": "decode a recorded line (monitor --raw, spy:// log, hex dump)",
    "audit": "verify, list, export and checkpoint a confirmation audit trail",
    "confirm": "confirm a business item by fingerprint plus dual staff review, guided",
    "tour": "keypad tour and explore mode for a customer (spoken guidance)",
}
