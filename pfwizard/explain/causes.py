"""Postfix's reject texts, and which restriction writes each of them.

The texts are smtpd's own (``smtpd_check.c`` in Postfix 3.6, checked on the bench where it
can produce them). A text names the *object* checked ("Sender address rejected"), not the list
the restriction sits in: ``check_sender_access`` in ``smtpd_recipient_restrictions`` still says
"Sender address rejected". The list is found afterwards, on the box's own config (explainer).

``words`` and ``fix`` are templates: ``{sender}``, ``{sender_domain}``, ``{recipient}``,
``{client}``, ``{helo}``, ``{name}``, ``{zone}``, ``{user}``, ``{table}``, ``{parameter}``,
``{entry}``, ``{reason}`` are filled in per line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pfwizard.explain.logline import RejectLine

RECIPE_ALLOWLIST = "allowlist-unresolved-senders"
RECIPE_OWN_DOMAINS = "reject-own-domain-senders"
RECIPE_HELO_DNSBL = "helo-dnsbl"
RECIPE_OPENDMARC = "opendmarc"
RECIPE_FORGED_LOCAL = "forged-local-senders"
RECIPE_TITLES = {
    RECIPE_ALLOWLIST: "accept senders whose domain doesn't resolve, narrowly",
    RECIPE_OWN_DOMAINS: "reject outsiders using your own domains as sender",
    RECIPE_HELO_DNSBL: "HELO hardening and DNS blocklists with reply filters",
    RECIPE_OPENDMARC: "OpenDMARC milter after OpenDKIM",
    RECIPE_FORGED_LOCAL: "stop outgoing mail with forged local senders",
}

SENDER_ACCESS = (
    "check_sender_access",
    "check_sender_a_access",
    "check_sender_mx_access",
    "check_sender_ns_access",
)
CLIENT_ACCESS = (
    "check_client_access",
    "check_reverse_client_hostname_access",
    "check_client_a_access",
    "check_client_mx_access",
    "check_client_ns_access",
    "check_reverse_client_hostname_a_access",
    "check_reverse_client_hostname_mx_access",
    "check_reverse_client_hostname_ns_access",
    "check_ccert_access",
    "check_sasl_access",
)
HELO_ACCESS = (
    "check_helo_access",
    "check_helo_a_access",
    "check_helo_mx_access",
    "check_helo_ns_access",
)
RECIPIENT_ACCESS = (
    "check_recipient_access",
    "check_recipient_a_access",
    "check_recipient_mx_access",
    "check_recipient_ns_access",
)
# Restrictions whose reply text is whatever a table or a policy server said.
FREE_TEXT = ("check_policy_service", "reject")


@dataclass(frozen=True)
class Cause:
    id: str
    """Stable identifier, e.g. ``unknown-sender-domain``: what groups rejects in a log."""
    pattern: re.Pattern[str]
    restrictions: tuple[str, ...]
    """Restriction names that write this text (the first found on the box is the one)."""
    words: str
    fix: str
    recipe: str | None = None
    implicit: str | None = None
    """A parameter that does the same check when no listed restriction does (e.g.
    ``smtpd_reject_unlisted_recipient``), or that is the cause itself (``smtpd_helo_required``)."""
    lookup: str | None = None
    """For free-text access rejects: what the table was asked about (sender/client/...)."""


def _c(
    id: str,
    pattern: str,
    restrictions: tuple[str, ...],
    words: str,
    fix: str,
    recipe: str | None = None,
    implicit: str | None = None,
    lookup: str | None = None,
) -> Cause:
    return Cause(
        id, re.compile(pattern, re.IGNORECASE), restrictions, words, fix, recipe, implicit, lookup
    )


_RETRY = (
    "The code is temporary (4xx): the sending server keeps the message and retries for "
    "a few days; if nothing changes, it gives up and bounces it to its sender."
)

CAUSES: tuple[Cause, ...] = (
    _c(
        "unknown-sender-domain",
        r"Sender address rejected: (Domain not found|Malformed DNS server reply"
        r"|Domain .* does not accept mail)",
        ("reject_unknown_sender_domain",),
        "The sender's domain {sender_domain} has no DNS address or MX record (or the DNS lookup "
        "failed just now), so Postfix refuses the sender: a bounce to {sender} could not be "
        "delivered.",
        "If this sender is legitimate (e.g. Cisco ESA DMARC reporters under iphmx.com "
        "send from host names without DNS records), allow just that sender with a "
        "check_sender_access table placed before reject_unknown_sender_domain in {parameter}. "
        "Keep the table narrow: every sender it permits skips the rest of {parameter}.",
        RECIPE_ALLOWLIST,
    ),
    _c(
        "non-fqdn-sender",
        r"Sender address rejected: need fully-qualified address",
        ("reject_non_fqdn_sender",),
        "The envelope sender '{sender}' is not a full address with a domain "
        "(like user@example.com), so no reply could ever reach it.",
        "Nothing to change on this box: the sending program must use a full address in MAIL "
        "FROM. If it is one of your own scripts, fix its sender address.",
    ),
    _c(
        "sender-login-mismatch",
        r"Sender address rejected: not owned by user (?P<user>\S+)",
        (
            "reject_authenticated_sender_login_mismatch",
            "reject_sender_login_mismatch",
            "reject_known_sender_login_mismatch",
        ),
        "The logged-in user {user} sent with the envelope sender {sender}, which "
        "smtpd_sender_login_maps does not give to that login.",
        "If {user} should send as {sender}, give them that address (on MiaB: an alias with "
        "{user} as a permitted sender, in the control panel); otherwise the refusal is right.",
    ),
    _c(
        "sender-not-logged-in",
        r"Sender address rejected: not logged in",
        (
            "reject_unauthenticated_sender_login_mismatch",
            "reject_sender_login_mismatch",
            "reject_known_sender_login_mismatch",
        ),
        "A client that did not log in used the sender {sender}, which belongs to a login on "
        "this box (smtpd_sender_login_maps).",
        "The client must log in (SMTP AUTH on the submission port) before sending as "
        "{sender}; outsiders using it are refused on purpose.",
    ),
    _c(
        "unlisted-sender",
        r"Sender address rejected: User unknown in (?P<table>.*)",
        ("reject_unlisted_sender",),
        "The sender {sender} claims to be a local address, but there is no such user ({table}).",
        "Create the address if it should exist; otherwise the refusal is right.",
        implicit="smtpd_reject_unlisted_sender",
    ),
    _c(
        "unverified-sender",
        r"Sender address rejected: unverified address",
        ("reject_unverified_sender",),
        "Postfix probed the sender address {sender} and the sender's own server did not accept it.",
        "Nothing on this box, unless the probe itself fails (check the verify service).",
    ),
    _c(
        "rhsbl-sender",
        r"Sender address \[(?P<name>[^\]]*)\] blocked using (?P<zone>[^\s;]+)",
        ("reject_rhsbl_sender",),
        "The sender's domain {name} is listed in the domain blocklist {zone}.",
        "If it is a false positive, allow that one sender with a check_sender_access entry "
        "before {entry} in {parameter}, or ask {zone} to delist the domain.",
        RECIPE_HELO_DNSBL,
    ),
    _c(
        "rhsbl-reverse-client",
        r"Unverified Client host \[(?P<name>[^\]]*)\] blocked using (?P<zone>[^\s;]+)",
        ("reject_rhsbl_reverse_client",),
        "The client's reverse DNS name {name} is listed in the blocklist {zone}.",
        "If it is a false positive, permit that client with a check_client_access entry "
        "before {entry} in {parameter}.",
        RECIPE_HELO_DNSBL,
    ),
    _c(
        "rbl-client",
        r"Client host \[(?P<name>[^\]]*)\] blocked using (?P<zone>[^\s;]+)",
        ("reject_rbl_client", "reject_rhsbl_client"),
        "The connecting client {name} is listed in the blocklist {zone}.",
        "If it is a false positive, permit that client with a check_client_access entry "
        "before {entry} in {parameter}; mail from listed hosts is usually spam.",
        RECIPE_HELO_DNSBL,
    ),
    _c(
        "rhsbl-helo",
        r"Helo command \[(?P<name>[^\]]*)\] blocked using (?P<zone>[^\s;]+)",
        ("reject_rhsbl_helo",),
        "The name the client gave in HELO/EHLO ({name}) is listed in the blocklist {zone}.",
        "If it is a false positive, permit that client with a check_client_access entry "
        "before {entry} in {parameter}.",
        RECIPE_HELO_DNSBL,
    ),
    _c(
        "rhsbl-recipient",
        r"Recipient address \[(?P<name>[^\]]*)\] blocked using (?P<zone>[^\s;]+)",
        ("reject_rhsbl_recipient",),
        "The recipient's domain {name} is listed in the blocklist {zone}.",
        "Remove {entry} from {parameter} if you did not mean to block recipients.",
    ),
    _c(
        "unknown-client-hostname",
        r"Client host rejected: cannot find your hostname",
        ("reject_unknown_client_hostname",),
        "The client {client} has no reverse DNS name that resolves back to its address.",
        "The sender's mail admin must fix their DNS (PTR and A record). To accept this client "
        "anyway, permit it with a check_client_access entry before {entry} in {parameter}.",
    ),
    _c(
        "unknown-reverse-client-hostname",
        r"Client host rejected: cannot find your reverse hostname",
        ("reject_unknown_reverse_client_hostname",),
        "The client {client} has no reverse DNS (PTR) name at all.",
        "The sender's mail admin must add a PTR record. To accept this client anyway, permit "
        "it with a check_client_access entry before {entry} in {parameter}.",
    ),
    _c(
        "non-fqdn-helo",
        r"Helo command rejected: need fully-qualified hostname",
        ("reject_non_fqdn_helo_hostname",),
        "The client introduced itself in HELO/EHLO as '{helo}', which is not a fully "
        "qualified host name; real mail servers use their full name.",
        "Usually nothing: this stops many spam bots. For one of your own devices, put "
        "permit_mynetworks (or permit_sasl_authenticated) before {entry} in {parameter}.",
        RECIPE_HELO_DNSBL,
    ),
    _c(
        "invalid-helo",
        r"Helo command rejected: Invalid name",
        ("reject_invalid_helo_hostname",),
        "The HELO/EHLO name '{helo}' is not even a valid host name or address literal.",
        "Nothing on this box: the client is broken or a spam bot.",
        RECIPE_HELO_DNSBL,
    ),
    _c(
        "unknown-helo",
        r"Helo command rejected: Host not found",
        ("reject_unknown_helo_hostname",),
        "The HELO/EHLO name '{helo}' has no DNS address or MX record.",
        "This check catches many legitimate servers too; if it hurts, move it after "
        "permit_mynetworks or drop {entry} from {parameter}.",
        RECIPE_HELO_DNSBL,
    ),
    _c(
        "helo-required",
        r"send HELO/EHLO first",
        (),
        "The client sent MAIL FROM without introducing itself with HELO/EHLO first, and "
        "smtpd_helo_required = yes demands that.",
        "Nothing on this box: every real mail server says HELO/EHLO.",
        implicit="smtpd_helo_required",
    ),
    _c(
        "unknown-recipient-domain",
        r"Recipient address rejected: Domain not found",
        ("reject_unknown_recipient_domain",),
        "The recipient's domain in {recipient} has no DNS address or MX record.",
        "Nothing on this box unless the domain is yours: then its DNS records are missing.",
    ),
    _c(
        "non-fqdn-recipient",
        r"Recipient address rejected: need fully-qualified address",
        ("reject_non_fqdn_recipient",),
        "The recipient '{recipient}' is not a full address with a domain.",
        "Nothing on this box: the sending program must use full addresses.",
    ),
    _c(
        "unlisted-recipient",
        r"Recipient address rejected: User unknown in (?P<table>.*)",
        ("reject_unlisted_recipient",),
        "There is no mailbox or alias {recipient} on this box (Postfix looked in the {table}).",
        "If the address should exist, create the mailbox or an alias (MiaB control panel); "
        "otherwise this is the box refusing mail for unknown users, as it should.",
        implicit="smtpd_reject_unlisted_recipient",
    ),
    _c(
        "unverified-recipient",
        r"Recipient address rejected: unverified address",
        ("reject_unverified_recipient",),
        "Postfix probed the recipient {recipient} downstream and it was not accepted.",
        "Check the recipient exists on the next-hop server.",
    ),
    _c(
        "relay-denied",
        r"Relay access denied",
        ("reject_unauth_destination", "defer_unauth_destination"),
        "{recipient} is not in a domain this box receives mail for, and the client {client} "
        "neither logged in nor is in mynetworks, so Postfix refuses to pass the mail on "
        "(this is what stops the box being an open relay).",
        "A program that should send through this box must log in (SMTP AUTH on port 587 or "
        "465). Never put a permit for outsiders before {entry}: that makes an open relay.",
    ),
    _c(
        "greylisted",
        r"Greylist",
        ("check_policy_service",),
        "Greylisting: postgrey (asked through {entry}) tells first-time senders to come back "
        "later. A real mail server retries within minutes and then gets through.",
        "Usually nothing: wait for the retry. For a sender that retries badly, add its server "
        "to postgrey's whitelist_clients (on MiaB /etc/postgrey/whitelist_clients.local).",
    ),
    _c(
        "over-quota",
        r"(Mailbox is full|Quota exceeded|over quota)",
        ("check_policy_service",),
        "The recipient's mailbox is full: Dovecot's quota service (asked through {entry}) "
        "refused the mail.",
        "Free space in the mailbox or raise its quota (MiaB control panel).",
    ),
    _c(
        "pipelining",
        r"Improper use of SMTP command pipelining",
        ("reject_unauth_pipelining",),
        "The client sent commands ahead of the replies without announcing PIPELINING: a "
        "typical spam bot, or a broken client.",
        "Nothing on this box.",
    ),
    _c(
        "multi-recipient-bounce",
        r"Multi-recipient bounce",
        ("reject_multi_recipient_bounce",),
        "A bounce (empty sender) was addressed to several recipients at once: bounces have "
        "exactly one.",
        "Nothing on this box.",
    ),
    _c(
        "config-error",
        r"Server configuration error",
        (),
        "Postfix could not evaluate its own restrictions: an unknown restriction name, a map "
        "type it does not support, a table file that does not exist, or a '# comment' after "
        "a value (its words become restriction names). Every sender reaching that point is "
        "refused.",
        "Run `pfwizard check` (or look for 'warning:' lines from smtpd next to this one) and "
        "fix the named restriction or table; then reload.",
    ),
    _c(
        "lookup-failure",
        r"Temporary lookup failure",
        (),
        "A table Postfix had to consult could not be read just now (missing .db file, "
        "database down, permissions).",
        "Look for smtpd 'warning:' lines about the table next to this one, rebuild it with "
        "postmap, and check its permissions.",
    ),
    _c(
        "message-size",
        r"Message size exceeds fixed limit",
        (),
        "The message is larger than message_size_limit.",
        "Raise message_size_limit if such messages are expected.",
        implicit="message_size_limit",
    ),
    _c(
        "no-storage",
        r"Insufficient system storage",
        (),
        "The queue file system is nearly full (queue_minfree).",
        "Free disk space.",
        implicit="queue_minfree",
    ),
    # Free text from a table or a policy server: the object says what was looked up.
    _c(
        "sender-access",
        r"Sender address rejected: (?P<reason>.*)",
        (*SENDER_ACCESS, *FREE_TEXT),
        "A sender table or policy on this box refused {sender}: '{reason}'.",
        "If the refusal is wrong, change the entry that matched {sender} in {table}.",
        lookup="sender",
    ),
    _c(
        "recipient-access",
        r"Recipient address rejected: (?P<reason>.*)",
        (*RECIPIENT_ACCESS, *FREE_TEXT),
        "A recipient table or policy on this box refused {recipient}: '{reason}'.",
        "If the refusal is wrong, change the entry that matched {recipient} in {table}.",
        lookup="recipient",
    ),
    _c(
        "client-access",
        r"Client host rejected: (?P<reason>.*)",
        (*CLIENT_ACCESS, *FREE_TEXT),
        "A client table or policy on this box refused the client {client}: '{reason}'.",
        "If the refusal is wrong, change the entry that matched the client in {table}.",
        lookup="client",
    ),
    _c(
        "helo-access",
        r"Helo command rejected: (?P<reason>.*)",
        (*HELO_ACCESS, *FREE_TEXT),
        "A HELO table or policy on this box refused the HELO name '{helo}': '{reason}'.",
        "If the refusal is wrong, change the entry that matched '{helo}' in {table}.",
        lookup="helo",
    ),
)

MILTER = Cause(
    "milter",
    re.compile(""),
    (),
    "A milter (mail filter program) answered '{reason}' for this message; with OpenDMARC "
    "that means the From: domain publishes p=reject and the message failed DMARC.",
    "Check the milter's own log. smtpd_milters lists the milters; milter_default_action "
    "decides what happens when one is unreachable.",
    RECIPE_OPENDMARC,
    implicit="smtpd_milters",
)
HEADER = Cause(
    "header-checks",
    re.compile(""),
    (),
    "The header line '{name}' matched a header_checks rule that rejects it: '{reason}'.",
    "If the rule is wrong, edit the pattern in {table} and test it with "
    "`postmap -q - pcre:FILE < headers.txt`.",
    RECIPE_FORGED_LOCAL,
    implicit="header_checks",
)
POSTSCREEN = Cause(
    "postscreen-dnsbl",
    re.compile(""),
    (),
    "postscreen refused the client {client}: it scored too high on postscreen_dnsbl_sites.",
    "If it is a false positive, add the client to postscreen_access_list with 'permit'.",
    RECIPE_HELO_DNSBL,
    implicit="postscreen_dnsbl_sites",
)
UNKNOWN = Cause(
    "unknown",
    re.compile(""),
    (),
    "pfwizard does not recognise this reply text ('{reason}'); it is not one of Postfix's "
    "built-in restriction texts.",
    "Search the restriction lists for a table or policy service that could answer it.",
)


_DIGITS_RE = re.compile(r"\d+")
# Reply texts repeat endlessly in a log; remembering which pattern matched a text's shape
# (digits folded) saves trying ~30 patterns per line. Bounded: cleared when full.
_SHAPE_CACHE: dict[str, Cause | None] = {}
_SHAPE_CACHE_MAX = 4096


def _first_match(text: str) -> tuple[Cause, re.Match[str]] | None:
    shape = _DIGITS_RE.sub("0", text[:200])
    cached = _SHAPE_CACHE.get(shape, UNKNOWN)
    if cached is not UNKNOWN:
        if cached is None:
            return None
        m = cached.pattern.search(text)
        if m:
            return cached, m
    for cause in CAUSES:
        m = cause.pattern.search(text)
        if m:
            if len(_SHAPE_CACHE) >= _SHAPE_CACHE_MAX:
                _SHAPE_CACHE.clear()
            _SHAPE_CACHE[shape] = cause
            return cause, m
    _SHAPE_CACHE[shape] = None
    return None


def classify(line: RejectLine) -> tuple[Cause, dict[str, str]]:
    """The cause of a reject line and the named parts its pattern captured."""
    if line.kind == "header":
        return HEADER, {"name": line.header, "reason": line.text}
    if line.kind == "milter-reject":
        return MILTER, {"reason": line.reason}
    if line.program.endswith("postscreen"):
        return POSTSCREEN, {}
    hit = _first_match(line.text)
    if hit:
        cause, m = hit
        return cause, {k: v for k, v in m.groupdict().items() if v is not None}
    return UNKNOWN, {"reason": line.text}
