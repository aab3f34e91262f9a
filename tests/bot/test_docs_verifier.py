"""The signature verifier docs/agents.md gives agents works on what Council sends, rotation included."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from bot import keys

DOC = Path(__file__).resolve().parents[2] / "docs" / "agents.md"


def _documented_verifier() -> Any:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    [code] = [block for block in blocks if "def verify_signature" in block]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation's code
    return namespace["verify_signature"]


def test_the_documented_verifier_accepts_either_secret_during_a_rotation() -> None:
    verify = _documented_verifier()
    old, new, body = "whsec_old", "whsec_new", b'{"id":"evt_1"}'
    one = keys.sign(new, body)
    assert verify(new, body, one) and not verify(old, body, one)
    both = keys.sign([old, new], body)
    assert verify(old, body, both) and verify(new, body, both)
    assert not verify("whsec_other", body, both)
    assert not verify(new, body + b" ", both)
    stale = keys.sign(new, body, timestamp=int(time.time()) - 301)
    assert not verify(new, body, stale)
    assert not verify(new, body, "v1=abc") and not verify(new, body, "")


def test_the_documented_verifier_says_false_to_any_malformed_header() -> None:
    """A receiver built on it answers a malformed header with its 401, never with a 500."""
    verify = _documented_verifier()
    secret, body = "whsec_new", b'{"id":"evt_1"}'
    now = int(time.time())
    good = keys.sign(secret, body, timestamp=now)
    digits = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")  # Arabic-Indic: int() reads them
    malformed = [
        f"t={now},junk",
        "t=abc,v1=x",
        "v1=x",
        "",
        ",",
        "=",
        f"t={now},v1=",
        f"t={now}",
        f"t=1,{good}",  # two timestamps: which was signed is unclear
        "t=" + "9" * 400 + ",v1=x",  # too large for a float: OverflowError
        "t=" + "9" * 5000 + ",v1=x",  # over int()'s digit limit: ValueError
        f"t={now}.5,v1=x",
        f"t=-{now},v1=x",
        f"t={now},v1=é",
        f"t={now},v1=\udcff",  # aiohttp decodes a header's stray byte as a lone surrogate
        good.replace(f"t={now}", f"t={str(now).translate(digits)}"),
        good.replace("v1=", "v1=é"),
    ]
    for header in malformed:
        assert verify(secret, body, header) is False, header
    assert verify(secret, body, good) is True
    # A part it does not know is skipped, as bot.client's verifier skips it: the signature still decides.
    assert verify(secret, body, f"junk,{good},v2=later") is True
    assert verify(secret, body, f" {good.replace(',', ' , ')} ") is True
