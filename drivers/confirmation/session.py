"""Confirmation in place of a signature: the customer's fingerprint (or a recorded fallback),
then the teller, then a second, different staff member; one signed record at the end.

::

    with ConfirmationSession(store, config, item="card replacement", terms=terms,
                             customer="C-1001", reader=reader, pad=pad, lang="zh-CN",
                             profile="blind") as session:
        session.read_terms()                        # read aloud / large text; repeatable
        session.verify_customer(template)           # 1:1, coached retries up to attempts
        session.teller_confirm("T-17")
        record = session.review("R-04")             # dual control; the record is written
    print(record.id, record.outcome)

The steps run in this order: terms -> customer -> teller -> review.  The customer step is a
fingerprint match, or a fallback recorded with its reason: :meth:`manual_identity_check` (with
witnesses) or, for a deaf customer, :meth:`handwritten_statement` (reference and hash).  No
path ends on the fingerprint alone: every confirmation needs the teller and a reviewer with a
different staff id.  :meth:`cancel` is possible at every step and is recorded too; leaving the
``with`` block without a decision (an exception, a closed window) records a cancellation by
the system.  A device fault during the verify is recorded as a step and re-raised: the teller
may try again, use a fallback or cancel; nothing decided so far is lost.

With a ``guide`` (the guidance layer, :mod:`drivers.guidance`) the terms are read and the
finger is coached by it in the customer's language and profile::

    guide.read_terms(text)                               # aloud / large text, per profile
                                                         # -> result with .outcome (heard, read,
                                                         # skipped, cancelled, timeout, failed),
                                                         # .parts .reached .repeats .acknowledged
                                                         # .sha256 (all optional, all recorded)
    guide.verify_finger(reader, template, attempts=N)    # -> VerifyResult; the customer's Cancel
                                                         # raises FingerprintCancelled
    guide.enroll_finger(reader, captures=N, slot=None)   # -> Template
    guide.lang, guide.profile.name                       # recorded

Without one the session uses the pad (speech, or large text for the ``deaf`` profile) and the
reader directly (``on_event`` receives the reader's events).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Sequence

from drivers.confirmation.config import AuditConfig
from drivers.confirmation.errors import ConfirmationError, DualControlError, SessionStateError
from drivers.confirmation.records import AuditRecord
from drivers.confirmation.store import AuditStore
from drivers.confirmation.templates import TemplateVault
from drivers.fingerprint import AlreadyEnrolledError, Template, VerifyResult
from protocol.errors import ConfigurationError, TactileError

_log = logging.getLogger("drivers.confirmation")

__all__ = ["ConfirmationSession", "Staff", "Step", "Enrollment", "enroll_customer",
           "load_customer_template", "terms_sha256", "LANGUAGES"]

LANGUAGES = ("zh-CN", "en")
#: the pad takes at most 900 bytes of text per Speak/Display request (TPP SPEC)
_CHUNK_BYTES = 900
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _utc(clock: Callable[[], _dt.datetime]) -> str:
    now = clock()
    if now.tzinfo is None:
        raise ConfigurationError("the session clock must return timezone-aware datetimes")
    return now.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _wall_clock() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def terms_sha256(terms: str) -> str:
    """SHA-256 (hex) of the exact terms text, UTF-8 encoded: what the record holds."""
    return hashlib.sha256(terms.encode("utf-8")).hexdigest()


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{what} must be a non-empty string, not {value!r}")
    return value.strip()


@dataclass(frozen=True)
class Staff:
    """A staff member taking part: ``id`` (the bank's staff number) and whether they are
    physically ``present`` with the customer (both must be, on a home visit)."""

    id: str
    present: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", _text(self.id, "a staff id"))

    @classmethod
    def of(cls, value: "Staff | str | None", role: str) -> "Staff":
        if value is None or (isinstance(value, str) and not value.strip()):
            raise DualControlError(f"a {role} is required: give the {role}'s staff id")
        return value if isinstance(value, Staff) else cls(value)

    def same_person(self, other: "Staff") -> bool:
        return self.id.casefold() == other.id.casefold()


class Step(str, Enum):
    """Where a session is: the next thing it waits for."""

    TERMS = "terms"          # the terms have not been presented yet
    CUSTOMER = "customer"    # waiting for the customer's fingerprint or a fallback
    TELLER = "teller"        # waiting for the teller's confirmation
    REVIEW = "review"        # waiting for the second staff member's review
    DONE = "done"            # the record is written


def _chunks(text: str, limit: int = _CHUNK_BYTES) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` UTF-8 bytes, at a line, sentence or word
    end where there is one (a whole sentence reads better than a cut one)."""
    pieces: list[str] = []
    rest = text
    while len(rest.encode("utf-8")) > limit:
        cut = len(rest.encode("utf-8")[:limit].decode("utf-8", "ignore"))
        window = rest[:cut]
        best = max((window.rfind(sep) + len(sep) for sep in ("\n", "。", ". ", "；", "; ", "，", ", ", " ")
                    if window.rfind(sep) > 0), default=cut)
        pieces.append(rest[:best])
        rest = rest[best:]
    if rest:
        pieces.append(rest)
    return pieces


def _device_info(reader: Any, pad: Any) -> dict[str, Any]:
    devices: dict[str, Any] = {}
    if reader is not None:
        info = reader.info()
        product = getattr(info, "product", None)
        devices["fingerprint"] = {"model": str(info.model),
                                  "serial": str(product.serial) if product else None,
                                  "firmware": info.firmware}
    if pad is not None:
        info = pad.info()
        devices["pinpad"] = {"vendor": str(info.vendor), "model": str(info.model),
                             "serial": str(info.serial), "firmware": str(info.firmware)}
    return devices


class ConfirmationSession:
    """One business item confirmed by a customer who cannot sign (see the module docstring).

    ``terms`` is the exact text read to the customer (its SHA-256 goes into the record);
    ``attempts`` the fingerprint attempts allowed in the whole session; ``home_visit`` records
    a visit at the customer's home (then teller and reviewer must both be present).
    ``lang``/``profile`` are recorded (a ``guide`` supplies its own).  ``clock`` returns
    timezone-aware datetimes (injectable for tests).
    """

    def __init__(self, store: AuditStore, config: AuditConfig, *, item: str, terms: str,
                 customer: str, reader: Any = None, pad: Any = None, guide: Any = None,
                 lang: str = "zh-CN", profile: str = "standard", attempts: int = 3,
                 home_visit: bool = False, on_event: Callable[[Any], object] | None = None,
                 clock: Callable[[], _dt.datetime] = _wall_clock) -> None:
        self.store = store
        self.config = config
        self.item = _text(item, "the business item")
        if not isinstance(terms, str) or not terms.strip():
            raise ConfigurationError("the terms text must be the non-empty text read to the customer")
        self.terms = terms
        self.customer = _text(customer, "the customer id")
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
            raise ConfigurationError(f"attempts must be 1 or more, not {attempts!r}")
        self.reader, self.pad, self.guide = reader, pad, guide
        if guide is not None:
            lang, profile = str(guide.lang), str(guide.profile.name)
        if lang not in LANGUAGES:
            raise ConfigurationError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        self.lang = lang
        self.profile = _text(profile, "the profile")
        self.attempts = attempts
        self.home_visit = bool(home_visit)
        self._on_event = on_event
        self._clock = clock
        self.step = Step.TERMS
        self.record: AuditRecord | None = None
        self._started = _utc(clock)
        self._steps: list[dict[str, Any]] = []
        self._readings = 0
        self._attempts_used = 0
        self._best_score = 0
        self._customer_check: dict[str, Any] | None = None
        self._fallback_reasons: list[str] = []
        self._recordings: list[dict[str, Any]] = []
        self._teller: Staff | None = None
        self._witnesses: list[Staff] = []
        self._devices = _device_info(reader, pad)

    def __repr__(self) -> str:
        return f"<ConfirmationSession {self.item!r} customer={self.customer} step={self.step.value}>"

    # ------------------------------------------------------------------ context manager
    def __enter__(self) -> "ConfirmationSession":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.step is not Step.DONE:
            why = (f"the session ended without a decision ({exc_type.__name__})" if exc_type
                   else "the session ended without a decision")
            try:
                self.cancel(why, by="system")
            except TactileError:
                if exc_type is None:
                    raise

    # ------------------------------------------------------------------ helpers
    def _log(self, step: str, **fields: Any) -> None:
        entry = {"step": step, "at": _utc(self._clock)}
        entry.update(fields)
        self._steps.append(entry)

    def _require(self, *steps: Step, doing: str) -> None:
        if self.step is Step.DONE:
            raise SessionStateError(f"this confirmation is already recorded ({self.record.id}, "
                                    f"{self.record.outcome}); start a new session to {doing}")
        if self.step not in steps:
            need = {Step.TERMS: "present the terms first (read_terms)",
                    Step.CUSTOMER: "the customer must confirm first (verify_customer or a "
                                   "fallback)",
                    Step.TELLER: "the teller must confirm first (teller_confirm)",
                    Step.REVIEW: "the teller has already confirmed; a reviewer is next (review)"}
            raise SessionStateError(f"cannot {doing} now: {need[self.step]}")

    @property
    def attempts_left(self) -> int:
        return self.attempts - self._attempts_used

    # ------------------------------------------------------------------ 1. the terms
    def read_terms(self) -> Any:
        """Present the exact terms: by the guide, else spoken on the pad (large text on its
        display for the ``deaf`` profile).  Repeatable until the record is written.

        With a guide its result is recorded (outcome, parts reached, repeats, whether the
        customer acknowledged) and returned: heard, read or skipped ("I have heard it") lets
        the customer confirm next; timeout or failed leaves the terms step open (read again,
        another way, or cancel); the customer's Cancel is recorded as a cancellation by the
        customer (``record`` then holds it).  Without a guide it returns None."""
        self._require(Step.TERMS, Step.CUSTOMER, Step.TELLER, Step.REVIEW, doing="read the terms")
        result = None
        presented = True
        if self.guide is not None:
            result = self.guide.read_terms(self.terms)
            details = {name: getattr(result, name) for name in
                       ("outcome", "mode", "parts", "reached", "repeats", "acknowledged",
                        "skip_confirmed")
                       if isinstance(getattr(result, name, None), (str, int, bool))}
            said = getattr(result, "sha256", None)
            if isinstance(said, str) and said != terms_sha256(self.terms):
                raise ConfirmationError("the guide read a text other than these terms (its "
                                        "SHA-256 differs); nothing was recorded as read")
            outcome = details.get("outcome")
            presented = outcome in (None, "heard", "read", "skipped")
            self._readings += presented
            self._log("terms-presented" if presented else "terms-not-presented", how="guide",
                      reading=self._readings, **details)
            if outcome == "cancelled":
                self.cancel("the customer cancelled while the terms were read", by="customer")
                return result
        elif self.pad is not None:
            if self.profile == "deaf":
                from protocol.tpp.display import paginate

                info = self.pad.info()
                for page in paginate(self.terms, int(info.display_columns),
                                     int(info.display_rows), True):
                    self.pad.display(page, large=True)
                how = "displayed"
            else:
                for i, piece in enumerate(_chunks(self.terms)):
                    self.pad.speak(piece, self.lang, queue=i > 0)
                how = "spoken"
            self._readings += 1
            self._log("terms-presented", how=how, reading=self._readings)
        else:
            raise ConfigurationError("there is no guide and no PIN pad to present the terms with")
        if presented and self.step is Step.TERMS:
            self.step = Step.CUSTOMER
        return result

    # ------------------------------------------------------------------ 2. the customer
    def verify_customer(self, template: Template | bytes | int, *,
                        timeout: float | None = None) -> VerifyResult:
        """1:1 verify against ``template`` (a Template, its bytes, or a module slot) with
        coached retries, within the attempts left.  A match moves on to the teller; no match
        leaves the customer step open (try again while attempts remain, a fallback, or cancel).
        A device fault is recorded as a step and re-raised (the session stays open); the
        customer's Cancel during guided coaching is recorded as a cancellation and re-raised.
        """
        self._require(Step.CUSTOMER, doing="verify the customer's fingerprint")
        if self.reader is None:
            raise ConfigurationError("this session has no fingerprint reader; use a fallback")
        if self.attempts_left <= 0:
            raise SessionStateError(
                f"the {self.attempts} fingerprint attempts of this session are used up; record a "
                "fallback (manual_identity_check / handwritten_statement) or cancel")
        allowed = self.attempts_left
        try:
            # ``timeout``: seconds per place / lift; None = the guide's profile (or 10 s)
            if self.guide is not None:
                result = self.guide.verify_finger(self.reader, template, attempts=allowed,
                                                  timeout=timeout)
            else:
                result = self.reader.verify(template, attempts=allowed, on_event=self._on_event,
                                            timeout=10.0 if timeout is None else timeout)
        except TactileError as exc:
            if any(cls.__name__ == "FingerprintCancelled" for cls in type(exc).__mro__):
                # the guidance layer's Cancel key (drivers.guidance.coaching.FingerprintCancelled)
                self._log("fingerprint-cancelled")
                self.cancel("the customer cancelled during the fingerprint", by="customer")
                raise
            self._log("fingerprint-fault", error=type(exc).__name__, message=str(exc)[:300])
            raise
        used = int(result.attempts_used)
        self._attempts_used += used
        self._best_score = max(self._best_score, int(result.score))
        self._log("fingerprint", matched=bool(result.matched), score=int(result.score),
                  attempts_used=used, attempts_allowed=allowed)
        if result.matched:
            self._customer_check = {"method": "fingerprint", "score": int(result.score)}
            self.step = Step.TELLER
        return result

    def manual_identity_check(self, *, reason: str, witnesses: Sequence[Staff | str],
                              document: str | None = None) -> None:
        """Fallback: staff checked the customer's identity by hand (worn prints, an injury, a
        refused or failed fingerprint).  ``reason`` and at least one witness are recorded;
        ``document`` says what was checked (e.g. "resident identity card")."""
        self._require(Step.CUSTOMER, doing="record a manual identity check")
        reason = _text(reason, "the reason for the manual identity check")
        people = [Staff.of(w, "witness") for w in witnesses]
        if not people:
            raise DualControlError("a manual identity check needs at least one witness (staff id)")
        self._witnesses.extend(people)
        self._fallback_reasons.append(reason)
        self._customer_check = {"method": "manual-identity-check", "reason": reason,
                                "witnesses": [w.id for w in people],
                                "document": document.strip() if document else None}
        self._log("fallback", kind="manual-identity-check", reason=reason,
                  witnesses=[w.id for w in people])
        self.step = Step.TELLER

    def handwritten_statement(self, *, reference: str, sha256: str,
                              reason: str = "deaf customer: hand-copied statement") -> None:
        """Fallback for a deaf customer: the customer hand-copied a statement of the terms;
        the record keeps its ``reference`` (the bank's document id) and the SHA-256 (hex) of
        its scan, never the scan itself."""
        self._require(Step.CUSTOMER, doing="record a hand-copied statement")
        reference = _text(reference, "the statement's reference")
        digest = _text(sha256, "the statement's SHA-256").lower()
        if not _HEX64.match(digest):
            raise ConfigurationError("sha256 is 64 hex digits (the SHA-256 of the statement's scan)")
        reason = _text(reason, "the reason")
        self._fallback_reasons.append(reason)
        self._customer_check = {"method": "handwritten-statement", "reference": reference,
                                "sha256": digest, "reason": reason}
        self._log("fallback", kind="handwritten-statement", reason=reason, reference=reference)
        self.step = Step.TELLER

    def attach_recording(self, sha256: str, *, reference: str | None = None,
                         kind: str = "video") -> None:
        """The SHA-256 (hex) of an audio/video recording the branch made of this confirmation."""
        self._require(Step.TERMS, Step.CUSTOMER, Step.TELLER, Step.REVIEW, doing="attach a recording")
        digest = _text(sha256, "the recording's SHA-256").lower()
        if not _HEX64.match(digest):
            raise ConfigurationError("sha256 is 64 hex digits (the SHA-256 of the recording file)")
        self._recordings.append({"kind": _text(kind, "the recording kind"), "sha256": digest,
                                 "reference": reference})
        self._log("recording", kind=kind, sha256=digest)

    # ------------------------------------------------------------------ 3. and 4. the staff
    def teller_confirm(self, teller: Staff | str) -> None:
        """The teller confirms that the customer understood and agreed."""
        self._require(Step.TELLER, doing="take the teller's confirmation")
        staff = Staff.of(teller, "teller")
        if self.home_visit and not staff.present:
            raise DualControlError("on a home visit the teller must be present with the customer")
        self._teller = staff
        self._log("teller-confirmed", staff=staff.id)
        self.step = Step.REVIEW

    def review(self, reviewer: Staff | str | None) -> AuditRecord:
        """A second staff member (a different staff id) reviews; the record is written and
        returned.  Raises :class:`DualControlError` (and records the refusal as a step) for a
        missing reviewer, the teller's own id, or an absent reviewer on a home visit."""
        self._require(Step.REVIEW, doing="review")
        assert self._teller is not None
        try:
            staff = Staff.of(reviewer, "reviewer")
            if staff.same_person(self._teller):
                raise DualControlError(
                    f"the reviewer must be a different staff member from the teller "
                    f"({self._teller.id}): dual control needs two people")
            if self.home_visit and not staff.present:
                raise DualControlError("on a home visit both staff must be present: the reviewer "
                                       "is recorded as absent")
        except DualControlError as exc:
            self._log("review-refused", reason=str(exc))
            raise
        self._log("reviewed", staff=staff.id)
        return self._commit("confirmed", reviewer=staff)

    def cancel(self, reason: str, *, by: str = "customer") -> AuditRecord:
        """End the session without confirmation; recorded with the step it stopped at, who
        cancelled (customer, teller, reviewer, system or a staff id) and why."""
        self._require(Step.TERMS, Step.CUSTOMER, Step.TELLER, Step.REVIEW, doing="cancel")
        reason = _text(reason, "the reason for the cancellation")
        by = _text(by, "who cancelled")
        self._log("cancelled", by=by, reason=reason, at_step=self.step.value)
        return self._commit("cancelled", cancel={"at_step": self.step.value, "by": by,
                                                 "reason": reason})

    # ------------------------------------------------------------------ the record
    def _commit(self, outcome: str, *, reviewer: Staff | None = None,
                cancel: dict[str, Any] | None = None) -> AuditRecord:
        staff: list[dict[str, Any]] = []
        if self._teller is not None:
            staff.append({"id": self._teller.id, "role": "teller", "present": self._teller.present})
        if reviewer is not None:
            staff.append({"id": reviewer.id, "role": "reviewer", "present": reviewer.present})
        for witness in self._witnesses:
            staff.append({"id": witness.id, "role": "witness", "present": witness.present})
        content = {
            "kind": "confirmation",
            "item": self.item,
            "customer": self.customer,
            "terms_sha256": terms_sha256(self.terms),
            "terms_chars": len(self.terms),
            "lang": self.lang,
            "profile": self.profile,
            "guided": self.guide is not None,
            "home_visit": self.home_visit,
            "devices": self._devices,
            "terms_readings": self._readings,
            "fingerprint": ({"attempts_used": self._attempts_used, "attempts_allowed": self.attempts,
                             "best_score": self._best_score}
                            if self._attempts_used or self.reader is not None else None),
            "customer_check": self._customer_check,
            "fallback_reasons": list(self._fallback_reasons),
            "recordings": list(self._recordings),
            "staff": staff,
            "steps": list(self._steps),
            "started": self._started,
            "completed": _utc(self._clock),
            "outcome": outcome,
            "cancel": cancel,
        }
        record = self.store.append(self.config, content)
        self.record = record
        self.step = Step.DONE
        self._tell_outcome(outcome)
        return record

    def _tell_outcome(self, outcome: str) -> None:
        """The customer hears (or reads) how it ended: confirmed, or not, and that staff will
        help; the teller's screen shows it too.  Help to the customer, not a condition of the
        record, which is already written."""
        say = getattr(self.guide, "say", None)
        if say is None:
            return
        try:
            say("confirm.outcome.confirmed" if outcome == "confirmed"
                           else "confirm.outcome.cancelled", item=self.item,
                           haptic="done" if outcome == "confirmed" else "cancelled")
        except TactileError as exc:
            _log.warning("could not tell the customer the outcome: %s", exc)


# ====================================================================== enrollment
@dataclass(frozen=True)
class Enrollment:
    """An enrollment at the counter: the template (in memory only), its sealed form (what is
    kept), and the trail record."""

    template: Template
    sealed: bytes
    record: AuditRecord

    def __repr__(self) -> str:
        return f"Enrollment({self.record.id}, {len(self.sealed)}-byte sealed template)"


def enroll_customer(store: AuditStore, config: AuditConfig, reader: Any, *, customer: str,
                    staff: Staff | str, guide: Any = None, captures: int = 2,
                    slot: int | None = None, on_event: Callable[[Any], object] | None = None,
                    lang: str = "zh-CN", profile: str = "standard",
                    timeout: float | None = None,
                    clock: Callable[[], _dt.datetime] = _wall_clock) -> Enrollment:
    """Enroll ``customer`` at the counter: ``captures`` (2 or more) coached captures merged into
    one template, a duplicate check against the module's library, the template kept in
    module ``slot`` if given, and always sealed (AES-GCM, customer id as associated data)
    into the store's template table.  The enrollment is a trail record (outcome
    ``enrolled``, ``duplicate`` or ``failed``); a duplicate or a device fault is re-raised
    after it is recorded."""
    customer = _text(customer, "the customer id")
    person = Staff.of(staff, "staff member")
    if guide is not None:
        lang, profile = str(guide.lang), str(guide.profile.name)
    vault = TemplateVault(config.template_key)
    started = _utc(clock)
    devices = _device_info(reader, None)
    base = {"kind": "enrollment", "customer": customer, "captures": captures, "slot": slot,
            "lang": lang, "profile": profile, "guided": guide is not None, "devices": devices,
            "staff": [{"id": person.id, "role": "teller", "present": person.present}],
            "started": started}
    try:
        # ``timeout``: seconds per place / lift; None = the guide's profile (or 10 s)
        if guide is not None:
            template = guide.enroll_finger(reader, captures=captures, slot=slot, timeout=timeout)
        else:
            template = reader.enroll(captures=captures, slot=slot, on_event=on_event,
                                     timeout=10.0 if timeout is None else timeout)
    except AlreadyEnrolledError as exc:
        store.append(config, {**base, "completed": _utc(clock), "outcome": "duplicate",
                              "duplicate_slot": exc.slot, "error": None})
        raise
    except TactileError as exc:
        store.append(config, {**base, "completed": _utc(clock), "outcome": "failed",
                              "duplicate_slot": None,
                              "error": {"type": type(exc).__name__, "message": str(exc)[:300]}})
        raise
    sealed = vault.seal(template, customer)
    store.save_template(customer, vault.key_id, sealed)
    record = store.append(config, {**base, "completed": _utc(clock), "outcome": "enrolled",
                                   "duplicate_slot": None, "error": None,
                                   "template_key_id": vault.key_id,
                                   "sealed_sha256": hashlib.sha256(sealed).hexdigest()})
    return Enrollment(template, sealed, record)


def load_customer_template(store: AuditStore, config: AuditConfig, customer: str) -> Template | None:
    """The customer's template from the store's sealed templates (None if not enrolled)."""
    row = store.load_template(_text(customer, "the customer id"))
    if row is None:
        return None
    return TemplateVault(config.template_key).open(row[1], customer.strip())
