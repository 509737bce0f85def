"""Hand-built live state for tests that need no emulator."""

from __future__ import annotations

from typing import Any

from herokustack.facts import LiveAppInfo


def app_info(name: str, **fields: Any) -> LiveAppInfo:
    """A live app in the US on heroku-24, out of maintenance; `fields` override any of that."""
    defaults: dict[str, Any] = {
        "id": "1",
        "region": "us",
        "stack": "heroku-24",
        "build_stack": "heroku-24",
        "maintenance": False,
    }
    return LiveAppInfo(name=name, **(defaults | fields))
