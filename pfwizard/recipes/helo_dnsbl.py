"""Recipe 3: HELO hardening and DNS blocklists, with a reply filter on every list.

``smtpd_helo_required = yes`` and a HELO list that permits your own users first, then refuses
invalid and non-FQDN names (``reject_unknown_helo_hostname`` only on request: it refuses many
real servers). Every ``reject_rbl_client`` / ``reject_rhsbl_*`` on the box gets a reply
filter: without one, any answer counts as "listed", including the 127.255.255.x error codes
Spamhaus returns to queries through public resolvers, which then refuses all mail.
"""

from __future__ import annotations

from pfwizard.chain import Chain, Item
from pfwizard.explain.box import LISTS
from pfwizard.explain.causes import RECIPE_HELO_DNSBL
from pfwizard.findings import Severity
from pfwizard.maincf import MainCf
from pfwizard.recipes.model import PlacementOption, Proposal, chain_of

HELO = "smtpd_helo_restrictions"
RECIPIENT = "smtpd_recipient_restrictions"
BLOCKLISTS = (
    "reject_rbl_client",
    "reject_rhsbl_client",
    "reject_rhsbl_sender",
    "reject_rhsbl_helo",
    "reject_rhsbl_reverse_client",
    "reject_rhsbl_recipient",
)
# Reply filters from each list's documentation (real listings only, no error codes).
FILTERS = {
    "zen.spamhaus.org": "127.0.0.[2..11]",
    "dbl.spamhaus.org": "127.0.1.[2..99]",
    "bl.spamcop.net": "127.0.0.2",
    "b.barracudacentral.org": "127.0.0.2",
    "psbl.surriel.com": "127.0.0.2",
}
GENERIC_FILTER = "127.0.0.[2..254]"
HELO_CHECKS = ("reject_invalid_helo_hostname", "reject_non_fqdn_helo_hostname")
RISKS = {
    "smtpd_helo_required": (
        "Clients that never say HELO/EHLO are refused: only spam bots do that.",
        Severity.INFO,
    ),
    "reject_invalid_helo_hostname": (
        "Refuses HELO names that are not even syntactically valid.",
        Severity.INFO,
    ),
    "reject_non_fqdn_helo_hostname": (
        "Refuses HELO names without a dot (e.g. 'PC01'); some "
        "misconfigured Exchange servers send those.",
        Severity.CAUTION,
    ),
    "reject_unknown_helo_hostname": (
        "Refuses HELO names without DNS records: catches many "
        "legitimate servers behind NAT (leave it out unless "
        "you know your senders).",
        Severity.CAUTION,
    ),
}


def _zone(arg: str) -> str:
    return arg.split("=", 1)[0].lower()


def _filtered(item: Item) -> Item:
    if item.name not in BLOCKLISTS or not item.arg or "=" in item.arg:
        return item
    return Item(item.name, f"{item.arg}={FILTERS.get(_zone(item.arg), GENERIC_FILTER)}")


def helo_dnsbl(
    cf: MainCf,
    *,
    reject_unknown_helo: bool = False,
    dnsbls: tuple[str, ...] = ("zen.spamhaus.org",),
    rhsbls: tuple[str, ...] = ("dbl.spamhaus.org",),
) -> Proposal:
    params: dict[str, str | None] = {}
    notes: list[str] = []
    if (cf.get("smtpd_helo_required") or "no").lower() != "yes":
        params["smtpd_helo_required"] = "yes"
    helo = chain_of(cf, HELO)
    wanted = ["permit_mynetworks", "permit_sasl_authenticated", *HELO_CHECKS]
    if reject_unknown_helo:
        wanted.append("reject_unknown_helo_hostname")
    changed = False
    for name in wanted:
        if name not in helo.names():
            # Permits go first so your own users and devices never meet the checks.
            pos = 0 if name.startswith("permit_") else len(helo)
            helo.items.insert(pos, Item(name))
            changed = True
    if changed:
        params[HELO] = helo.render()

    # Every blocklist on the box gets a filter; missing lists go into the recipient list.
    present: set[str] = set()
    for parameter in LISTS:
        value = cf.get(parameter)
        if value is None:
            continue
        chain = Chain.parse(value)
        new = Chain([_filtered(i) for i in chain], chain.separator)
        present |= {_zone(i.arg or "") for i in chain if i.name in BLOCKLISTS}
        if new.items != chain.items:
            params[parameter] = new.render()
            notes.append(
                f"{parameter}: reply filter added to "
                + ", ".join(i.render() for i in new if i not in chain.items)
            )
    recipient = Chain.parse(str(params.get(RECIPIENT) or cf.get(RECIPIENT) or ""))
    lead = 0
    while lead < len(recipient) and recipient.items[lead].name.startswith("permit_"):
        lead += 1
    added = [
        Item("reject_rbl_client", f"{z}={FILTERS.get(z, GENERIC_FILTER)}")
        for z in dnsbls
        if z.lower() not in present
    ]
    added += [
        Item("reject_rhsbl_sender", f"{z}={FILTERS.get(z, GENERIC_FILTER)}")
        for z in rhsbls
        if z.lower() not in present
    ]
    if added:
        recipient.items[lead:lead] = added
        params[RECIPIENT] = recipient.render()
        if lead == 0:
            notes.append(
                f"{RECIPIENT} has no leading permits: your own users are checked "
                f"against the blocklists too."
            )
    options = [
        PlacementOption(
            "recipient",
            f"blocklists in {RECIPIENT} after its leading permits",
            "Logged-in users and mynetworks are permitted before any blocklist; every listed "
            "client is refused. Each list costs one DNS query per new client; Spamhaus refuses "
            "queries that come through large public resolvers (the box needs its own resolver, "
            "as MiaB installs).",
            Severity.CAUTION,
        )
    ]
    for name in ("smtpd_helo_required", *wanted[2:]):
        text, level = RISKS[name]
        options.append(PlacementOption(name, f"{name} ({HELO})", text, level))
    return Proposal(
        RECIPE_HELO_DNSBL,
        "HELO hardening and DNS blocklists with reply filters",
        f"HELO checks and {len(added)} blocklist(s) added, filters on all",
        params=params,
        placements=options,
        placement="recipient",
        notes=notes,
    )
