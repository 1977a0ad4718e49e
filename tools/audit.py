"""``tactile audit``: prove a confirmation trail untouched, list it, export it, checkpoint it.

DB is a SQLite file path or a ``postgresql://USER:PASS@HOST:PORT/DBNAME`` URL.

* ``tactile audit verify DB [--checkpoint FILE ...] [--json]``: checks every workstation chain
  (hashes, order, signatures with the public keys in the store), the signed heads, the
  checkpoints kept in the store and each ``--checkpoint`` note.  Prints ``OK ...`` and exits 0
  when everything holds; otherwise the first line is ``FAIL record ID: what is wrong`` (or
  ``FAIL workstation W: ...`` for a store-level problem), further problems follow, exit 1.
* ``tactile audit show DB [--json] [--workstation W]``: one line (or JSON object) per record.
* ``tactile audit export DB [--out FILE]``: JSON lines, first one ``{"type": "key", ...}`` per
  public key, then one ``{"type": "record", ...}`` per record (body, hash, base64 signature):
  everything needed to check the trail elsewhere.
* ``tactile audit checkpoint DB [--config FILE]``: signs the head of the config's workstation
  chain, keeps it in the store and prints the signed note (C2SP signed-note format); keep the
  output somewhere the workstation cannot rewrite.
* ``tactile audit keygen --workstation ID [--config FILE]``: writes a new key configuration
  (mode 0600) for a test counter.

Exit status: 0 ok, 1 a check failed or the store could not be read, 2 bad usage (a missing
file, a malformed checkpoint or config).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

from drivers.confirmation import (
    CONFIG_ENV,
    AuditConfig,
    AuditStoreError,
    Checkpoint,
    default_config_path,
    is_postgres_url,
    open_store,
    verify_trail,
)
from protocol.errors import ConfigurationError
from tools.args import add_json_flag, print_json
from tools.commands import COMMANDS

__all__ = ["register", "main", "add_db_argument", "add_config_argument", "load_config",
           "open_db"]

_DB_HELP = ("the audit store: a SQLite file path or a postgresql://USER:PASS@HOST:PORT/DBNAME URL")


def _console(stderr: bool = False) -> Console:
    # soft_wrap: a line is never broken, so scripts can parse it whatever the terminal width
    return Console(highlight=False, soft_wrap=True, stderr=stderr)


def add_db_argument(parser: argparse.ArgumentParser, *, positional: bool = True) -> None:
    if positional:
        parser.add_argument("db", metavar="DB", help=_DB_HELP)
    else:
        parser.add_argument("--db", metavar="DB", required=True, help=_DB_HELP)
    parser.add_argument("--schema", metavar="NAME", default=None,
                        help="PostgreSQL schema holding the trail (default: the search_path)")


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", default=None,
                        help=f"workstation key configuration (JSON; default ${CONFIG_ENV}, else "
                             f"{default_config_path()})")


def load_config(args: argparse.Namespace) -> AuditConfig:
    return AuditConfig.load(args.config)


def _usage(command: str, message: str) -> int:
    print(f"tactile {command}: {message}", file=sys.stderr)
    return 2


def open_db(args: argparse.Namespace, *, readonly: bool) -> Any:
    """Open DB; ConfigurationError for a path that does not exist (bad usage)."""
    if not is_postgres_url(args.db) and readonly and not os.path.isfile(args.db):
        raise ConfigurationError(f"no audit trail at {args.db}: the file does not exist")
    if args.schema and not is_postgres_url(args.db):
        raise ConfigurationError("--schema is for a postgresql:// DB")
    return open_store(args.db, readonly=readonly, schema=args.schema)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit", help=COMMANDS["audit"],
        description="Prove a confirmation trail untouched (tactile audit verify DB), list it, "
                    "export it as JSON lines, print a signed checkpoint. DB is a SQLite file or "
                    "a postgresql:// URL. Exit status: 0 ok, 1 a check failed, 2 bad usage.")
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    verify = sub.add_parser(
        "verify", help="check every chain, signature, signed head and checkpoint",
        description="Exit 0 when every workstation chain, record signature, signed head and "
                    "checkpoint holds. Otherwise print 'FAIL record ID: what is wrong' for the "
                    "first bad record (then any other problems) and exit 1.")
    add_db_argument(verify)
    verify.add_argument("--checkpoint", metavar="FILE", action="append", default=[],
                        help="a checkpoint note kept elsewhere (tactile audit checkpoint "
                             "output); the trail must still start with the records it covers "
                             "(repeatable)")
    add_json_flag(verify)
    verify.set_defaults(func=_verify)

    show = sub.add_parser("show", help="list the records",
                          description="List the records: id, kind, time, item, customer, "
                                      "outcome, how the customer confirmed, staff.")
    add_db_argument(show)
    show.add_argument("--workstation", metavar="ID", default=None, help="only this workstation")
    add_json_flag(show)
    show.set_defaults(func=_show)

    export = sub.add_parser("export", help="write the trail as JSON lines",
                            description="Write the public keys and every record (body, hash, "
                                        "signature) as JSON lines, on stdout or to --out.")
    add_db_argument(export)
    export.add_argument("--out", metavar="FILE", default=None, help="write here, not to stdout")
    export.set_defaults(func=_export)

    checkpoint = sub.add_parser(
        "checkpoint", help="print a signed checkpoint of this workstation's chain",
        description="Sign the current head (record count and hash) of the configured "
                    "workstation's chain with its key, keep it in the store and print it as a "
                    "C2SP signed note. Keep the output where this workstation cannot change it.")
    add_db_argument(checkpoint)
    add_config_argument(checkpoint)
    checkpoint.set_defaults(func=_checkpoint)

    keygen = sub.add_parser(
        "keygen", help="write a new workstation key configuration (test counters)",
        description="Generate an Ed25519 signing key and an AES-256 template key for a "
                    "workstation and write them as a config file (mode 0600). A bank's "
                    "provisioning normally supplies this file.")
    keygen.add_argument("--workstation", metavar="ID", required=True,
                        help="the workstation id records name, e.g. BR0107-C03")
    add_config_argument(keygen)
    keygen.set_defaults(func=_keygen)


# ---------------------------------------------------------------------- verify
def _verify(args: argparse.Namespace) -> int:
    notes = []
    for path in args.checkpoint:
        try:
            with open(path, encoding="utf-8", newline="") as fh:
                text = fh.read()
            Checkpoint.parse(text)
        except OSError as exc:
            return _usage("audit verify", f"cannot read checkpoint {path}: {exc.strerror}")
        except (ConfigurationError, UnicodeDecodeError) as exc:
            return _usage("audit verify", f"{path}: {exc}")
        notes.append((path, text))
    try:
        with open_db(args, readonly=True) as store:
            report = verify_trail(store, notes)
    except ConfigurationError as exc:
        return _usage("audit verify", str(exc))
    except AuditStoreError as exc:
        if args.json:
            print_json({"ok": False, "error": str(exc)})
        else:
            _console().print(f"FAIL the trail cannot be read: {exc}", markup=False)
        return 1
    if args.json:
        print_json(report.to_dict())
        return 0 if report.ok else 1
    console = _console()
    if report.ok:
        chains = ", ".join(f"{ws}: {n}" for ws, n in report.counts.items()) or "none"
        console.print(f"OK {report.records} records in {len(report.counts)} workstation "
                      f"chain(s) ({chains}); chains, signatures and signed heads hold; "
                      f"{report.checkpoints_checked} checkpoint(s) hold", markup=False)
        return 0
    for i, problem in enumerate(report.problems):
        console.print(("FAIL " if i == 0 else "also ") + str(problem), markup=False)
    return 1


# ---------------------------------------------------------------------- show / export
def _summary(record: Any) -> dict[str, Any]:
    body = record.body
    check = body.get("customer_check") or {}
    return {"id": record.id, "kind": body.get("kind"), "completed": body.get("completed"),
            "item": body.get("item"), "customer": body.get("customer"),
            "outcome": body.get("outcome"), "method": check.get("method"),
            "staff": [f"{s.get('role')}:{s.get('id')}" for s in body.get("staff", [])]}


def _show(args: argparse.Namespace) -> int:
    try:
        with open_db(args, readonly=True) as store:
            records = store.records(args.workstation)
    except ConfigurationError as exc:
        return _usage("audit show", str(exc))
    rows = [_summary(r) for r in records]
    if args.json:
        for row in rows:
            print_json(row)
        return 0
    # one line per record, never wrapped (scripts grep it); colour only on a terminal
    console = _console()
    for row in rows:
        colour = {"confirmed": "green", "enrolled": "green", "cancelled": "yellow"}.get(
            str(row["outcome"]), "red")
        console.print(f"{row['id']}  {row['completed']}  {row['kind']}  "
                      f"[{colour}]{row['outcome']}[/{colour}]  customer {escape(str(row['customer']))}  "
                      f"{escape(str(row['item'] or '-'))}  check {row['method'] or '-'}  "
                      f"staff {', '.join(row['staff']) or '-'}")
    console.print(f"{len(rows)} record(s)", markup=False)
    return 0


def _export(args: argparse.Namespace) -> int:
    import base64

    try:
        store = open_db(args, readonly=True)
    except ConfigurationError as exc:
        return _usage("audit export", str(exc))
    try:
        out = open(args.out, "w", encoding="utf-8", newline="") if args.out else None
    except OSError as exc:
        store.close()
        return _usage("audit export", f"cannot write {args.out}: {exc.strerror}")
    if out is not None:
        write = out.write
    else:   # UTF-8 whatever the locale (items and ids may be Chinese)
        buffer = getattr(sys.stdout, "buffer", None)
        write = (lambda text: buffer.write(text.encode("utf-8"))) if buffer is not None \
            else sys.stdout.write
    records = 0
    with store:
        try:
            keys = store.keys()
            for k in keys:
                write(json.dumps({"type": "key", "workstation": k.workstation,
                                  "key_id": k.key_id,
                                  "public_key": base64.b64encode(k.public_key).decode(),
                                  "key_name": k.key_name, "added": k.added},
                                 ensure_ascii=False, sort_keys=True) + "\n")
            for record in store.iter_records():      # streamed: a long trail is not held in memory
                write(json.dumps({"type": "record", **record.to_dict()},
                                 ensure_ascii=False, sort_keys=True) + "\n")
                records += 1
        except BrokenPipeError:     # `tactile audit export DB | head`: the reader has enough
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            return 0
        finally:
            if out is not None:
                out.close()
            else:
                sys.stdout.flush()
                if getattr(sys.stdout, "buffer", None) is not None:
                    sys.stdout.buffer.flush()
    if args.out:
        print(f"{records} records and {len(keys)} key(s) written to {args.out}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------- checkpoint / keygen
def _checkpoint(args: argparse.Namespace) -> int:
    try:
        config = load_config(args)
        with open_db(args, readonly=False) as store:
            checkpoint = store.make_checkpoint(config)
    except ConfigurationError as exc:
        return _usage("audit checkpoint", str(exc))
    sys.stdout.write(checkpoint.note())
    sys.stdout.flush()
    return 0


def _keygen(args: argparse.Namespace) -> int:
    try:
        config = AuditConfig.generate(args.workstation)
        path = config.save(args.config if args.config else default_config_path())
    except ConfigurationError as exc:
        return _usage("audit keygen", str(exc))
    except OSError as exc:
        return _usage("audit keygen", f"cannot write the configuration: {exc}")
    print(f"wrote {path} for workstation {config.workstation} (public key id {config.key_id})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.audit ...`` (the same as ``tactile audit ...``)."""
    from tools.cli import main as cli_main

    return cli_main(["audit", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
