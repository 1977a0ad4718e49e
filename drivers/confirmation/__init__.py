"""Confirmation in place of a signature: fingerprint plus dual staff review, and a signed,
tamper-evident audit trail (SQLite or PostgreSQL).

::

    from drivers.confirmation import AuditConfig, ConfirmationSession, open_store

    config = AuditConfig.load()                          # workstation keys (see .config)
    with open_store("trail.db") as store:                # or "postgresql://..."
        with ConfirmationSession(store, config, item="card replacement", terms=terms,
                                 customer="C-1001", reader=reader, pad=pad) as session:
            session.read_terms()
            session.verify_customer(template)
            session.teller_confirm("T-17")
            record = session.review("R-04")
        print(record.id, record.outcome, verify_trail(store).ok)

Modules: :mod:`.session` (the workflow and enrollment), :mod:`.store` (the two stores),
:mod:`.records` (record and checkpoint format), :mod:`.verify` (the auditor's check),
:mod:`.templates` (sealed templates), :mod:`.config` (keys).  ``tactile confirm`` and
``tactile audit ...`` are the command line on top of it.
"""

from drivers.confirmation.config import CONFIG_ENV, AuditConfig, default_config_path
from drivers.confirmation.errors import (
    AuditStoreError,
    ConfirmationError,
    DualControlError,
    SessionStateError,
    TemplateSealError,
)
from drivers.confirmation.records import AuditRecord, Checkpoint
from drivers.confirmation.session import (
    LANGUAGES,
    ConfirmationSession,
    Enrollment,
    Staff,
    Step,
    enroll_customer,
    load_customer_template,
    terms_sha256,
)
from drivers.confirmation.store import (
    AuditStore,
    PostgresStore,
    SqliteStore,
    is_postgres_url,
    open_store,
)
from drivers.confirmation.templates import TemplateVault
from drivers.confirmation.verify import Problem, VerifyReport, verify_trail

__all__ = [
    "AuditConfig", "CONFIG_ENV", "default_config_path",
    "ConfirmationSession", "Staff", "Step", "Enrollment", "enroll_customer",
    "load_customer_template", "terms_sha256", "LANGUAGES",
    "AuditStore", "SqliteStore", "PostgresStore", "open_store", "is_postgres_url",
    "AuditRecord", "Checkpoint", "TemplateVault",
    "verify_trail", "VerifyReport", "Problem",
    "ConfirmationError", "DualControlError", "SessionStateError", "AuditStoreError",
    "TemplateSealError",
]
