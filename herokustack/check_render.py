"""Renderers for `herokustack check` findings: text, JSON, Markdown and SARIF 2.1.0.

Each returns a string. Paths are shown relative to the repository root so that the same
output reads the same on a laptop, in CI and in GitHub code scanning.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from urllib.parse import quote

from herokustack import __version__
from herokustack.checks import RULES, SEVERITY_RANK, Finding, Rule
from herokustack.markdown import code_cell
from herokustack.render import use_color as want_color

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
ANSI = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
BOLD, RESET = "\033[1m", "\033[0m"
SARIF_TAGS = {"HS006": ("security",), "HS011": ("security",), "HS012": ("security",)}
MARKDOWN_ICON = {"error": "🔴", "warning": "🟡", "info": "🔵"}


def repo_root(start: Path | None = None) -> Path:
    """The nearest directory above `start` (default: cwd) holding `.git`, else cwd."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return Path.cwd().resolve()


def relative_uri(path: Path, root: Path | None = None) -> str:
    """`path` relative to the repository root, with forward slashes."""
    absolute = path.resolve()
    base = root or repo_root(absolute.parent)
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        return absolute.as_posix()


def artifact_uri(path: Path, root: Path | None = None) -> str:
    """A SARIF artifact URI: percent-encoded and relative to the repository root (what GitHub
    code scanning matches against its checkout), or an absolute file:// URI outside it."""
    place = relative_uri(path, root)
    return path.resolve().as_uri() if place.startswith("/") else quote(place)


def _active(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.suppressed is None]


def summary(findings: Sequence[Finding]) -> str:
    """`2 errors, 1 warning, 0 info (1 suppressed)`."""
    active = _active(findings)
    counts = {s: sum(f.severity == s for f in active) for s in SEVERITY_RANK}
    parts = [
        f"{counts['error']} error{'s' * (counts['error'] != 1)}",
        f"{counts['warning']} warning{'s' * (counts['warning'] != 1)}",
        f"{counts['info']} info",
    ]
    hidden = len(findings) - len(active)
    return ", ".join(parts) + (f" ({hidden} suppressed)" if hidden else "")


def _where(f: Finding, root: Path | None) -> str:
    place = relative_uri(f.path, root)
    return f"{place}:{f.line}" if f.line else place


# --- text -----------------------------------------------------------------------------------


def render_text(
    findings: Sequence[Finding], *, color: bool = False, root: Path | None = None
) -> str:
    """Findings grouped per app, worst first; ANSI colours by severity when `color`."""
    active = _active(findings)
    if not active:
        return f"No findings. {summary(findings)}\n"

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    lines: list[str] = []
    for app, group in groupby(sorted(active, key=lambda f: f.app), key=lambda f: f.app):
        items = sorted(group, key=lambda f: (SEVERITY_RANK[f.severity], f.rule_id, f.line or 0))
        home = items[0].stack_path or Counter(f.path for f in items).most_common(1)[0][0]
        lines.append(paint(f"{app}  ({relative_uri(home, root)})", BOLD))
        shown: set[str] = set()
        for f in items:
            label = paint(f"{f.severity:<7}", ANSI[f.severity])
            lines.append(f"  {label} {f.rule_id}  {_where(f, root)}  {f.message}")
            if f.rule_id not in shown:  # one fix per rule and app is enough
                lines.append(f"{'':17}fix: {RULES[f.rule_id].fix}")
                shown.add(f.rule_id)
        lines.append("")
    lines.append(summary(findings))
    return "\n".join(lines) + "\n"


def render_rule_list() -> str:
    """`herokustack check --list`: every rule with ID, severity, title and why."""
    lines: list[str] = []
    for r in RULES.values():
        severity = r.severity + (f" ({r.severity_note})" if r.severity_note else "")
        live = "  [--live only]" if r.live_only else ""
        lines += [f"{r.id}  {severity}  {r.title} [{r.scope}]{live}", f"    why: {r.why}", ""]
    return "\n".join(lines)


def render_rules_markdown() -> str:
    """docs/checks.md: every rule with ID, severity, messages, why and fix (from the registry)."""
    lines = [
        "# Production checks",
        "",
        "<!-- Generated from the rule registry (herokustack/checks.py) by",
        "     `herokustack check --list --format markdown > docs/checks.md`; a test keeps it",
        "     in step. Edit the rules, not this file. -->",
        "",
        "`herokustack check [PATHS...]` runs these rules on stack files (and, with `--live`, on",
        "the live apps). Suppress a rule for one app with a comment anywhere in its stack file,",
        "`# herokustack:ignore HS006 -- reason`, or with",
        '`[checks] ignore = [{ id = "HS006", reason = "..." }]`. The reason is required.',
        "",
        "| ID | Severity | Title |",
        "|---|---|---|",
        *(f"| [{r.id}](#{r.id.lower()}) | {r.severity} | {r.title} |" for r in RULES.values()),
    ]
    for r in RULES.values():
        severity = r.severity + (f" ({r.severity_note})" if r.severity_note else "")
        live = " Runs only with `--live`." if r.live_only else ""
        head = f"**{r.title}** — severity: {severity}; environments: {r.scope}.{live}"
        lines += ["", f"## {r.id}", "", head, ""]
        lines += ["Message:", "", *(f"- `{m.replace('`', '')}`" for m in r.messages), ""]
        lines += [f"**Why:** {r.why}", "", f"**Fix:** {r.fix}"]
    return "\n".join(lines) + "\n"


