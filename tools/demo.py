"""``tactile demo``: the whole counter scene on the built-in simulators, no hardware needed.

Printed as a readable transcript in the chosen language (``--lang``): every line the guidance
said or showed, what the pad said by itself, what the teller's screen showed, and what the
virtual customer did.  The customers are :class:`firmware_sim.customer.VirtualCustomer`
objects: they perceive only what a person would through their senses (a blind customer hears
and feels, a deaf one sees and feels) and act only on the words they perceive, so every step
that succeeds shows the guidance really told them what to do.

1. A blind customer, at a simulated tactile PIN pad with a simulated fingerprint module to its
   right: plugs in the headset when offered, takes the keypad tour, explores the 5 key and
   Enter, changes the PIN (one mismatch, then success; the host gets only an ISO 9564 format 4
   block, which the demo deciphers with the published TEST keys to prove it holds the new PIN),
   enrolls a finger with one coached retry, and verifies it (another finger is rejected).
2. Confirmation in place of a signature: the terms are read aloud to the same customer, the
   fingerprint confirms, the teller confirms, a second staff member reviews (the teller's own id
   is refused as reviewer); the signed record goes to a temporary SQLite audit trail, which is
   verified at the end (and a copy with one field changed fails, naming the record).
3. A deaf customer enters a PIN from text and haptics alone (no speech at all).

Every step is checked; the exit status is 1 if any check failed.  The scripted PINs are random
on every run unless ``--seed`` is given; they exist only in the virtual customer and in the
final checks, never in anything the host receives, says, shows or prints (the transcript shows
"a digit key" for every digit pressed during PIN entry).  The pad simulator runs its own clock
``--speed`` times faster than real time (speech and time limits alike; default 8) so the scene
takes about a minute; ``--speed 1`` plays it in real time.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sqlite3
import tempfile
import threading
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tools.args import add_customer_arguments, add_json_flag, counter_config, print_json
from tools.commands import COMMANDS

__all__ = ["register", "run"]

# ISO 9564 format 4 needs a PAN: a test card number (Luhn-valid, 19 digits as UnionPay cards)
_DEMO_PAN = "6222020200112233445"
_GENUINE_FINGER = 3
_OTHER_FINGER = 8
_CUSTOMER_ID = "C-0093"
_TELLER, _REVIEWER = "T-017", "R-042"
# the bank's own terms text for the demo item (the bank supplies it; it is not guidance)
_TERMS = {
    "zh-CN": "借记卡换卡确认。您的旧卡今天注销，新卡从今天起生效。换卡不收取手续费。",
    "en": "Debit card replacement. Your old card is cancelled today and the new card is active "
          "from today. There is no fee for the replacement.",
}
_HEADINGS = {
    "en": ("A blind customer: headset, keypad tour, PIN change, fingerprint",
           "Confirmation in place of a signature: terms, fingerprint, two staff",
           "A deaf customer: PIN entry from text and haptics alone",
           "A low-vision customer: large text that fits, the headset first",
           "A deafblind customer: hand over hand, vibration only"),
    "zh-CN": ("视障客户：耳机、键盘导览、修改密码、指纹",
              "以指纹和双人复核代替签名：条款、指纹、两名员工",
              "听障客户：只凭文字和振动输入密码",
              "低视力客户：放得下的大字，先递耳机",
              "盲聋客户：手把手引导，只凭振动"),
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help=COMMANDS["demo"],
        description="The counter scene on simulated devices, printed as a transcript: a blind "
                    "customer takes the keypad tour, changes the PIN and enrolls and verifies a "
                    "finger with spoken coaching; the terms are read and the business is "
                    "confirmed by fingerprint and two staff into a signed audit trail; a deaf "
                    "customer enters a PIN from text and haptics.  Exit status 0 when every "
                    "check passes, 1 otherwise.")
    parser.add_argument("--model", choices=["r307", "r503", "as608"], default="r307",
                        help="fingerprint module model to simulate (default r307)")
    parser.add_argument("--layout", choices=["telephone", "calculator", "pos"],
                        default="telephone", help="PIN pad keypad layout (default telephone)")
    add_customer_arguments(parser, sound=False,
                           what="the customers' language and the transcript's")
    parser.add_argument("--seed", type=int, default=None,
                        help="make the virtual fingers' captures and the scripted PINs repeatable")
    parser.add_argument("--speed", type=float, default=8.0,
                        help="how many times faster than real time the pad's own clock runs "
                             "(speech, time limits; 1..50, default 8)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


class _Report:
    """Prints for people (rich) or collects one JSON object."""

    def __init__(self, as_json: bool, lang: str = "en") -> None:
        self.as_json = as_json
        self.lang = lang
        self.console = Console(highlight=False)
        self.data: dict[str, Any] = {"checks": [], "transcript": []}
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def heading(self, text: str) -> None:
        if not self.as_json:
            self.console.rule(f"[bold]{escape(text)}")

    def line(self, text: str, *, who: str = "") -> None:
        """One transcript line (``who``: guide, pad, teller, customer, or "" for narration)."""
        with self._lock:
            self.data["transcript"].append({"t": round(time.monotonic() - self._t0, 2),
                                            "who": who, "text": text})
            if not self.as_json:
                # a grid keeps wrapped lines (CJK text has no spaces to wrap at) in their column
                style = {"guide": "cyan", "pad": "magenta", "teller": "yellow",
                         "customer": "green"}.get(who, "")
                grid = Table.grid(padding=(0, 1))
                grid.add_column(width=8, justify="right", style=style)
                grid.add_column(overflow="fold")
                grid.add_row(who, text)
                self.console.print(grid)

    def check(self, label: str, passed: bool) -> bool:
        self.data["checks"].append({"check": label, "passed": bool(passed)})
        if not self.as_json:
            mark = "[green]PASS[/green]" if passed else "[red]FAIL[/red]"
            self.console.print(f"  {mark}  {escape(label)}")
        return bool(passed)

    def feed_line(self, line: str) -> None:
        """A TellerFeed line: "[guide] ...", "[pad] ...", "[teller] ...", "[tone] X"."""
        match = re.match(r"\[(\w+)\] (.*)", line, re.S)
        who, text = (match.group(1), match.group(2)) if match else ("", line)
        if who in ("tone", "haptic"):
            if self.lang == "zh-CN":
                text = f"（{_ZH_CUES[who]}：{_ZH_CUES.get(text, text)}）"
            else:
                text = f"({who}: {text})"
            who = "pad"
        self.line(text, who=who)


def _heard(lang: str, *msgids: str) -> "re.Pattern[str]":
    """A pattern matching any of these catalogue messages as spoken (placeholders: anything),
    so the virtual customer recognises an instruction by its words."""
    from drivers.guidance.catalog import DOMAINS, catalogue_entries

    forms: list[str] = []
    for domain in DOMAINS:
        entries = catalogue_entries(lang, domain)
        for msgid in msgids:
            forms.extend(entries.get(msgid, ()))
    if not forms:
        raise KeyError(f"no such guidance messages: {msgids}")
    parts = [re.sub(r"\\\{[a-z_]+\\\}", ".*?", re.escape(f)) for f in forms]
    return re.compile("|".join(f"(?:{p})" for p in parts))


def _prompt(lang: str, ident: Any) -> "re.Pattern[str]":
    """A pattern matching one of the pad's fixed prompts as spoken or shown."""
    from protocol.tpp.prompts import PROMPTS

    definition = PROMPTS[int(ident)]
    texts = [definition.zh] if lang == "zh-CN" else \
        [definition.en] + ([definition.en_one] if definition.en_one else [])
    return re.compile("|".join(re.sub(r"\\\{\d\\\}", r"\\d+", re.escape(t)) for t in texts))


