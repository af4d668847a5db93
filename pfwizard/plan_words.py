"""What a plan does, in one line of words for the admin above its diff: "adds one entry to the
sender list and creates one table".

Read from the plan's own before/after bytes (what Apply writes, not what the wizard meant), so
Review's line can never disagree with the diff under it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pfwizard.chain import Chain
from pfwizard.engine.changeset import Plan
from pfwizard.errors import PfwizardError
from pfwizard.maincf import MainCf

_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
MILTER_LISTS = {
    "smtpd_milters": "the milter list",
    "non_smtpd_milters": "the milter list for local mail",
}


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``count(1, "entry", "entries")`` -> "one entry"; 12 -> "12 entries"."""
    word = _NUMBERS[n] if n < len(_NUMBERS) else str(n)
    return f"{word} {noun if n == 1 else plural or noun + 's'}"


def list_name(param: str) -> str | None:
    """ "the sender list" for smtpd_sender_restrictions (None: not a list pfwizard edits)."""
    if param in MILTER_LISTS:
        return MILTER_LISTS[param]
    if param.startswith("smtpd_") and param.endswith("_restrictions"):
        what = param[len("smtpd_") : -len("_restrictions")].replace("_", "-")
        return f"the {what} list"
    return None


def join(phrases: list[str]) -> str:
    """ "a, b and c"."""
    if len(phrases) < 2:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def list_change(param: str, before: str | None, after: str | None) -> list[str]:
    """What happened to one restriction (or milter) list, in words."""
    name = list_name(param) or param
    old = Chain.parse(before or "").items
    new = Chain.parse(after or "").items
    gone = Counter(old) - Counter(new)
    came = Counter(new) - Counter(old)
    # The same restriction with another argument is a change, not a removal and an addition.
    changed = Counter(i.name for i in gone) & Counter(i.name for i in came)
    n_changed = sum(changed.values())
    n_added = sum(came.values()) - n_changed
    n_removed = sum(gone.values()) - n_changed
    out = []
    if n_added:
        out.append(f"adds {count(n_added, 'entry', 'entries')} to {name}")
    if n_removed:
        out.append(f"removes {count(n_removed, 'entry', 'entries')} from {name}")
    if n_changed:
        out.append(f"changes {count(n_changed, 'argument')} in {name}")
    if not out and old != new:
        out.append(f"reorders {name}")
    return out


def param_change(param: str, before: str | None, after: str | None) -> list[str]:
    if list_name(param) is not None:
        return list_change(param, before, after)
    if after is None:
        return [f"removes {param} (Postfix's default applies)"]
    if before is None:
        return [f"sets {param} = {after}"]
    return [f"changes {param} to {after}"]


def _params(data: bytes | None) -> dict[str, str]:
    return MainCf.parse(data).parameters() if data is not None else {}


def describe(plan: Plan) -> str:
    """The plan in one line of words ("" for an empty plan)."""
    phrases: list[str] = []
    tables: Counter[str] = Counter()
    for f in plan.files:
        if not f.changes:
            continue
        if f.role == "main.cf":
            try:
                old, new = _params(f.before), _params(f.after)
            except PfwizardError:
                phrases.append("changes main.cf")
                continue
            for param in sorted(set(old) | set(new)):
                if old.get(param) != new.get(param):
                    phrases += param_change(param, old.get(param), new.get(param))
        elif f.role == "master.cf":
            phrases.append("changes master.cf")
        elif f.role == "table":
            tables[
                "creates" if f.before is None else "deletes" if f.after is None else "changes"
            ] += 1
    for verb in ("creates", "changes", "deletes"):
        if tables[verb]:
            phrases.append(f"{verb} {count(tables[verb], 'table')}")
    return join(_dedupe(phrases))


def _dedupe(phrases: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(phrases))
