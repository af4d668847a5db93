"""Beside a chain: the highlighted entry's risk, then the analyser's findings for the config.

Severity is always spelt out (``X DANGER``, ``! CAUTION``, ``i INFO``), colour only helps.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from pfwizard.findings import Finding, Severity
from pfwizard.tui.theme import SEVERITY_STYLE
from pfwizard.tui.wrap import WrappedStatic


def findings_text(
    findings: list[Finding], accepted: set[Finding] | None = None, empty: str = "No findings."
) -> Text:
    text = Text()
    if not findings:
        text.append(empty + "\n")
    for f in sorted(findings, key=lambda f: -f.severity.rank):
        label = f"{f.severity.symbol} {f.severity.value.upper()}"
        text.append(label, style=SEVERITY_STYLE[f.severity.value])
        where = f.parameter.replace("smtpd_", "") if f.parameter else ""
        if f.entry:
            where += f" [{f.entry}]"
        text.append(f" in {where}\n" if where else "\n")
        text.append(f"  {f.message}\n")
        if accepted is not None and f in accepted:
            text.append("  (accepted by you)\n", style="italic")
        if not f.acceptable:
            text.append("  Cannot be accepted: fix it.\n", style="bold")
    return text


class RiskPanel(VerticalScroll, can_focus=True):
    """Scrollable; focus it with tab to read long findings."""

    HELP = (
        "The risk panel: the highlighted entry's risk, then the analyser's findings on "
        "this stage's lists, judged on the whole configuration as it will be after Apply "
        "(order bypasses across lists included).  X DANGER blocks Next until fixed or "
        "accepted (an open relay can never be accepted)."
    )

    def compose(self):  # type: ignore[no-untyped-def]
        # Wrapped between words (or after _ , . /), findings' continuation rows indented
        # under their heading.
        yield WrappedStatic(id="danger", bare=2)
        yield WrappedStatic(id="entry-risk")
        yield WrappedStatic(id="findings", bare=2)

    _shown: dict[str, str] | None = None

    def show(self, entry: str, findings: list[Finding], accepted: set[Finding]) -> None:
        # Danger first: a blocking finding must never hide below a long entry description.
        danger = [f for f in findings if f.severity is Severity.DANGER]
        rest = [f for f in findings if f.severity is not Severity.DANGER]
        # This stage's lists only (other stages have their own); the analysis behind them
        # covers the whole configuration as it will be after Apply.
        # The heading alone is bold: a Text's own style would cover everything appended.
        body = Text()
        body.append("Findings for this stage", style="bold")
        body.append("\n")
        body.append_text(
            findings_text(rest, accepted, empty="No other findings." if danger else "No findings.")
        )
        parts = {
            "#danger": findings_text(danger, accepted) if danger else Text(),
            "#entry-risk": Text(entry),
            "#findings": body,
        }
        shown = self._shown or {}
        # Only what reads differently is redrawn: a move shifts findings' positions but
        # rarely their words, and every update costs a re-layout.
        for selector, text in parts.items():
            key = text.markup
            if shown.get(selector) == key:
                continue
            shown[selector] = key
            static = self.query_one(selector, Static)
            static.update(text)
            static.display = bool(text.plain) or selector == "#findings"
        self._shown = shown