def render_rules_json() -> str:
    rules = [
        {
            "id": r.id,
            "severity": r.severity,
            "severity_note": r.severity_note,
            "title": r.title,
            "environments": r.scope,
            "messages": list(r.messages),
            "why": r.why,
            "fix": r.fix,
            "live_only": r.live_only,
        }
        for r in RULES.values()
    ]
    return json.dumps({"rules": rules}, indent=2) + "\n"


RULE_LISTS = {
    "text": render_rule_list,
    "markdown": render_rules_markdown,
    "json": render_rules_json,
}


# --- JSON -----------------------------------------------------------------------------------


def finding_dict(f: Finding, root: Path | None = None) -> dict[str, object]:
    return {
        "rule_id": f.rule_id,
        "severity": f.severity,
        "title": RULES[f.rule_id].title,
        "app": f.app,
        "path": relative_uri(f.path, root),
        "key_path": f.key_path,
        "line": f.line,
        "message": f.message,
        "fix": RULES[f.rule_id].fix,
        "suppressed": f.suppressed,
    }


def render_json(findings: Sequence[Finding], *, root: Path | None = None) -> str:
    active = _active(findings)
    counts = {s: sum(f.severity == s for f in active) for s in SEVERITY_RANK}
    document = {
        "tool": "herokustack",
        "version": __version__,
        "summary": {**counts, "suppressed": len(findings) - len(active)},
        "findings": [finding_dict(f, root) for f in findings],
    }
    return json.dumps(document, indent=2) + "\n"


# --- Markdown -------------------------------------------------------------------------------


def render_markdown(findings: Sequence[Finding], *, root: Path | None = None) -> str:
    """A short PR-comment section: one table row per active finding."""
    head = "### herokustack check"
    if _active(findings):
        head += f"\n\n**{summary(findings)}**"
    return f"{head}\n\n{markdown_body(findings, root=root)}\n"


def markdown_body(findings: Sequence[Finding], *, root: Path | None = None) -> str:
    """The findings table and how to fix them, without the heading and counts (a plan comment
    says those in its own summary line)."""
    active = _active(findings)
    if not active:
        return f"No findings ({summary(findings)})."
    rows = [
        f"| {MARKDOWN_ICON[f.severity]} {f.severity} | `{f.rule_id}` | {code_cell(f.app)} "
        f"| `{code_cell(_where(f, root))}` | {code_cell(f.message)} |"
        for f in sorted(active, key=lambda f: (SEVERITY_RANK[f.severity], f.app, f.line or 0))
    ]
    table = ["| Severity | Rule | App | Where | Finding |", "|---|---|---|---|---|", *rows]
    rules = sorted({f.rule_id for f in active})
    fixes = [f"- `{rid}` {RULES[rid].title}: {RULES[rid].fix}" for rid in rules]
    body = [*table, "", "<details><summary>How to fix</summary>", "", *fixes, "", "</details>"]
    return "\n".join(body)


# --- SARIF ----------------------------------------------------------------------------------


def _sarif_rule(r: Rule) -> dict[str, object]:
    severity = r.severity + (f"; {r.severity_note}" if r.severity_note else "")
    return {
        "id": r.id,
        "name": "".join(word.capitalize() for word in r.title.replace("-", " ").split()),
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": r.why},
        "help": {
            "text": f"{r.why}\n\nFix: {r.fix}",
            "markdown": f"**{r.title}** (severity: {severity})\n\n{r.why}\n\n**Fix:** {r.fix}",
        },
        "defaultConfiguration": {"level": SARIF_LEVEL[r.severity]},
        "properties": _sarif_properties(r),
    }


def _sarif_properties(r: Rule) -> dict[str, object]:
    tags = SARIF_TAGS.get(r.id, ("reliability",))
    properties: dict[str, object] = {"tags": ["heroku", *tags]}
    if "security" in tags:  # GitHub ranks security alerts by it: 7.0+ high, 4.0+ medium
        properties["security-severity"] = "8.0" if r.severity == "error" else "5.0"
    return properties


def _sarif_result(f: Finding, index: int, root: Path | None) -> dict[str, object]:
    location: dict[str, object] = {"artifactLocation": {"uri": artifact_uri(f.path, root)}}
    location["region"] = {"startLine": f.line or 1}
    fingerprint = hashlib.sha256(f"{f.rule_id}|{f.app}|{f.key_path}".encode()).hexdigest()
    result: dict[str, object] = {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "level": SARIF_LEVEL[f.severity],
        "message": {"text": f"{f.app}: {f.message}"},
        "locations": [
            {
                "physicalLocation": location,
                "logicalLocations": [{"name": f.key_path or f.app, "kind": "member"}],
            }
        ],
        "partialFingerprints": {"herokustackFinding/v1": fingerprint[:32]},
    }
    if f.suppressed is not None:
        result["suppressions"] = [{"kind": "inSource", "justification": f.suppressed}]
    return result


def render_sarif(findings: Sequence[Finding], *, root: Path | None = None) -> str:
    """SARIF 2.1.0: every rule in tool.driver.rules, one result per finding (suppressed marked)."""
    index = {rule_id: i for i, rule_id in enumerate(RULES)}
    run = {
        "tool": {
            "driver": {
                "name": "herokustack",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_sarif_rule(r) for r in RULES.values()],
            }
        },
        "results": [_sarif_result(f, index[f.rule_id], root) for f in findings],
        "columnKind": "unicodeCodePoints",
    }
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2) + "\n"


RENDERERS = {"json": render_json, "markdown": render_markdown, "sarif": render_sarif}


def render(findings: Sequence[Finding], output: str) -> str:
    """`check --format OUTPUT`: text (coloured on a terminal), or one of RENDERERS."""
    if output == "text":
        return render_text(findings, color=want_color())
    return RENDERERS[output](findings)
