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