#: cue names for a Mandarin transcript (tones and vibration patterns)
_ZH_CUES = {"tone": "提示音", "haptic": "振动", "attention": "提醒", "error": "错误",
            "success": "成功", "warning": "警告", "inactive": "无效键", "accepted": "按键已收到",
            "done": "完成", "key": "按键"}
#: key names as the pad says them (SPEC 9.1)
_ZH_KEYS = {"enter": "确认", "cancel": "取消", "clear": "更正", "backspace": "退格", "help": "帮助"}


class _Narrator:
    """Turns the virtual customer's actions into transcript lines, masking PIN digits."""

    def __init__(self, report: _Report, pad_sim: Any, lang: str) -> None:
        self.report = report
        self.lang = lang
        self.mode = "idle"
        pad_sim.subscribe(self._watch)

    def _watch(self, event: dict[str, Any]) -> None:
        if event.get("event") == "mode":
            self.mode = str(event.get("mode"))

    def __call__(self, action: str) -> None:
        from drivers.guidance.catalog import number_words

        zh = self.lang == "zh-CN"
        words = action.replace("fingerprint:", "fingerprint ").split()
        if words[:1] == ["press"]:
            key = words[1]
            if key.isdigit() and self.mode in ("pin", "pin-change"):
                text = "按了一个数字键" if zh else "presses a digit key"   # never which one
            elif zh:
                text = "按" + (f"数字{number_words(int(key), 'zh-CN')}" if key.isdigit()
                              else _ZH_KEYS.get(key, key) + "键")
            else:
                text = f"presses {key}"
        elif words[:2] == ["headset", "in"]:
            text = "插上耳机" if zh else "plugs the headset in"
        elif words[:2] == ["headset", "out"]:
            text = "拔下耳机" if zh else "unplugs the headset"
        elif words[:2] == ["fingerprint", "place"]:
            quality = int(words[3]) if len(words) > 3 else 90
            how = ("按得不清楚" if zh else "smudged") if quality < 50 else ("按好" if zh else "flat")
            text = (f"把手指 {words[2]} 放到指纹仪上（{how}）" if zh
                    else f"places finger {words[2]} on the reader ({how})")
        elif words[:2] == ["fingerprint", "lift"]:
            text = "抬起手指" if zh else "lifts the finger"
        else:
            text = action
        self.report.line(text, who="customer")


