"""A reply nobody asked for (a retransmission from before a reconnect, a reply a stalled link
held back, another program on the port) must not end a running PIN entry: the fault matrix
found it (TPP, late x Hello).  The protocol reports it as UnexpectedResponse; the driver logs
and drops it."""

from __future__ import annotations

from drivers.pinpad import Completed, EntryReady, TactilePinPad
from pinpad_rig import PAN, decrypt, new_runner
from protocol.errors import RemoteProtocolError
from protocol.tpp import TppConnection, UnexpectedResponse, build_frame, encode_message
from protocol.tpp import Role
from protocol.tpp import messages as m
from protocol.tpp.codes import MessageType, ResultCode


def test_the_protocol_names_a_reply_to_a_seq_not_pending():
    host = TppConnection(Role.HOST)
    t, payload = encode_message(m.Refused(MessageType.GET_STATUS, ResultCode.BUSY))
    host.receive_data(build_frame(9, 77, t, payload))
    try:
        host.next_event()
    except UnexpectedResponse as exc:
        assert isinstance(exc, RemoteProtocolError) and exc.request_seq == 77
    else:  # pragma: no cover
        raise AssertionError("no UnexpectedResponse")


def test_a_stale_reply_during_an_entry_is_dropped_and_the_entry_completes():
    runner = new_runner()
    try:
        with TactilePinPad.open(runner.loopback()) as pad:
            t, payload = encode_message(m.Refused(MessageType.GET_STATUS, ResultCode.BUSY))
            stale = build_frame(201, 77, t, payload)
            with pad.pin_entry(pan=PAN, timeout=30) as entry:
                for event in entry:
                    if isinstance(event, EntryReady):
                        with runner._lock:        # bytes on the line, as a real wire has them
                            runner._device_output(stale)
                        runner.wake()
                        for key in "9514":
                            runner.command(f"press {key}")
                        runner.command("press enter")
            assert isinstance(event, Completed) and entry.completion == "enter"
            assert decrypt(entry.pin_block, entry.ksn, "iso4") == "9514"
            assert pad._link.protocol_errors >= 1        # seen, logged, dropped
    finally:
        runner.stop()
