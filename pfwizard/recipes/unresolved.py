"""Recipe 1: accept mail from senders whose domain doesn't resolve, narrowly.

A ``check_sender_access regexp:`` allowlist in ``smtpd_sender_restrictions``, either right
before ``reject_unknown_sender_domain`` (the forum's fix) or with ``reject_rhsbl_sender``
moved ahead of it, so listed domains still hit the DBL (the admin's mitigation in the same
thread). Either way a matching sender is PERMITted: it skips the rest of the sender list, and
each placement's risk names exactly what it skips on this box.
"""

from __future__ import annotations

from pathlib import Path

from pfwizard.analysis.tablelint import table_findings
from pfwizard.chain import Item
from pfwizard.engine import TableChange
from pfwizard.explain.causes import RECIPE_ALLOWLIST
from pfwizard.findings import Severity
from pfwizard.maincf import MainCf
from pfwizard.recipes.model import PlacementOption, Proposal, RecipeRefused, chain_of, own_table

SENDER = "smtpd_sender_restrictions"
ANCHOR = "reject_unknown_sender_domain"
DBL = "reject_rhsbl_sender"
BEFORE_UNKNOWN = "before-unknown"
AFTER_RHSBL = "after-rhsbl"
TABLE_NAME = "unresolved_sender_allowlist"


def allowlist_unresolved_senders(
    cf: MainCf, config_dir: Path | str, table_text: str, placement: str = BEFORE_UNKNOWN
) -> Proposal:
    """Propose the allowlist. ``table_text``: regexp table lines (see pfwizard.allowlist)."""
    chain = chain_of(cf, SENDER)
    if ANCHOR not in chain.names():
        raise RecipeRefused(
            f"{SENDER} has no {ANCHOR}: nothing refuses unresolved senders, "
            f"so there is nothing to allow"
        )
    table = own_table(config_dir, TABLE_NAME)
    item = Item("check_sender_access", f"regexp:{table}")
    if item in chain.items:
        raise RecipeRefused(f"{SENDER} already has {item.render()}")
    has_dbl = DBL in chain.names()
    new = chain.copy()
    if placement == AFTER_RHSBL:
        if not has_dbl:
            raise RecipeRefused(f"{SENDER} has no {DBL}: use placement {BEFORE_UNKNOWN}")
        dbl = new.items[new.index_of(DBL)]
        new.remove(dbl)
        new.insert_before(ANCHOR, dbl)
        new.insert_after(DBL, item)
    elif placement == BEFORE_UNKNOWN:
        new.insert_before(ANCHOR, item)
    else:
        raise RecipeRefused(f"unknown placement {placement!r}")

    def skipped(c: list[str], start: str) -> str:
        after = c[c.index(start) + 1 :]
        return ", ".join(after) or "nothing"

    before_names = chain.copy()
    before_names.insert_before(ANCHOR, item)
    skip_a = skipped(before_names.names(), "check_sender_access")
    options = [
        PlacementOption(
            BEFORE_UNKNOWN,
            f"check_sender_access before {ANCHOR} (the forum's fix)",
            f"A sender matching the table is PERMITted and skips the rest of {SENDER}: "
            f"{skip_a}. A spammer using a matching address passes the sender checks even if "
            f"its domain is on the DBL; the recipient list (zen, postgrey) still runs.",
            Severity.CAUTION,
        ),
    ]
    if has_dbl:
        moved = chain.copy()
        dbl = moved.items[moved.index_of(DBL)]
        moved.remove(dbl)
        moved.insert_before(ANCHOR, dbl)
        moved.insert_after(DBL, item)
        options.append(
            PlacementOption(
                AFTER_RHSBL,
                f"{DBL} moved up, check_sender_access right after it",
                f"DBL-listed domains are refused even when they match the table. Costs one DBL "
                f"query per sender before the cheaper "
                f"{ANCHOR}; matching senders still skip "
                f"{skipped(moved.names(), 'check_sender_access')}.",
                Severity.INFO,
            )
        )
    lines = [ln for ln in table_text.splitlines() if ln.strip()]
    prop = Proposal(
        RECIPE_ALLOWLIST,
        "Accept senders whose domain doesn't resolve, narrowly",
        f"allowlist {sum(1 for ln in lines if not ln.lstrip().startswith('#'))} pattern(s) "
        f"before {ANCHOR} ({placement})",
        params={SENDER: new.render()},
        tables=[
            TableChange(
                table, table_text if table_text.endswith("\n") else table_text + "\n", "regexp"
            )
        ],
        placements=options,
        placement=placement,
    )
    prop.notes.append(
        "Postfix regexp tables ignore case unless a pattern ends in /i, which "
        "turns that OFF: write patterns without the i flag."
    )
    # The table check the gate runs, said here first: a line that lets in more than it names
    # is refused at Apply unless accepted by name.
    for f in table_findings("regexp", str(table), prop.tables[0].content or "", "sender"):
        if f.severity is Severity.DANGER or f.code == "case-sensitive-never-matches":
            prop.notes.append(f"{f.severity.value.upper()} {f.code}: {f.message}")
    prop.notes.append(
        "MiaB's setup rewrites smtpd_sender_restrictions on every upgrade; "
        "`pfwizard restore` puts this back (the table itself survives)."
    )
    return prop
