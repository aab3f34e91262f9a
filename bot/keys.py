"""Secrets: agent API keys (stored hashed), callback signing secrets and their signatures."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from bot.settings import Settings

API_KEY_PREFIX = "ck_"
SIGNATURE_HEADER = "Council-Signature"


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


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """Return the Council-Signature header value `t=UNIX,v1=HEX` for a callback body."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, tolerance: int = 300) -> bool:
    """Check a Council-Signature header the way an agent should (documented in docs/agents.md)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        t = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - t) > tolerance:
        return False
    expected = sign(secret, body, timestamp=t).split(",", 1)[1]
    return hmac.compare_digest(expected, f"v1={fields.get('v1', '')}")


def load_server_key(settings: Settings) -> bytes:
    """Return the server key: COUNCIL_SECRET_KEY, else a key file created once with mode 0600."""
    if settings.council_secret_key is not None:
        return settings.council_secret_key.get_secret_value().encode()
    path: Path = settings.council_secret_key_file
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
