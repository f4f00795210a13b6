"""placeholder"""

from __future__ import annotations

import json
from functools import cache


def document() -> dict:
    return {"openapi": "3.0.3"}


@cache
def document_bytes() -> bytes:
    return json.dumps(document()).encode()
