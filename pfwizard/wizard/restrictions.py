"""What the catalogue says about a restriction or a parameter, in the shape the wizard's
lists, risk panel and Add dialog show."""

from __future__ import annotations

from dataclasses import dataclass

from pfwizard import catalogue
from pfwizard.findings import Severity


@dataclass(frozen=True)
class RestrictionInfo:
    """What the wizard shows about a restriction before and after adding it."""

    name: str
    summary: str
    level: Severity | None
    risk: str
    takes_argument: bool
    arg_kind: str = ""


def argument_count(name: str) -> int:
    return catalogue.argument_count(name)


def restriction_info(name: str) -> RestrictionInfo:
    r = catalogue.lookup(name)
    if r is None:
        return RestrictionInfo(
            name,
            "not in pfwizard's catalogue: Postfix may not know it",
            Severity.CAUTION,
            "an unknown name makes every RCPT fail with 451 4.3.5 once evaluation reaches it",
            argument_count(name) > 0,
        )
    return RestrictionInfo(
        r.name, r.summary, r.risk.level, r.risk.text, argument_count(name) > 0, r.arg_kind.value
    )


def candidates(list_key: str) -> list[RestrictionInfo]:
    """Restrictions valid in this list (stage-valid entries only), for the add dialog."""
    return [restriction_info(r.name) for r in catalogue.for_list(list_key)]


def parameter_risk(name: str, value: str) -> tuple[Severity, str] | None:
    risk = catalogue.parameter_risk(name, value)
    return None if risk is None else (risk.level, risk.text)
