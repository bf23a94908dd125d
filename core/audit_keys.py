"""The audit key ring: the secret the audit chain and its checkpoints are keyed with.

Where the key comes from:
- `CREDITDESK_AUDIT_SECRET` (≥ 32 characters) signs new events; `CREDITDESK_AUDIT_PREVIOUS_SECRETS` (a JSON list)
  holds retired keys that still verify the events they signed. Every event records the id of its key, so rotating
  is: move the current secret into the previous list, set a new one, write a checkpoint.
- Otherwise, in the embedded deployment only, a key file (`CREDITDESK_AUDIT_KEY_FILE`, default
  `<data dir>/audit.key`): 64 random hex characters generated once with 0600 permissions, never in the database.
- In production (`CREDITDESK_DEPLOYMENT=production`) nothing is generated: the secret (or an existing key file
  named explicitly) must be configured, else writing or verifying refuses with a clear error.

A key's id is derived from the key itself, so an event can never claim a key it was not signed with.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import CreditDeskError, ErrorCode
from core.settings import Settings, get_settings

MIN_SECRET_LENGTH = 32


def key_id_for(secret: bytes) -> str:
    return "k" + hashlib.sha256(b"creditdesk-audit-key-id\x00" + secret).hexdigest()[:15]


@dataclass(frozen=True)
class AuditKey:
    key_id: str
    secret: bytes = field(repr=False)

    def mac(self, domain: bytes, message: bytes) -> str:
        return hmac.new(self.secret, domain + b"\x00" + message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AuditKeyRing:
    current: AuditKey
    keys: dict[str, AuditKey]
    source: str  # where the current key came from, for messages (never the key itself)

    def get(self, key_id: str | None) -> AuditKey | None:
        return self.keys.get(key_id or "")

    @classmethod
    def of(cls, current: bytes, *previous: bytes, source: str = "explicit") -> AuditKeyRing:
        keys = {key_id_for(secret): AuditKey(key_id_for(secret), secret) for secret in (*previous, current)}
        return cls(keys[key_id_for(current)], keys, source)


def _not_configured(message: str) -> CreditDeskError:
    return CreditDeskError(ErrorCode.NOT_CONFIGURED, message)


def _secret_bytes(value: str, what: str) -> bytes:
    value = value.strip()
    if len(value) < MIN_SECRET_LENGTH:
        raise _not_configured(
            f"{what} is too short: use at least {MIN_SECRET_LENGTH} random characters "
            '(e.g. `python -c "import secrets; print(secrets.token_hex(32))"`)'
        )
    return value.encode("utf-8")


def _read_key_file(path: Path) -> bytes:
    info = path.stat()
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise _not_configured(f"the audit key file {path} is readable by other users: run `chmod 600 {path}`")
    return _secret_bytes(path.read_text(encoding="utf-8"), f"the audit key file {path}")


def _create_key_file(path: Path) -> bytes:
    """Write a fresh key atomically: a temporary file is linked into place, so a concurrent creator either wins or
    reads the complete file the other one wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process created it first: use theirs
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read_key_file(path)


def key_file_path(settings: Settings) -> Path:
    return settings.audit_key_file or settings.data_dir / "audit.key"


def load_audit_keys(settings: Settings | None = None, *, create: bool = False) -> AuditKeyRing:
    """The configured key ring. `create` (writers only) generates the embedded key file on first use; verifying
    never creates a key, so a lost key is reported instead of silently replaced."""
    settings = settings or get_settings()
    previous = [
        _secret_bytes(item.get_secret_value(), "a key in CREDITDESK_AUDIT_PREVIOUS_SECRETS")
        for item in settings.audit_previous_secrets
    ]
    if settings.audit_secret is not None:
        current = _secret_bytes(settings.audit_secret.get_secret_value(), "CREDITDESK_AUDIT_SECRET")
        return AuditKeyRing.of(current, *previous, source="CREDITDESK_AUDIT_SECRET")
    path = key_file_path(settings)
    production = settings.deployment == "production"
    if production and settings.audit_key_file is None:
        raise _not_configured(
            "the audit secret is not configured: set CREDITDESK_AUDIT_SECRET (≥ 32 random characters) or "
            "CREDITDESK_AUDIT_KEY_FILE; production deployments never generate a key"
        )
    if path.exists():
        return AuditKeyRing.of(_read_key_file(path), *previous, source=str(path))
    if create and not production:
        return AuditKeyRing.of(_create_key_file(path), *previous, source=str(path))
    raise _not_configured(
        f"the audit key file {path} does not exist: set CREDITDESK_AUDIT_SECRET or restore the key file "
        "(without the key the audit chain cannot be verified)"
    )
