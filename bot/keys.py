"""Secrets: agent API keys (stored hashed), callback signing secrets and their signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bot.client.signature import standard_key, verify_signature
from bot.settings import InvalidSetting, Settings

API_KEY_PREFIX = "ck_"
SIGNATURE_HEADER = "Council-Signature"
# Standard Webhooks (standardwebhooks.com): any language's library verifies these with the same secret.
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
# 32 characters: 128 bits as hex, the least a key that signs every agent's callbacks should carry.
MIN_SERVER_KEY_CHARS = 32
MAKE_KEY = "python3 -c 'import secrets; print(secrets.token_hex(32))'"
KEY_FILE = "COUNCIL_SECRET_KEY_FILE"
RESTORE = (
    "restore the key from your backup, or delete the file to have a new one made "
    "(then `council agent rotate` each agent)"
)
log = logging.getLogger(__name__)


def new_api_key() -> str:
    """Return a fresh random API key (256 bits)."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """Return the stored form of an API key; a plain digest suffices for 256-bit random keys."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


def signing_secret(server_key: bytes, salt: str) -> str:
    """Derive an agent's callback signing secret; only the salt is stored."""
    return "whsec_" + hmac.new(server_key, salt.encode(), hashlib.sha256).hexdigest()


def signing_secrets(
    server_key: bytes, salt: str, *, previous: str | None, previous_until: datetime | None, now: datetime
) -> list[str]:
    """The secrets a callback is signed with now: during a rotation's grace the old one, then the new."""
    current = signing_secret(server_key, salt)
    if previous and previous_until and previous_until > now:
        return [signing_secret(server_key, previous), current]
    return [current]


def sign(secret: str | list[str], body: bytes, *, timestamp: int | None = None) -> str:
    """Return the Council-Signature header value `t=UNIX,v1=HEX` for a callback body.

    Given several secrets (a rotation's grace period: the old one, then the new), one `v1=` each,
    in that order; a receiver accepts the request when any of them matches its secret.
    """
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + body
    secrets_ = [secret] if isinstance(secret, str) else secret
    digests = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets_]
    return ",".join([f"t={t}", *(f"v1={d}" for d in digests)])


def sign_standard(secret: str | list[str], body: bytes, *, event_id: str, timestamp: int) -> str:
    """Return the Standard Webhooks `webhook-signature` value: `v1,BASE64` per secret, space-separated."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    secrets_ = [secret] if isinstance(secret, str) else secret
    digests = [hmac.new(standard_key(s), signed, hashlib.sha256).digest() for s in secrets_]
    return " ".join("v1," + base64.b64encode(d).decode() for d in digests)


def signature_headers(
    secret: str | list[str], body: bytes, *, event_id: str, timestamp: int | None = None
) -> dict[str, str]:
    """Return the headers that sign one delivery both ways, Council-Signature and Standard Webhooks."""
    t = int(time.time()) if timestamp is None else timestamp
    return {
        SIGNATURE_HEADER: sign(secret, body, timestamp=t),
        STANDARD_ID_HEADER: event_id,
        STANDARD_TIMESTAMP_HEADER: str(t),
        STANDARD_SIGNATURE_HEADER: sign_standard(secret, body, event_id=event_id, timestamp=t),
    }


def verify(secret: str, body: bytes, header: str, *, tolerance: int = 300) -> bool:
    """Check a Council-Signature header the way an agent does, with the client's verifier."""
    try:
        verify_signature({SIGNATURE_HEADER: header}, body, secret, tolerance)
    except ValueError:  # InvalidSignature, or a signed body that is not JSON
        return False
    return True


def load_server_key(settings: Settings) -> bytes:
    """Return the server key: COUNCIL_SECRET_KEY, else the key file, which is created once if missing."""
    if settings.council_secret_key is not None:
        key = settings.council_secret_key.get_secret_value()
        # Checked stripped but used as given, so a key that worked before derives the same secrets.
        if (weak := _weakness(key.strip())) is not None:
            raise InvalidSetting("COUNCIL_SECRET_KEY", f"{weak}: make one with `{MAKE_KEY}`")
        return key.encode()
    path: Path = settings.council_secret_key_file
    kept = _read_key_file(path)
    return (kept if kept is not None else _create_key_file(path)).encode()


def _weakness(key: str) -> str | None:
    """Say what is wrong with a server key, or None when it is long enough."""
    if len(key) >= MIN_SERVER_KEY_CHARS:
        return None
    state = f"too short ({len(key)} characters)" if key else "empty"
    return f"is {state}; a server key needs at least {MIN_SERVER_KEY_CHARS} characters"


def _read_key_file(path: Path) -> str | None:
    """Return the key kept in the file, or None when there is no file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise InvalidSetting(KEY_FILE, f"{path} is not text: {RESTORE}") from None
    except OSError as error:
        raise InvalidSetting(KEY_FILE, f"{path} cannot be read: {error.strerror}") from None
    key = text.strip()
    if (weak := _weakness(key)) is not None:
        raise InvalidSetting(KEY_FILE, f"{path} {weak}: {RESTORE}")
    return key


def _create_key_file(path: Path) -> str:
    """Make a random key file, or return the one another process made first."""
    key = secrets.token_hex(32)
    try:
        made = _publish(path, key)
    except OSError as error:
        raise InvalidSetting(
            KEY_FILE, f"{path} cannot be created: {error.strerror}; set COUNCIL_SECRET_KEY instead"
        ) from None
    if not made:
        theirs = _read_key_file(path)
        if theirs is None:  # It exists for link() but not for open(): a dangling symlink.
            raise InvalidSetting(
                KEY_FILE, f"{path} is a link to nothing; remove it, or set COUNCIL_SECRET_KEY"
            )
        return theirs
    log.warning("created a new server key in %s (mode 0600); keep it and back it up", path)
    return key


def _publish(path: Path, key: str) -> bool:
    """Write the key beside the path, then link it into place; False when the path already exists.

    link() never replaces, so when replicas start together the first one's key is the only one, and
    nobody can read a half-written file. mkstemp makes the file readable by its owner only.
    """
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            return False
        _fsync_folder(path.parent)
        return True
    finally:
        os.unlink(temp)


def _fsync_folder(folder: Path) -> None:
    """Make the new name durable, so a crash cannot forget a key that agents already use."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
