"""Workstation keys for the confirmation workflow: where they come from and how they are kept.

A counter workstation holds two secrets:

* an **Ed25519 signing key**: it signs every audit record and checkpoint of the workstation's
  chain; its public key goes into the audit store, so anyone can verify;
* an **AES-256 template key**: fingerprint templates leave the module only sealed with it
  (AES-GCM, the customer id as associated data; see :mod:`.templates`).

They come from a JSON file (the bank's provisioning writes it; ``tactile audit keygen`` writes a
fresh one for a test counter)::

    {
      "workstation": "BR0107-C03",
      "signing_key": "base64 of the 32-byte Ed25519 private key",
      "template_key": "base64 of the 32-byte AES-256 key",
      "key_name": "tactile-audit/BR0107-C03"
    }

Instead of ``signing_key`` / ``template_key`` the file may name files holding them:
``signing_key_file`` (a PEM PKCS#8 Ed25519 key, or base64 of the raw 32 bytes) and
``template_key_file`` (base64 or hex of the 32 bytes); relative paths are relative to the
config file.  ``key_name`` (optional) names the key in checkpoints; default
``tactile-audit/<workstation>``.

The CLI reads ``--config FILE``, else ``$TACTILE_AUDIT_CONFIG``, else
``$XDG_CONFIG_HOME/tactile/audit.json`` (``~/.config/tactile/audit.json``).  The file must not be
readable by other users (mode 0600); a wider mode is refused with a message saying so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.errors import ConfigurationError

__all__ = ["AuditConfig", "CONFIG_ENV", "default_config_path", "key_id_for", "public_key_bytes"]

#: environment variable naming the config file
CONFIG_ENV = "TACTILE_AUDIT_CONFIG"

_WORKSTATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def default_config_path() -> Path:
    """``$TACTILE_AUDIT_CONFIG``, else ``$XDG_CONFIG_HOME/tactile/audit.json``."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "tactile" / "audit.json"


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_for(public_key: bytes) -> str:
    """The key id records name: the first 16 bytes of SHA-256 of the raw public key, in hex."""
    return hashlib.sha256(public_key).hexdigest()[:32]


def check_workstation(workstation: object) -> str:
    if not isinstance(workstation, str) or not _WORKSTATION.match(workstation):
        raise ConfigurationError(
            f"a workstation id is 1-64 letters, digits, '.', '_' or '-' (starting with a letter "
            f"or digit), such as BR0107-C03; not {workstation!r}")
    return workstation


@dataclass(frozen=True)
class AuditConfig:
    """The workstation's identity and keys (see the module docstring for the file format)."""

    workstation: str
    signing_key: Ed25519PrivateKey = field(repr=False)
    template_key: bytes = field(repr=False)
    key_name: str = ""

    def __post_init__(self) -> None:
        check_workstation(self.workstation)
        if not isinstance(self.signing_key, Ed25519PrivateKey):
            raise ConfigurationError("signing_key must be an Ed25519 private key")
        if not isinstance(self.template_key, bytes) or len(self.template_key) != 32:
            raise ConfigurationError("template_key must be 32 bytes (AES-256)")
        name = self.key_name or f"tactile-audit/{self.workstation}"
        if any(c.isspace() for c in name) or "+" in name:
            raise ConfigurationError(f"key_name {name!r} may not hold spaces or '+' "
                                     "(C2SP signed-note key names)")
        object.__setattr__(self, "key_name", name)

    # ------------------------------------------------------------------ derived
    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key (what the store keeps)."""
        return public_key_bytes(self.signing_key.public_key())

    @property
    def key_id(self) -> str:
        return key_id_for(self.public_key)

    # ------------------------------------------------------------------ making and loading
    @classmethod
    def generate(cls, workstation: str, *, key_name: str = "") -> "AuditConfig":
        """Fresh random keys (a test counter, the demo, the tests)."""
        return cls(workstation, Ed25519PrivateKey.generate(), os.urandom(32), key_name)

    def to_json(self) -> str:
        raw = self.signing_key.private_bytes(serialization.Encoding.Raw,
                                             serialization.PrivateFormat.Raw,
                                             serialization.NoEncryption())
        return json.dumps({
            "workstation": self.workstation,
            "signing_key": base64.b64encode(raw).decode(),
            "template_key": base64.b64encode(self.template_key).decode(),
            "key_name": self.key_name,
        }, indent=2) + "\n"

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the config file with mode 0600 (refuses to replace one unless ``overwrite``)."""
        target = Path(path).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        try:
            fd = os.open(target, flags, 0o600)
        except FileExistsError:
            raise ConfigurationError(f"{target} already exists; keys are not replaced silently "
                                     "(move it away first, or pass overwrite)") from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())
        os.chmod(target, 0o600)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> "AuditConfig":
        """Read a config file (default: :func:`default_config_path`)."""
        target = Path(path).expanduser() if path is not None else default_config_path()
        try:
            mode = target.stat().st_mode
            text = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigurationError(
                f"no audit key configuration at {target}. Pass --config FILE or set "
                f"${CONFIG_ENV}; `tactile audit keygen --workstation ID` writes one for a test "
                "counter") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"cannot read the audit configuration {target}: {exc}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigurationError(
                f"{target} holds signing keys but other users may read it (mode "
                f"{stat.S_IMODE(mode):03o}); run `chmod 600 {target}`")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{target} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"{target} must hold a JSON object")
        return cls.from_dict(data, base=target.parent, source=str(target))

    @classmethod
    def from_dict(cls, data: dict, *, base: Path | None = None, source: str = "config") -> "AuditConfig":
        known = {"workstation", "signing_key", "signing_key_file", "template_key",
                 "template_key_file", "key_name"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(f"{source}: unknown field(s) {', '.join(unknown)}; known: "
                                     + ", ".join(sorted(known)))
        if "workstation" not in data:
            raise ConfigurationError(f"{source}: 'workstation' is missing")
        signing = _secret(data, "signing_key", base, source)
        template = _secret(data, "template_key", base, source)
        key = _ed25519(signing, source)
        template_key = _raw32(template, f"{source}: template_key")
        return cls(check_workstation(data["workstation"]), key, template_key,
                   str(data.get("key_name") or ""))


def _secret(data: dict, name: str, base: Path | None, source: str) -> bytes:
    inline, path = data.get(name), data.get(f"{name}_file")
    if (inline is None) == (path is None):
        raise ConfigurationError(f"{source}: give exactly one of '{name}' and '{name}_file'")
    if inline is not None:
        if not isinstance(inline, str):
            raise ConfigurationError(f"{source}: '{name}' must be a base64 string")
        return inline.strip().encode()
    file = Path(str(path)).expanduser()
    if not file.is_absolute() and base is not None:
        file = base / file
    try:
        return file.read_bytes().strip()
    except OSError as exc:
        raise ConfigurationError(f"{source}: cannot read {name}_file {file}: {exc}") from None


def _raw32(text: bytes, what: str) -> bytes:
    value: bytes | None = None
    if re.fullmatch(rb"[0-9a-fA-F]{64}", text):
        value = bytes.fromhex(text.decode())
    else:
        try:
            value = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            value = None
    if value is None or len(value) != 32:
        raise ConfigurationError(f"{what} must be 32 bytes in base64 or hex")
    return value


def _ed25519(text: bytes, source: str) -> Ed25519PrivateKey:
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"{source}: the signing key PEM does not load: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{source}: the signing key is not an Ed25519 key")
        return key
    return Ed25519PrivateKey.from_private_bytes(_raw32(text, f"{source}: signing_key"))
