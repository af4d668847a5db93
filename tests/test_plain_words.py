"""Plain words: nothing an admin sees speaks of the project's own history.

Every Python string literal in the product (``pfwizard/``, ``tui/``, ``screens/``: messages,
help, risk text, recipe titles, what pfwizard writes into files; docstrings are for developers
and never shown) and every file under ``assets/`` is scanned for words that mean something only to
pfwizard's authors: the field reports it was built from ("seed 000"), issue numbers, an
internal project name, "gate".  Finding codes (``open-relay``) stay ids for ``--json`` and
tests, never a title in what an admin reads.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pfwizard.findings import Finding, Severity

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("pfwizard", "tui", "screens")

HISTORY = re.compile(
    r"\bseed"  # the field reports ("seed 000", "the seeds")
    r"|\bissues?\s+#?\d+"  # "issue 7", "issues 6, 7"
    r"|\btuix\b"  # an internal project name
    r"|\bgat(e|es|ed|ing)\b",  # the engine's word for its safety check
    re.IGNORECASE,
)


def python_strings(path: Path) -> list[tuple[int, str]]:
    """Every string the code can show or write; a string that is a statement by itself (a
    docstring, an attribute's doc) is documentation for developers, never shown."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docs = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


def product_files() -> list[Path]:
    return sorted(
        p for d in PRODUCT for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts
    )


def asset_files() -> list[Path]:
    return sorted(
        p for p in (ROOT / "assets").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )


def hits(where: str, lineno: int, text: str) -> list[str]:
    return [
        f"{where}:{lineno}: {m.group(0)!r} in {text.strip()[:90]!r}" for m in HISTORY.finditer(text)
    ]


def test_the_scanner_sees_the_product():
    assert len(product_files()) > 80 and len(asset_files()) > 5
    assert hits("x", 1, "Recipe (seed 000)") and hits("x", 1, "tuix hook (issues 6, 7)")
    assert hits("x", 1, "blocked by the gate") and not hits("x", 1, "aggregate, investigate")


def test_no_project_history_in_python_strings():
    found = []
    for path in product_files():
        for lineno, text in python_strings(path):
            found += hits(str(path.relative_to(ROOT)), lineno, text)
    assert found == [], "\n".join(found)


def test_no_project_history_in_assets():
    found = []
    for path in asset_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary: nothing an admin reads
        for lineno, line in enumerate(text.splitlines(), 1):
            found += hits(str(path.relative_to(ROOT)), lineno, line)
    assert found == [], "\n".join(found)


FINDINGS = [
    Finding(
        "open-relay",
        Severity.DANGER,
        "anyone can send mail through this server",
        "smtpd_relay_restrictions",
        "permit",
        0,
        acceptable=False,
    ),
    Finding(
        "miab-hits-authenticated",
        Severity.CAUTION,
        "logged-in users are checked too",
        "smtpd_sender_restrictions",
        "check_sender_access hash:/etc/postfix/x",
        1,
    ),
    Finding("glued-lines", Severity.CAUTION, "two lines were glued together"),
]


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.code)
def test_finding_codes_are_never_titles(finding):
    from pfwizard.commands.check import format_finding
    from pfwizard.tui.widgets.risk_panel import findings_text

    for shown in (
        str(finding),
        format_finding(finding),
        format_finding(finding, True),
        findings_text([finding]).plain,
    ):
        assert finding.code not in shown, shown
        assert finding.message in shown and finding.severity.value.upper() in shown
