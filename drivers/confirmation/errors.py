"""Errors of the confirmation workflow and its audit trail (all :class:`TactileError`)."""

from __future__ import annotations

from protocol.errors import ConfigurationError, TactileError

__all__ = ["ConfirmationError", "DualControlError", "SessionStateError", "AuditStoreError",
           "TemplateSealError", "ConfigurationError"]


class ConfirmationError(TactileError):
    """Root of the confirmation workflow's own errors."""


class DualControlError(ConfirmationError):
    """The four-eyes rule was broken: a missing reviewer, or the same staff id twice."""


class SessionStateError(ConfirmationError):
    """A step was asked for out of order (review before the teller, a step after the record)."""


class AuditStoreError(ConfirmationError):
    """The audit store could not be opened, read or appended to (the message says what to check)."""


class TemplateSealError(ConfirmationError):
    """A sealed template does not open: wrong template key, wrong customer id, or altered bytes."""
