"""``check --nagios``: the result as a monitoring plugin says it (Nagios, Icinga, Zabbix's
and Checkmk's plugin runners; the monitoring-plugins guidelines): one status line on stdout,
``PFWIZARD <STATE> - <text> | danger=N caution=N``, and the exit code of that state.

Danger findings are CRITICAL, cautions WARNING, neither OK; a configuration that cannot be
read (or a check that could not run at all) is UNKNOWN: the plugin cannot say, which is not
the same as the mail server being in trouble.
"""

from __future__ import annotations

from collections.abc import Sequence

from pfwizard.findings import Finding, Severity

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
_MAX_TEXT = 200


def _clean(text: str) -> str:
    """One line, no ``|`` (it starts the performance data), not longer than a screen line."""
    text = " ".join(text.replace("|", "/").split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def status(findings: Sequence[Finding], where: str) -> tuple[int, str]:
    """(exit code, status line) for the findings of ``where`` (main.cf's path)."""
    danger = [f for f in findings if f.severity is Severity.DANGER]
    caution = [f for f in findings if f.severity is Severity.CAUTION]
    perf = f"danger={len(danger)} caution={len(caution)}"
    if danger:
        code, first = CRITICAL, danger[0]
    elif caution:
        code, first = WARNING, caution[0]
    else:
        return OK, f"PFWIZARD OK - {where}: no risky restriction | {perf}"
    counts = ", ".join(
        x
        for x in (
            _plural(len(danger), "danger") if danger else "",
            _plural(len(caution), "caution") if caution else "",
        )
        if x
    )
    text = _clean(f"{where}: {counts}; {first.parameter or 'main.cf'}: {first.message}")
    return code, f"PFWIZARD {STATES[code]} - {text} | {perf}"


def unknown(reason: str) -> tuple[int, str]:
    """Nothing could be judged: why, as the one status line."""
    return UNKNOWN, f"PFWIZARD UNKNOWN - {_clean(reason) or 'the check could not run'}"
