"""Sealed fingerprint templates: AES-256-GCM under the workstation's template key.

A template leaves the module only sealed: ``blob = nonce (12 bytes) || ciphertext+tag`` with the
customer id (UTF-8) as associated data, so a blob moved to another customer's row does not open.
This is what the bank's system keeps (and what :class:`~.store.AuditStore` keeps in its
``customer_templates`` table); the clear template exists only in memory, on its way to the
module for a 1:1 verify.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from drivers.confirmation.errors import TemplateSealError
from drivers.fingerprint import Template
from protocol.errors import ConfigurationError

__all__ = ["TemplateVault"]

_NONCE = 12


class TemplateVault:
    """Seal and open templates with one AES-256 key (``AuditConfig.template_key``)."""

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != 32:
            raise ConfigurationError("the template key is 32 bytes (AES-256)")
        self._aead = AESGCM(key)
        #: names the key without revealing it (kept next to each sealed template)
        self.key_id = "tk-" + hashlib.sha256(b"tactile template key id\n" + key).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"<TemplateVault {self.key_id}>"

    @staticmethod
    def _aad(customer: str) -> bytes:
        if not isinstance(customer, str) or not customer.strip():
            raise ConfigurationError("a sealed template is bound to a customer id (a non-empty string)")
        return customer.encode("utf-8")

    def seal(self, template: Template | bytes, customer: str) -> bytes:
        """``nonce || AES-GCM(template)`` bound to ``customer``."""
        data = bytes(template)
        if not data:
            raise ConfigurationError("there is no template to seal (0 bytes)")
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, data, self._aad(customer))

    def open(self, blob: bytes, customer: str) -> Template:
        """The template sealed in ``blob`` for ``customer``; TemplateSealError if it does not open."""
        blob = bytes(blob)
        if len(blob) <= _NONCE + 16:
            raise TemplateSealError(f"a sealed template is longer than {_NONCE + 16} bytes; "
                                    f"this one has {len(blob)}")
        try:
            data = self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], self._aad(customer))
        except InvalidTag:
            raise TemplateSealError(
                f"the sealed template does not open for customer {customer!r}: it was sealed "
                "with another template key or for another customer, or its bytes were altered"
            ) from None
        return Template(data)
