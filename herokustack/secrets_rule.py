"""The rule that says a literal config value (or drain URL) looks like a secret.

Both `herokustack check` (HS011, a literal secret in a stack file) and the planner (a live value
that may be a secret is hidden from the plan) use it, as does `import` (no secret is written into
a file without --force); it lives here so that none of them imports another for it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|_KEY$|^KEY$", re.IGNORECASE)
TOKEN_PREFIXES: dict[str, str] = {
    "sk_live_": "Stripe secret key",
    "rk_live_": "Stripe restricted key",
    "sk_test_": "Stripe test key",
    "whsec_": "Stripe webhook secret",
    "ghp_": "GitHub token",
    "gho_": "GitHub token",
    "ghs_": "GitHub token",
    "ghu_": "GitHub token",
    "github_pat_": "GitHub token",
    "glpat-": "GitLab token",
    "xoxb-": "Slack token",
    "xoxp-": "Slack token",
    "xoxa-": "Slack token",
    "AKIA": "AWS access key",
    "ASIA": "AWS access key",
    "AIza": "Google API key",
    "SG.": "SendGrid key",
    "sk-ant-": "Anthropic key",
    "sk-proj-": "OpenAI key",
    "npm_": "npm token",
    "pypi-": "PyPI token",
    "shpat_": "Shopify token",
    "-----BEGIN": "private key",
}
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", re.IGNORECASE)
HEX = re.compile(r"^[0-9a-fA-F]{32,}$")


def secret_reason(name: str, value: object) -> str | None:
    """Why a literal config value looks like a secret (never quoting it), or None."""
    if not isinstance(value, str) or not value.strip():  # a from_env table is no literal
        return None
    if SECRET_NAME.search(name) and not _setting_value(value):
        return "whose name looks like a secret"
    for prefix, label in TOKEN_PREFIXES.items():
        if value.startswith(prefix) and len(value) >= len(prefix) + 8:
            return f"with {'an' if label[0] in 'AEIOU' else 'a'} {label} prefix"
    if URL_WITH_PASSWORD.match(value):
        return "URL with an embedded password"
    if _high_entropy(value):
        return "with a high-entropy value"
    return None


SWITCH_WORDS = frozenset({"true", "false", "yes", "no", "on", "off"})


def _setting_value(value: str) -> bool:
    # TOKEN_TTL = "3600" or SECRET_ROTATION = "off" tune a secret's handling; they are not one.
    word = value.strip().lower()
    return len(word) <= 5 and (word.isdigit() or word in SWITCH_WORDS)


def shannon_entropy(text: str) -> float:
    """Bits per character of `text`'s own character distribution."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _high_entropy(value: str) -> bool:
    if len(value) < 20 or any(c.isspace() for c in value) or "://" in value:
        return False
    if HEX.match(value.replace("-", "")):
        return shannon_entropy(value) >= 3.0
    classes = sum(any(test(c) for c in value) for test in (str.islower, str.isupper, str.isdigit))
    return classes == 3 and shannon_entropy(value) >= 3.5


def url_secret_reason(url: str) -> str | None:
    """Why a literal URL (a log drain's) looks like it holds credentials, or None: a user or
    password before the host, or a path segment or query value that looks like a token (by
    its parameter's name, a token prefix or its entropy). Never quotes the URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.username or parts.password:
        return "credentials (user:password@)"
    query = parse_qsl(parts.query, keep_blank_values=True)
    pieces = [(name, value) for name, value in query] + [("", s) for s in parts.path.split("/")]
    if any(value and secret_reason(name, value) for name, value in pieces):
        return "a token in its path or query"
    return None
