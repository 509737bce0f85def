"""The terminal rules every output follows: colour only on a terminal, never with NO_COLOR."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping


def use_color(stream: object = None, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).

    `--no-color` sets NO_COLOR for the run, so rich's consoles (which read it) agree.
    """
    stream = sys.stdout if stream is None else stream
    environ = os.environ if environ is None else environ
    isatty = getattr(stream, "isatty", None)
    return bool(callable(isatty) and isatty()) and not environ.get("NO_COLOR")