def _pin(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789") for _ in range(6))


def _presses(pin: str) -> list[str]:
    return [f"press {d}" for d in pin] + ["press enter"]


def _decipher(entry: Any) -> str | None:
    """The PIN inside an ISO-4 block under the published AES DUKPT TEST key (demo only)."""
    from drivers.pinpad import TEST_KEYS
    from protocol.dukpt import aes_derive_pin_key
    from protocol.pinblock import decipher_pin_block

    if not entry.pin_block or not entry.ksn:
        return None
    test = next(k for k in TEST_KEYS if k.kind.name == "AES_DUKPT")
    return decipher_pin_block("iso4", aes_derive_pin_key(test.bdk, entry.ksn), entry.pin_block,
                              _DEMO_PAN)


class _Scene:
    def __init__(self, args: argparse.Namespace, report: _Report, rng: random.Random) -> None:
        self.args = args
        self.report = report
        self.rng = rng
        self.lang = args.lang
        self.new_pin = _pin(rng)
        self.wrong_pin = _pin(rng)
        while self.wrong_pin == self.new_pin:
            self.wrong_pin = _pin(rng)
        self.deaf_pin = _pin(rng)
        self.low_vision_pin = _pin(rng)
        self.deafblind_pin = _pin(rng)
        self.placements = self.bad_placements = 0
        self.received: list[str] = []   # every event the host received, as repr

    def run(self) -> bool:
        from drivers import FingerprintReader, TactilePinPad
        from drivers.guidance import Guide
        from firmware_sim import simulate

        args, report = self.args, self.report
        with tempfile.TemporaryDirectory(prefix="tactile-demo-") as tmp, \
                simulate("pinpad", layout=args.layout, time_scale=args.speed) as pad_sim, \
                simulate("fingerprint", model=args.model,
                         seed=self.rng.randrange(2**31)) as fp_sim:
            narrator = _Narrator(report, pad_sim, self.lang)
            with TactilePinPad.open(f"sim://pinpad?name={pad_sim.name}") as pad, \
                    FingerprintReader.open(f"sim://fingerprint?name={fp_sim.name}") as reader:
                info = pad.info()
                report.line(f"pad: {info.vendor} {info.model}, serial {info.serial}; "
                            f"reader: {reader.info().model}; layout {pad.layout().name}")
                guide = Guide(pad, lang=self.lang, profile="blind", teller=report.feed_line,
                              reader_position="right")
                ok = self._blind(guide, pad_sim, fp_sim, reader, narrator, tmp)
                ok &= self._deaf(guide, pad_sim, narrator)
                ok &= self._low_vision(guide, pad_sim, narrator)
                ok &= self._deafblind(pad, pad_sim, narrator)
        everything = " ".join(self.received) + " " + " ".join(
            str(line["text"]) for line in report.data["transcript"])
        ok &= report.check("no PIN appears in anything the host received, said, showed or "
                           "printed", not any(p in everything for p in
                                              (self.new_pin, self.wrong_pin, self.deaf_pin,
                                               self.low_vision_pin, self.deafblind_pin)))
        return ok

    # -- 1 + 2: the blind customer ----------------------------------------------------------
    def _blind(self, guide: Any, pad_sim: Any, fp_sim: Any, reader: Any, narrator: Any,
               tmp: str) -> bool:
        from firmware_sim.customer import VirtualCustomer
        from protocol.tpp.prompts import PromptId as P

        report, lang = self.report, self.lang
        report.heading(_HEADINGS[lang][0])

        def place_finger() -> str:
            # the first placement is smudged (one coached retry follows); then flat
            quality = 0 if self.placements == 0 else 90
            self.placements += 1
            self.bad_placements += quality < 50
            return f"fingerprint: place {self.finger} {quality}"

        self.finger = _GENUINE_FINGER
        customer = VirtualCustomer(pad_sim, fingerprint=fp_sim, senses={"hear", "feel"},
                                   on_action=narrator)
        # the customer acts only on words heard (the regular expressions are the catalogue's
        # own sentences, in the customer's language)
        customer.on(_heard(lang, "common.headset_offer"), "headset in")
        customer.on(_prompt(lang, P.EXPLORE_START), "wait 0.4", "press 5", "wait 0.6",
                    "press enter", "wait 0.6", "press cancel")
        customer.on(_prompt(lang, P.ENTER_NEW_PIN), *_presses(self.new_pin))
        customer.on(_prompt(lang, P.CONFIRM_NEW_PIN), *_presses(self.wrong_pin))
        customer.on(_prompt(lang, P.PIN_MISMATCH_LEFT), *_presses(self.new_pin))
        customer.on(_prompt(lang, P.CONFIRM_NEW_PIN), *_presses(self.new_pin))
        customer.on(_heard(lang, "fingerprint.enroll.place_first", "fingerprint.enroll.place_again",
                           "fingerprint.verify.place", "fingerprint.verify.place_again"),
                    place_finger, repeat=True)
        customer.on(_heard(lang, "fingerprint.lift"), "fingerprint: lift", repeat=True)
        customer.on(_heard(lang, "fingerprint.retry.unclear", "fingerprint.retry.capture_failed",
                           "fingerprint.retry.not_centred", "fingerprint.retry.other",
                           "fingerprint.retry.finger_moved"),
                    "fingerprint: lift", "wait 0.3", place_finger, repeat=True)
        customer.on(_heard(lang, "fingerprint.terms.end"), "press enter", repeat=True)
        from drivers.confirmation import AuditConfig, SqliteStore

        config = AuditConfig.generate("DEMO-C01")       # demo keys, made fresh for this run
        db = os.path.join(tmp, "trail.db")
        with customer, SqliteStore(db) as store:
            ok = self._tour(guide)
            ok &= self._pin_change(guide)
            enrolled, ok_fp = self._fingerprint(guide, reader, fp_sim, store, config, db)
            ok &= ok_fp
            report.heading(_HEADINGS[lang][1])
            ok &= self._confirmation(guide, reader, fp_sim, enrolled, store, config)
            if customer.errors:
                report.line("; ".join(customer.errors))
        return ok & self._audit(db, enrolled)

    def _tour(self, guide: Any) -> bool:
        result = guide.tour()
        keys = list(getattr(result.explore, "keys", ()) or ()) if result.explore else []
        ok = self.report.check("headset plugged in when offered: private audio",
                               bool(guide.pad.status().headset))
        ok &= self.report.check("keypad tour spoken from the reported layout",
                                len(result.said) >= 3)
        ok &= self.report.check(f"explore mode named the 5 and Enter, left with Cancel "
                                f"({', '.join(keys)})",
                                "five" in keys and "enter" in keys
                                and getattr(result.explore, "ended", "") == "cancel")
        return ok

    def _pin_change(self, guide: Any) -> bool:
        with guide.pin_change(pan=_DEMO_PAN, min_len=6, max_len=6) as entry:
            for event in entry:
                self.received.append(repr(event))
        self.report.line(f"PIN block (ISO 9564 format 4, AES DUKPT): "
                         f"{entry.pin_block.hex().upper() if entry.pin_block else '-'}, "
                         f"KSN {entry.ksn.hex().upper() if entry.ksn else '-'}")
        ok = self.report.check(f"PIN change: status {entry.status} after "
                               f"{entry.mismatches} mismatch", entry.status == "ok"
                               and entry.mismatches == 1)
        ok &= self.report.check("the PIN block deciphers (published TEST keys) to the new PIN "
                                "the customer typed", _decipher(entry) == self.new_pin)
        return ok

    def _fingerprint(self, guide: Any, reader: Any, fp_sim: Any, store: Any, config: Any,
                     db: str) -> tuple[Any, bool]:
        from drivers.confirmation import enroll_customer

        report = self.report
        before = len(guide.transcript.items)
        # guided enrollment at the counter; the template is kept sealed (AES-GCM) in the trail
        enrolled = enroll_customer(store, config, reader, customer=_CUSTOMER_ID, staff=_TELLER,
                                   guide=guide)
        fp_sim.command("lift")
        retries = [i.msgid for i in guide.transcript.items[before:]
                   if (i.msgid or "").startswith("fingerprint.retry.")]
        report.line(f"audit trail {db}: enrollment record {enrolled.record.id}, template "
                    f"sealed with AES-GCM ({len(enrolled.sealed)} bytes kept)")
        # one smudged placement; the reader may scan it more than once before the finger lifts
        reasons = sorted({r.rsplit(".", 1)[-1] for r in retries})
        ok = report.check(f"finger enrolled after a smudged first placement was coached "
                          f"({', '.join(reasons)})", enrolled.template is not None
                          and len(retries) >= 1 and self.bad_placements == 1)
        self.finger = _OTHER_FINGER
        other = guide.verify_finger(reader, enrolled.template, attempts=1)
        fp_sim.command("lift")
        self.finger = _GENUINE_FINGER
        ok &= report.check(f"another finger ({_OTHER_FINGER}) rejected (score {other.score})",
                           not other.matched)
        return enrolled, ok

    def _confirmation(self, guide: Any, reader: Any, fp_sim: Any, enrolled: Any, store: Any,
                      config: Any) -> bool:
        from drivers.confirmation import ConfirmationSession, DualControlError, verify_trail

        report = self.report
        with ConfirmationSession(store, config, item="debit card replacement",
                                 terms=_TERMS[self.lang], customer=_CUSTOMER_ID,
                                 reader=reader, pad=guide.pad, guide=guide) as session:
            session.read_terms()
            result = session.verify_customer(enrolled.template)
            fp_sim.command("lift")
            session.teller_confirm(_TELLER)
            try:
                session.review(_TELLER)
                same_refused = False
            except DualControlError as exc:
                same_refused = True
                report.line(f"review by {_TELLER} refused: {exc}", who="teller")
            record = session.review(_REVIEWER)
        report.line(f"record {record.id}: {record.outcome} (teller {_TELLER}, reviewer "
                    f"{_REVIEWER})", who="teller")
        self.checkpoint = store.make_checkpoint(config)
        self.verified = verify_trail(store, [("the demo checkpoint", self.checkpoint.note())])
        body = record.body
        report.data["confirmation"] = {
            "record": record.id, "outcome": record.outcome, "score": result.score,
            "attempts": result.attempts_used, "terms_sha256": body["terms_sha256"],
            "staff": body["staff"], "verify": self.verified.to_dict(),
        }
        ok = report.check(f"terms read aloud, fingerprint confirmed (score {result.score})",
                          result.matched)
        ok &= report.check("the teller's own id refused as reviewer (dual control)", same_refused)
        ok &= report.check(f"record {record.id} confirmed by teller and reviewer",
                           record.outcome == "confirmed"
                           and [s["role"] for s in body["staff"]] == ["teller", "reviewer"])
        return ok

    def _audit(self, db: str, enrolled: Any) -> bool:
        """The auditor's view: the trail verifies; a copy with one field changed does not."""
        from drivers.confirmation import SqliteStore, verify_trail

        report, verified = self.report, self.verified
        report.line("signed checkpoint: " + self.checkpoint.note().strip().replace("\n", " | "))
        altered = db + ".altered"
        shutil.copyfile(db, altered)
        conn = sqlite3.connect(altered, isolation_level=None)
        try:   # what someone with file access could do: drop the guard, edit one field
            conn.execute("DROP TRIGGER audit_records_no_update")
            conn.execute("UPDATE audit_records SET body = replace(body, ?, 'T-999') WHERE seq = 1",
                         (_TELLER,))
        finally:
            conn.close()
        with SqliteStore(altered, readonly=True) as copy:
            tampered = verify_trail(copy)
        report.data["confirmation"]["tampered_copy"] = \
            str(tampered.first) if tampered.first else None
        ok = report.check(f"audit trail verifies: {verified.records} records, chain, "
                          "signatures and checkpoint hold", verified.ok)
        ok &= report.check("a copy with one field changed fails verify, naming the record",
                           not tampered.ok and tampered.first is not None
                           and tampered.first.record_id == enrolled.record.id)
        return ok

    # -- 3: the deaf customer ---------------------------------------------------------------
    def _deaf(self, guide: Any, pad_sim: Any, narrator: Any) -> bool:
        from drivers.guidance import HAPTIC_PATTERNS
        from firmware_sim.customer import VirtualCustomer
        from protocol.tpp.prompts import PromptId as P

        report, lang = self.report, self.lang
        report.heading(_HEADINGS[lang][2])
        pad_sim.command("headset out")
        guide.profile = "deaf"
        customer = VirtualCustomer(pad_sim, senses={"see", "feel"}, on_action=narrator)
        customer.on(_heard(lang, "entry.display.entry.digits"), "press enter")
        customer.on(_prompt(lang, P.ENTER_PIN_DIGITS), *_presses(self.deaf_pin))
        with customer:
            entry = self._six_digit_entry(guide)
        felt = customer.felt()
        # the pad's own pulse (TPP SetFeedback haptics): identical for every key
        pulse = ",".join(map(str, HAPTIC_PATTERNS["key"]))
        done = ",".join(map(str, HAPTIC_PATTERNS["done"]))
        ok = report.check(f"deaf customer: entry {entry.status} with {entry.digits} digits, "
                          "nothing heard", entry.status == "ok" and customer.heard() == [])
        ok &= report.check(f"the same pulse for every key ({felt.count(pulse)} felt), the "
                           "done pattern at the end", felt.count(pulse) >= 7 and done in felt)
        ok &= report.check("the PIN block deciphers to the PIN the deaf customer typed",
                           _decipher(entry) == self.deaf_pin)
        return ok

    def _six_digit_entry(self, guide: Any) -> Any:
        """A guided six-digit PIN entry, every event the host received kept for the PIN check."""
        with guide.pin_entry(pan=_DEMO_PAN, min_len=6, max_len=6) as entry:
            for event in entry:
                self.received.append(repr(event))
        return entry

    # -- 4: a low-vision customer, watched by someone with sharp sight ----------------------
    def _low_vision(self, guide: Any, pad_sim: Any, narrator: Any) -> bool:
        from firmware_sim.customer import Observer, VirtualCustomer
        from protocol.tpp.prompts import PromptId as P

        report, lang = self.report, self.lang
        report.heading(_HEADINGS[lang][3])
        guide.end_customer()                      # the deaf customer has gone: start clean
        guide.lang, guide.profile = lang, "low-vision"
        customer = VirtualCustomer(pad_sim, on_action=narrator)
        customer.on(_heard(lang, "common.headset_offer"), "headset in")
        customer.on(_prompt(lang, P.ENTER_PIN_DIGITS), *_presses(self.low_vision_pin))
        info = guide.pad.info()
        with customer, Observer(pad_sim, {"see"}) as watcher:
            entry = self._six_digit_entry(guide)
        shown = [e for e in watcher.events if e["event"] == "display"]
        too_big = watcher.overflowing(info.display_columns, info.display_rows)
        ok = report.check(f"low-vision customer: entry {entry.status}, the headset offered "
                          "first", entry.status == "ok" and guide.headset_offered)
        ok &= report.check(f"every text shown fits the {info.display_columns} x "
                           f"{info.display_rows} display in large type ({len(shown)} pages, "
                           f"{len(too_big)} too big)", bool(shown) and not too_big
                           and all(e.get("large") for e in shown))
        ok &= report.check("the PIN block deciphers to the PIN the low-vision customer typed",
                           _decipher(entry) == self.low_vision_pin)
        return ok

    # -- 5: a deafblind customer, hand over hand, watched by someone who hears and sees -------
    def _deafblind(self, pad: Any, pad_sim: Any, narrator: Any) -> bool:
        from drivers.guidance import HAPTIC_PATTERNS, Guide
        from firmware_sim.customer import Observer, VirtualCustomer

        report, lang = self.report, self.lang
        report.heading(_HEADINGS[lang][4])
        pad_sim.command("headset out")
        customer = VirtualCustomer(pad_sim, senses={"feel"}, on_action=narrator)
        typing = _presses(self.deafblind_pin)

        def teller(line: str) -> None:
            report.feed_line(line)
            # the teller guides the customer's hand as the lines say: Enter to begin, the PIN
            if re.match(r"\[teller\] (Guide the customer's hand|请带客户的手)", line):
                customer.do("press enter")
            elif re.match(r"\[teller\] (PIN entry|密码输入)[:：]", line):
                customer.do(*typing)

        with customer, Observer(pad_sim, {"hear", "see"}) as bystander, \
                Guide(pad, lang=lang, profile="deafblind", teller=teller) as guide:
            entry = self._six_digit_entry(guide)
        felt = customer.felt()
        key = ",".join(map(str, HAPTIC_PATTERNS["key"]))
        done = ",".join(map(str, HAPTIC_PATTERNS["done"]))
        ok = report.check(f"deafblind customer, guided hand over hand: entry {entry.status}, "
                          f"{felt.count(key)} identical pulses and the done pattern",
                          entry.status == "ok" and felt.count(key) >= 7 and done in felt)
        ok &= report.check(f"nothing to hear at any time ({len(bystander.sounds())} sounds)",
                           bystander.sounds() == [])
        ok &= report.check("the PIN block deciphers to the PIN typed hand over hand",
                           _decipher(entry) == self.deafblind_pin)
        return ok


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.speed <= 50:
        print("tactile demo: --speed is 1..50 (times faster than real time)")
        return 2
    counter_config(args)           # the counter's language when --lang is not given
    report = _Report(args.json, args.lang)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    report.data["seed"] = seed
    ok = _Scene(args, report, random.Random(seed)).run()
    report.data["ok"] = ok
    if args.json:
        print_json(report.data)
    else:
        passed = sum(c["passed"] for c in report.data["checks"])
        total = len(report.data["checks"])
        report.heading(f"all {total} checks passed" if ok else
                       f"{total - passed} of {total} checks failed")
    return 0 if ok else 1
