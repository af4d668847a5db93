"""Every smtpd restriction Postfix offers (3.6 through 3.11), as typed data with risk text.

What each entry says, and where it comes from:
- ``lists``: the restriction lists where it has an effect.  Postfix's smtpd accepts every name
  in every list (smtpd_check.c has one ``generic_checks()`` for all lists), but a check only
  acts on what is known at that stage: a recipient check in ``smtpd_client_restrictions``
  does something only because, with ``smtpd_delay_reject = yes`` (the default), the client
  list is evaluated at RCPT TO time.  Those lists are in ``delayed`` as well, and ``condition``
  says so in words.
- ``since``: the Postfix version that introduced the name (postconf(5), RELEASE_NOTES);
  ``removed``: the version whose smtpd answers ``451 4.3.5`` for it instead.
- ``risk``: what can go wrong and who gets hit, written for a Mail-in-a-Box admin from
  postconf(5), SMTPD_ACCESS_README and access(5).

Names are matched case-insensitively, like smtpd's ``strcasecmp()``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import Enum

from pfwizard.findings import Severity

LISTS: list[str] = ["client", "helo", "sender", "relay", "recipient", "data", "end_of_data"]
"""Restriction lists in the order smtpd evaluates them."""

LIST_PARAMS: dict[str, str] = {
    "client": "smtpd_client_restrictions",
    "helo": "smtpd_helo_restrictions",
    "sender": "smtpd_sender_restrictions",
    "relay": "smtpd_relay_restrictions",
    "recipient": "smtpd_recipient_restrictions",
    "data": "smtpd_data_restrictions",
    "end_of_data": "smtpd_end_of_data_restrictions",
}
PARAM_LISTS: dict[str, str] = {v: k for k, v in LIST_PARAMS.items()}

LIST_TITLES: dict[str, str] = {
    "client": "client (connect)",
    "helo": "HELO/EHLO",
    "sender": "sender (MAIL FROM)",
    "relay": "relay (RCPT TO, checked first)",
    "recipient": "recipient (RCPT TO)",
    "data": "DATA command",
    "end_of_data": "end of message",
}

# What a bare ``type:table`` in a list means (smtpd's def_acl); None: smtpd answers 451 4.3.5.
DEFAULT_ACCESS: dict[str, str | None] = {
    "client": "check_client_access",
    "helo": "check_helo_access",
    "sender": "check_sender_access",
    "relay": "check_recipient_access",
    "recipient": "check_recipient_access",
    "data": None,
    "end_of_data": None,
}


class ArgKind(str, Enum):
    NONE = "none"
    TABLE = "table"
    """A lookup table ``type:name`` (access(5) format)."""
    DNS_DOMAIN = "dns_domain"
    """A DNS list domain, optionally ``=`` reply filter (``zen.spamhaus.org=127.0.0.[2..11]``)."""
    POLICY_SERVICE = "policy_service"
    """A policy server address (``inet:127.0.0.1:10023``, ``unix:private/policy``)."""
    MILTER = "milter"
    """A milter address (``smtpd_milters``); no restriction takes one, parameters do."""
    NUMBER = "number"
    """Seconds (``sleep``)."""


class Effect(str, Enum):
    PERMITS = "permits"
    """Can end the list with PERMIT: later entries in that list are skipped."""
    REJECTS = "rejects"
    DEFERS = "defers"
    """Answers 4xx (try again later)."""
    LOOKS_UP = "looks_up"
    """Result comes from a table: anything from OK to REJECT."""
    ASKS_SERVICE = "asks_service"
    """Result comes from a policy server."""
    WARNS = "warns"
    """Changes how the next entry acts (warn_if_reject) or only logs."""
    DELAYS = "delays"
    """Pauses (sleep) and goes on."""


class Target(str, Enum):
    """What a restriction looks at; decides where in the SMTP dialogue it can act."""

    GENERIC = "generic"
    CLIENT = "client"
    HELO = "helo"
    SENDER = "sender"
    RECIPIENT = "recipient"
    DATA = "data"


@dataclass(frozen=True)
class Risk:
    level: Severity
    text: str


@dataclass(frozen=True)
class Restriction:
    name: str
    lists: frozenset[str]
    arg_kind: ArgKind
    effect: Effect
    dns: bool
    since: str
    risk: Risk
    summary: str
    condition: str | None = None
    target: Target = Target.GENERIC
    delayed: frozenset[str] = field(default_factory=frozenset)
    """Lists in ``lists`` where it acts only with ``smtpd_delay_reject = yes``."""
    removed: str | None = None
    """Postfix version whose smtpd answers 451 4.3.5 for it (None: still supported)."""
    alias_of: str | None = None
    """The current name when this is an older spelling smtpd still accepts."""
    outsider_permit: bool = False
    """Can PERMIT for a client that is neither trusted nor logged in (forged HELO/sender,
    a DNS allowlist, a table entry): ahead of ``reject_unauth_destination`` that relays."""
    guard: bool = False
    """Counts as the relay guard smtpd insists on (has_required() in smtpd_check.c)."""

    @property
    def takes_argument(self) -> bool:
        return self.arg_kind is not ArgKind.NONE

    @property
    def params(self) -> list[str]:
        """The main.cf parameters (restriction lists) where it acts, in evaluation order."""
        return [LIST_PARAMS[k] for k in LISTS if k in self.lists]


_ALL = frozenset(LISTS)
_DELAY = "smtpd_delay_reject = yes (the default)"


def _placement(target: Target) -> tuple[frozenset[str], frozenset[str], str | None]:
    """(lists, delayed lists, condition) for a restriction that looks at ``target``."""
    if target is Target.HELO:
        return (_ALL, frozenset({"client"}),
                f"in the client list only with {_DELAY}; does nothing if the client sent no "
                "HELO/EHLO (set smtpd_helo_required = yes)")
    if target is Target.SENDER:
        return (_ALL, frozenset({"client", "helo"}),
                f"in the client and HELO lists only with {_DELAY}; skipped for the null "
                "sender <> (bounces)")
    if target is Target.RECIPIENT:
        return (frozenset({"client", "helo", "sender", "relay", "recipient"}),
                frozenset({"client", "helo", "sender"}),
                f"in the client, HELO and sender lists only with {_DELAY}; in the DATA and "
                "end-of-data lists only when the message has exactly one recipient")
    return _ALL, frozenset(), None


_REGISTRY: dict[str, Restriction] = {}


def _add(name: str, target: Target, arg: ArgKind, effect: Effect, since: str,
         level: Severity, risk: str, summary: str, *, dns: bool = False,
         condition: str | None = None, lists: frozenset[str] | None = None,
         removed: str | None = None, alias_of: str | None = None,
         outsider_permit: bool = False, guard: bool = False) -> None:
    placed, delayed, cond = _placement(target)
    if condition is not None:
        cond = condition if cond is None else f"{condition}; {cond}"
    r = Restriction(
        name=name, lists=lists if lists is not None else placed, arg_kind=arg, effect=effect,
        dns=dns, since=since, risk=Risk(level, risk), summary=summary, condition=cond,
        target=target, delayed=delayed & (lists if lists is not None else placed),
        removed=removed, alias_of=alias_of, outsider_permit=outsider_permit, guard=guard,
    )
    _REGISTRY[name] = r


_I, _C, _D = Severity.INFO, Severity.CAUTION, Severity.DANGER
G, CL, H, S, R = Target.GENERIC, Target.CLIENT, Target.HELO, Target.SENDER, Target.RECIPIENT
N, T, DNS, POL = ArgKind.NONE, ArgKind.TABLE, ArgKind.DNS_DOMAIN, ArgKind.POLICY_SERVICE

_PERMIT_SKIPS = ("it ends this list: every check after it in the same list is skipped for "
                 "whoever it lets through")
_TABLE_RISK = (
    "Whatever the table answers is final for this list: an OK or PERMIT entry skips every "
    "later check in this list (allowlisted senders also skip the blocklists after it), a "
    "REJECT entry refuses mail. A table that does not exist, or a "
    "hash table whose .db was not rebuilt with postmap, makes smtpd answer 451 4.3.5 to "
    "everyone reaching this point."
)
_FORGEABLE = (" The value looked up is chosen by the sending client and can be forged, so an "
              "OK entry lets anyone who writes that value through.")
_DNS_TABLE_RISK = (
    "Looks up DNS servers (NS, MX or A records) of the name and checks their IP addresses "
    "against the table; OK answers are refused by smtpd (451 4.3.5) for security, so use "
    "DUNNO for exceptions. A slow or broken DNS makes these checks slow or temporary-fail."
)
_RBL_RISK = (
    "Without a reply filter (domain=127.0.0.[2..11]) any answer counts as listed: Spamhaus "
    "answers 127.255.255.254 to queries from public or open resolvers, and then every "
    "client is rejected (MiaB v68 added the filter for this). Also depends on DNS: when the "
    "list is slow or unreachable, mail is delayed, and real senders that are listed (shared "
    "hosting, a neighbour's spam) are rejected."
)
_RHSBL_RISK = (
    "Without a reply filter (domain=127.0.1.[2..99]) any answer counts as listed: an error "
    "code from the list (for example Spamhaus's 127.255.255.254 for public resolvers) "
    "rejects every sender. Depends on DNS; domains listed by mistake lose mail."
)

# ---- generic ---------------------------------------------------------------------------------
_add("permit", G, N, Effect.PERMITS, "1.0", _D,
     "Lets everyone through this list: " + _PERMIT_SKIPS + ". In the relay or recipient "
     "list before reject_unauth_destination it makes an open relay.",
     "Accept: end this list here.", outsider_permit=True)
_add("reject", G, N, Effect.REJECTS, "1.0", _D,
     "Refuses everyone who reaches it with a permanent error (reject_code, 554); entries after "
     "it never run. Only safe at the end of a list after the permits you want.",
     "Reject everyone who reaches this point.", guard=True)
_add("defer", G, N, Effect.DEFERS, "2.1", _D,
     "Answers everyone who reaches it with 450 'try again later'; senders retry for days and "
     "then bounce. Entries after it never run.",
     "Temporary-reject everyone who reaches this point.", guard=True)
_add("defer_if_permit", G, N, Effect.DEFERS, "2.1", _C,
     "Turns a later 'accept' into 450 'try again later' for this message; used by other "
     "checks on temporary DNS errors. Written by hand it delays every message that would "
     "have been accepted.",
     "Defer if the final answer would be accept.", guard=True)
_add("defer_if_reject", G, N, Effect.DEFERS, "2.1", _C,
     "Turns a later permanent reject into 450 'try again later': senders keep retrying "
     "instead of getting a bounce, and your queue of rejected attempts grows.",
     "Make a later reject temporary.")
_add("warn_if_reject", G, N, Effect.WARNS, "2.1", _I,
     "Safe: the next entry only logs 'reject_warning' instead of rejecting. Remember to "
     "remove it once the log shows the check is right, or it never protects anything.",
     "Log, instead of doing, the reject of the next entry.",
     condition="applies to the single entry after it")
_add("sleep", G, ArgKind.NUMBER, Effect.DELAYS, "2.3", _C,
     "Pauses every connection that reaches it; many connections at once tie up smtpd "
     "processes and legitimate mail waits.", "Pause N seconds, then go on.")
_add("check_policy_service", G, POL, Effect.ASKS_SERVICE, "2.1", _C,
     "The policy server decides (greylisting, quota). If it is down or slow, smtpd answers "
     "451 4.3.5 (server configuration problem) to everyone who reaches it, unless its "
     "default_action says otherwise; a server that answers OK skips the rest of the list.",
     "Ask a policy server (postgrey, Dovecot quota) for a verdict.")
_add("reject_unauth_pipelining", G, N, Effect.REJECTS, "2.0", _I,
     "Rejects clients that talk before the server answered (a spamware habit). A few broken "
     "mail clients do this too and get refused.",
     "Reject clients that send commands ahead of time.",
     lists=frozenset({"data", "end_of_data"}),
     condition="useful in the DATA list: elsewhere it misses clients that use EHLO when "
               "smtpd_delay_reject = yes")
_add("reject_plaintext_session", G, N, Effect.REJECTS, "2.3", _C,
     "Rejects every client that did not start TLS: servers that send without encryption "
     "(still common for small ones) lose their mail to you.",
     "Reject sessions without TLS.")
_add("reject_multi_recipient_bounce", G, N, Effect.REJECTS, "2.1", _C,
     "Rejects bounces (null sender) with more than one recipient. Rare but legitimate "
     "delivery reports to several people are refused.",
     "Reject a bounce addressed to several recipients.",
     lists=frozenset({"relay", "recipient", "data", "end_of_data"}),
     condition="reliable only in the DATA or end-of-data list: at RCPT TO it rejects the "
               "second and later recipients")
_add("check_etrn_access", G, T, Effect.LOOKS_UP, "1.0", _I,
     "Only smtpd_etrn_restrictions uses it; in these lists it never matches.",
     "Look up the ETRN domain in a table.", lists=frozenset())

# ---- client ----------------------------------------------------------------------------------
_add("permit_mynetworks", CL, N, Effect.PERMITS, "1.0", _C,
     "Trusts every address in mynetworks completely: " + _PERMIT_SKIPS + ", and it may relay. "
     "With a wide mynetworks (a LAN, a provider's range, NAT) anyone behind the same network "
     "can send spam through you.",
     "Accept clients whose IP address is in mynetworks.")
_add("permit_inet_interfaces", CL, N, Effect.PERMITS, "2.0", _I,
     "Trusts programs on this machine (its own IP addresses): " + _PERMIT_SKIPS + ".",
     "Accept clients connecting from this machine's own addresses.")
_add("permit_sasl_authenticated", CL, N, Effect.PERMITS, "2.0", _C,
     "Trusts logged-in users: " + _PERMIT_SKIPS + ". A stolen password then sends spam "
     "through you unchecked. Does nothing where SASL is off (port 25 on MiaB).",
     "Accept clients that logged in (SMTP AUTH).")
_add("permit_tls_clientcerts", CL, N, Effect.PERMITS, "2.2", _C,
     "Trusts clients whose certificate fingerprint is in relay_clientcerts: " + _PERMIT_SKIPS
     + ".", "Accept clients with a listed TLS certificate.")
_add("permit_tls_all_clientcerts", CL, N, Effect.PERMITS, "2.2", _D,
     "Trusts every client with any certificate a known CA signed: anyone can buy one, so "
     "this can relay for strangers.", "Accept any client with a CA-signed certificate.",
     outsider_permit=True)
_add("reject_unknown_client_hostname", CL, N, Effect.REJECTS, "2.3", _C,
     "Rejects clients whose IP address has no reverse DNS name, or whose name does not point "
     "back to the address. Many small and misconfigured servers fail this and lose mail to "
     "you; a DNS outage makes it answer 450.",
     "Reject clients without forward-confirmed reverse DNS.", dns=True)
_add("reject_unknown_client", CL, N, Effect.REJECTS, "1.0", _C,
     "Old name of reject_unknown_client_hostname: rejects clients without forward-confirmed "
     "reverse DNS.", "Old name of reject_unknown_client_hostname.", dns=True,
     alias_of="reject_unknown_client_hostname")
_add("reject_unknown_reverse_client_hostname", CL, N, Effect.REJECTS, "2.3", _C,
     "Rejects clients whose IP address has no reverse DNS name. Home and small-office "
     "servers often have none and lose mail to you; a DNS outage makes it answer 450.",
     "Reject clients without reverse DNS.", dns=True)
_add("check_client_access", CL, T, Effect.LOOKS_UP, "1.0", _C, _TABLE_RISK,
     "Look up the client IP address and hostname in a table.")
_add("check_reverse_client_hostname_access", CL, T, Effect.LOOKS_UP, "2.6", _C,
     _TABLE_RISK.replace("an OK or PERMIT entry skips", "OK is refused (451 4.3.5) because the "
                         "reverse name is not verified; a PERMIT entry skips"),
     "Look up the unverified reverse DNS name of the client in a table.", dns=True)
for _n, _since, _what in (("check_client_a_access", "3.0", "A records of the client name"),
                          ("check_client_mx_access", "2.7", "MX hosts of the client name"),
                          ("check_client_ns_access", "2.7", "DNS servers of the client name"),
                          ("check_reverse_client_hostname_a_access", "3.0",
                           "A records of the reverse client name"),
                          ("check_reverse_client_hostname_mx_access", "2.7",
                           "MX hosts of the reverse client name"),
                          ("check_reverse_client_hostname_ns_access", "2.7",
                           "DNS servers of the reverse client name")):
    _add(_n, CL, T, Effect.LOOKS_UP, _since, _C, _DNS_TABLE_RISK,
         f"Look up the {_what} in a table.", dns=True)
_add("check_ccert_access", CL, T, Effect.LOOKS_UP, "2.2", _C, _TABLE_RISK,
     "Look up the client's TLS certificate fingerprint in a table.")
_add("check_sasl_access", CL, T, Effect.LOOKS_UP, "2.11", _C, _TABLE_RISK,
     "Look up the logged-in user name in a table.",
     condition="only for clients that logged in; ignored with a warning when SASL is off")
_add("reject_rbl_client", CL, DNS, Effect.REJECTS, "2.0", _C, _RBL_RISK,
     "Reject clients whose IP address is on a DNS blocklist.", dns=True)
_add("reject_rbl", CL, DNS, Effect.REJECTS, "2.0", _C, _RBL_RISK,
     "Old name of reject_rbl_client.", dns=True, alias_of="reject_rbl_client")
_add("reject_rhsbl_client", CL, DNS, Effect.REJECTS, "2.0", _C, _RHSBL_RISK,
     "Reject clients whose verified hostname is on a domain blocklist.", dns=True)
_add("reject_rhsbl_reverse_client", CL, DNS, Effect.REJECTS, "2.8", _C, _RHSBL_RISK,
     "Reject clients whose reverse DNS name is on a domain blocklist.", dns=True)
_add("permit_dnswl_client", CL, DNS, Effect.PERMITS, "2.8", _C,
     "Trusts clients on a DNS allowlist: " + _PERMIT_SKIPS + ". The list's owner decides who "
     "that is; before reject_unauth_destination it lets listed hosts relay. A slow DNS list "
     "delays mail.", "Accept clients whose IP address is on a DNS allowlist.", dns=True,
     outsider_permit=True)
_add("permit_rhswl_client", CL, DNS, Effect.PERMITS, "2.8", _C,
     "Trusts clients whose hostname is on a DNS allowlist: " + _PERMIT_SKIPS + ". Before "
     "reject_unauth_destination it lets listed hosts relay.",
     "Accept clients whose hostname is on a domain allowlist.", dns=True,
     outsider_permit=True)
_add("reject_maps_rbl", CL, N, Effect.REJECTS, "1.0", _D,
     "Removed in Postfix 3.9 (smtpd then answers 451 4.3.5 to everyone reaching it); use "
     "reject_rbl_client DOMAIN instead.", "Old blocklist check using maps_rbl_domains.",
     dns=True, removed="3.9", alias_of="reject_rbl_client")

# ---- HELO ------------------------------------------------------------------------------------
_add("reject_invalid_helo_hostname", H, N, Effect.REJECTS, "2.3", _I,
     "Rejects clients whose HELO name is not valid syntax. Real servers rarely fail this.",
     "Reject a HELO/EHLO name with bad syntax.")
_add("reject_invalid_hostname", H, N, Effect.REJECTS, "1.0", _I,
     "Old name of reject_invalid_helo_hostname.", "Old name of reject_invalid_helo_hostname.",
     alias_of="reject_invalid_helo_hostname")
_add("reject_non_fqdn_helo_hostname", H, N, Effect.REJECTS, "2.3", _C,
     "Rejects clients that say HELO with a short name (no dot). Some real but sloppy "
     "servers (and office scanners) do this and lose mail to you.",
     "Reject a HELO/EHLO name that is not fully qualified.")
_add("reject_non_fqdn_hostname", H, N, Effect.REJECTS, "1.0", _C,
     "Old name of reject_non_fqdn_helo_hostname.",
     "Old name of reject_non_fqdn_helo_hostname.", alias_of="reject_non_fqdn_helo_hostname")
_add("reject_unknown_helo_hostname", H, N, Effect.REJECTS, "2.3", _C,
     "Rejects clients whose HELO name has no DNS A or MX record. Real senders with broken "
     "DNS are rejected (e.g. Cisco's DMARC reporters), and a DNS outage turns it into "
     "450 for everyone.", "Reject a HELO/EHLO name that does not resolve.", dns=True)
_add("reject_unknown_hostname", H, N, Effect.REJECTS, "1.0", _C,
     "Old name of reject_unknown_helo_hostname: rejects real senders whose HELO name does "
     "not resolve.", "Old name of reject_unknown_helo_hostname.", dns=True,
     alias_of="reject_unknown_helo_hostname")
_add("permit_naked_ip_address", H, N, Effect.PERMITS, "1.0", _D,
     "Permits any client whose HELO is a bare IP address: anyone can say that, so before "
     "reject_unauth_destination it relays for strangers. Removed in Postfix 3.9 (451 4.3.5).",
     "Accept a HELO that is a bare IP address (obsolete).", removed="3.9",
     outsider_permit=True)
_add("check_helo_access", H, T, Effect.LOOKS_UP, "1.0", _C, _TABLE_RISK + _FORGEABLE,
     "Look up the HELO/EHLO name in a table.", outsider_permit=True)
for _n, _since, _what in (("check_helo_a_access", "3.0", "A records of the HELO name"),
                          ("check_helo_mx_access", "2.1", "MX hosts of the HELO name"),
                          ("check_helo_ns_access", "2.1", "DNS servers of the HELO name")):
    _add(_n, H, T, Effect.LOOKS_UP, _since, _C, _DNS_TABLE_RISK,
         f"Look up the {_what} in a table.", dns=True)
_add("reject_rhsbl_helo", H, DNS, Effect.REJECTS, "2.0", _C, _RHSBL_RISK,
     "Reject a HELO name that is on a domain blocklist.", dns=True)

# ---- sender ----------------------------------------------------------------------------------
_add("check_sender_access", S, T, Effect.LOOKS_UP, "1.0", _C, _TABLE_RISK + _FORGEABLE,
     "Look up the MAIL FROM address, its domain and parent domains in a table.",
     outsider_permit=True)
for _n, _since, _what in (("check_sender_a_access", "3.0", "A records of the sender domain"),
                          ("check_sender_mx_access", "2.1", "MX hosts of the sender domain"),
                          ("check_sender_ns_access", "2.1", "DNS servers of the sender domain")):
    _add(_n, S, T, Effect.LOOKS_UP, _since, _C, _DNS_TABLE_RISK,
         f"Look up the {_what} in a table.", dns=True)
_add("reject_non_fqdn_sender", S, N, Effect.REJECTS, "1.0", _I,
     "Rejects MAIL FROM addresses without a fully qualified domain (user@host). Real "
     "servers rarely send those; badly set up scripts on your own network may.",
     "Reject a sender address whose domain is not fully qualified.")
_add("reject_unknown_sender_domain", S, N, Effect.REJECTS, "2.3", _C,
     "Rejects senders whose domain has no DNS A or MX record. Real senders with broken DNS "
     "are rejected (e.g. Cisco's DMARC reports from MAILER-DAEMON@esa4...iphmx.com get "
     "450 'Domain not found'), and a DNS outage answers 450 to everyone.",
     "Reject a sender domain that has no DNS address or mail server.", dns=True)
_add("reject_unknown_address", S, N, Effect.REJECTS, "2.3", _C,
     "Same as reject_unknown_sender_domain in this position: real senders with broken DNS "
     "are rejected.", "Reject a sender domain that does not resolve.", dns=True,
     alias_of="reject_unknown_sender_domain")
_add("reject_unlisted_sender", S, N, Effect.REJECTS, "2.1", _I,
     "Rejects senders that claim one of your own domains but are not a known address there. "
     "Scripts that send from made-up addresses of your domain are refused.",
     "Reject a sender in your own domains that has no mailbox or alias.")
_add("reject_unverified_sender", S, N, Effect.REJECTS, "2.1", _C,
     "Probes the sender's server before accepting: slow, the probes can get you listed as a "
     "spam source, and senders whose servers refuse probes are rejected.",
     "Reject a sender address that its own server refuses (address probe).", dns=True)
_add("reject_authenticated_sender_login_mismatch", S, N, Effect.REJECTS, "2.1", _I,
     "Logged-in users may only send as addresses smtpd_sender_login_maps gives them. A user "
     "sending from an alias not in that map is refused.",
     "Reject a logged-in user sending as an address they do not own.",
     condition="needs SASL enabled in this smtpd (ignored with a warning otherwise)")
_add("reject_known_sender_login_mismatch", S, N, Effect.REJECTS, "2.11", _I,
     "Like reject_sender_login_mismatch, but only for sender addresses listed in "
     "smtpd_sender_login_maps: outsiders cannot send as your users without logging in.",
     "Reject a sender address owned by a user who did not log in as that user.",
     condition="needs SASL enabled in this smtpd")
_add("reject_unauthenticated_sender_login_mismatch", S, N, Effect.REJECTS, "2.1", _C,
     "Clients that did not log in may not use any address listed in smtpd_sender_login_maps. "
     "Mail forwarded to you from outside with one of your users as sender is refused.",
     "Reject a listed sender address used without logging in.",
     condition="needs SASL enabled in this smtpd")
_add("reject_sender_login_mismatch", S, N, Effect.REJECTS, "2.1", _C,
     "Both reject_authenticated_ and reject_unauthenticated_sender_login_mismatch: mail "
     "forwarded from outside with your users as sender is refused.",
     "Reject sender addresses not owned by the (logged-in) client.",
     condition="needs SASL enabled in this smtpd")
_add("reject_rhsbl_sender", S, DNS, Effect.REJECTS, "2.0", _C, _RHSBL_RISK,
     "Reject a sender domain that is on a domain blocklist.", dns=True)

# ---- recipient -------------------------------------------------------------------------------
_add("reject_unauth_destination", R, N, Effect.REJECTS, "1.0", _I,
     "The relay guard: rejects mail for domains this server does not handle unless an "
     "earlier permit let the client through. Without it (or defer_unauth_destination) in "
     "the relay or recipient list Postfix refuses to run.",
     "Reject mail to foreign domains (no relaying).", guard=True)
_add("defer_unauth_destination", R, N, Effect.DEFERS, "2.10", _I,
     "Relay guard that answers 450 instead of 554: relaying attempts keep retrying.",
     "Temporary-reject mail to foreign domains.", guard=True)
_add("check_relay_domains", R, N, Effect.PERMITS, "1.0", _D,
     "Removed in Postfix 3.9 (451 4.3.5 for everyone reaching it); use "
     "reject_unauth_destination.", "Old relay check.", removed="3.9", guard=True)
_add("permit_auth_destination", R, N, Effect.PERMITS, "2.0", _C,
     "Accepts every message for your own domains: " + _PERMIT_SKIPS + ", for anyone writing "
     "to you (spam checks after it never run).", "Accept mail for your own domains.")
_add("permit_mx_backup", R, N, Effect.PERMITS, "1.0", _C,
     "Relays for any domain whose MX points at you; anyone can point a domain's MX here. "
     "Deprecated since Postfix 3.9.", "Accept mail for domains that list this host as MX.",
     dns=True, outsider_permit=True)
_add("check_recipient_access", R, T, Effect.LOOKS_UP, "1.0", _C,
     _TABLE_RISK + " Before reject_unauth_destination an OK entry for a foreign domain "
     "relays to it for anyone.", "Look up the RCPT TO address, its domain and parents in a "
     "table.", outsider_permit=True)
for _n, _since, _what in (("check_recipient_a_access", "3.0",
                           "A records of the recipient domain"),
                          ("check_recipient_mx_access", "2.1", "MX hosts of the recipient domain"),
                          ("check_recipient_ns_access", "2.1",
                           "DNS servers of the recipient domain")):
    _add(_n, R, T, Effect.LOOKS_UP, _since, _C, _DNS_TABLE_RISK,
         f"Look up the {_what} in a table.", dns=True)
_add("reject_non_fqdn_recipient", R, N, Effect.REJECTS, "1.0", _I,
     "Rejects RCPT TO addresses without a fully qualified domain. Safe for mail from "
     "outside.", "Reject a recipient whose domain is not fully qualified.")
_add("reject_unknown_recipient_domain", R, N, Effect.REJECTS, "2.3", _C,
     "Rejects recipients whose domain has no DNS A or MX record; a DNS outage makes your "
     "users' outgoing mail answer 450.", "Reject a recipient domain that does not resolve.",
     dns=True)
_add("reject_unlisted_recipient", R, N, Effect.REJECTS, "2.1", _I,
     "Rejects mail for addresses that do not exist here, at RCPT time instead of bouncing "
     "later. A mailbox or alias missing from the maps loses its mail.",
     "Reject recipients in your domains that have no mailbox or alias.")
_add("check_recipient_maps", R, N, Effect.REJECTS, "2.0", _I,
     "Old name of reject_unlisted_recipient.", "Old name of reject_unlisted_recipient.",
     alias_of="reject_unlisted_recipient")
_add("reject_unverified_recipient", R, N, Effect.REJECTS, "2.1", _C,
     "Probes the recipient's server before accepting; when it is slow or down, senders get "
     "450 and retry.", "Reject a recipient its final server refuses (address probe).")
_add("reject_rhsbl_recipient", R, DNS, Effect.REJECTS, "2.0", _C, _RHSBL_RISK,
     "Reject a recipient domain that is on a domain blocklist.", dns=True)

del _n, _since, _what

RESTRICTIONS: dict[str, Restriction] = dict(_REGISTRY)
"""Every known restriction by its (lower-case) name."""


def lookup(name: str) -> Restriction | None:
    """The restriction called ``name`` (case-insensitive, like smtpd), or None."""
    return RESTRICTIONS.get(name.lower())


def for_list(key: str) -> list[Restriction]:
    """Restrictions that act in list ``key`` (one of ``LISTS``), current names first."""
    if key not in LIST_PARAMS:
        raise KeyError(f"unknown restriction list {key!r}; one of {', '.join(LISTS)}")
    found = [r for r in RESTRICTIONS.values() if key in r.lists]
    return sorted(found, key=lambda r: (r.removed is not None, r.alias_of is not None))


def argument_count(name: str) -> int:
    """How many following words the restriction ``name`` consumes (0 or 1)."""
    r = lookup(name)
    return 1 if r is not None and r.takes_argument else 0


def is_table_reference(word: str) -> bool:
    """``type:name`` (or ``{...}``): a bare table in a list, read as the list's default check."""
    return ":" in word or word.startswith("{")


# ---- access(5) actions -----------------------------------------------------------------------


@dataclass(frozen=True)
class AccessAction:
    name: str
    effect: Effect
    argument: str | None
    """What follows the action word: None, 'optional text', 'text', 'transport:destination'..."""
    since: str
    risk: Risk
    summary: str


ACCESS_ACTIONS: dict[str, AccessAction] = {a.name: a for a in (
    AccessAction("OK", Effect.PERMITS, None, "1.0", Risk(_C, "Skips every later check in this "
                 "list for whatever matches: " + _PERMIT_SKIPS + "."),
                 "Accept: stop this list here."),
    AccessAction("PERMIT", Effect.PERMITS, None, "1.0", Risk(_C, "Same as OK (it is the "
                 "restriction 'permit'): skips every later check in this list."),
                 "Accept: stop this list here."),
    AccessAction("RELAY", Effect.PERMITS, None, "1.0", Risk(_C, "Same as OK."),
                 "Accept (same as OK)."),
    AccessAction("REJECT", Effect.REJECTS, "optional text", "1.0",
                 Risk(_I, "Permanent reject (554 by default); the sender gets a bounce."),
                 "Reject permanently."),
    AccessAction("DEFER", Effect.DEFERS, "optional text", "2.6",
                 Risk(_C, "Temporary reject: the sender retries for days, then bounces."),
                 "Reject temporarily (450)."),
    AccessAction("DEFER_IF_REJECT", Effect.DEFERS, "optional text", "2.1",
                 Risk(_I, "A later reject becomes 450 'try again'."),
                 "Make a later reject temporary."),
    AccessAction("DEFER_IF_PERMIT", Effect.DEFERS, "optional text", "2.1",
                 Risk(_C, "A later accept becomes 450 'try again': mail is delayed."),
                 "Make a later accept temporary."),
    AccessAction("DUNNO", Effect.LOOKS_UP, None, "2.0",
                 Risk(_I, "No decision: the next check in the list runs (the safe "
                      "exception)."), "Stop searching this table, go on with the list."),
    AccessAction("HOLD", Effect.WARNS, "optional text", "2.0",
                 Risk(_C, "Accepted mail waits in the hold queue until you release it "
                      "with postsuper -H; nobody is told."), "Put the message on hold."),
    AccessAction("DISCARD", Effect.PERMITS, "optional text", "2.0",
                 Risk(_D, "Claims success to the sender and silently drops the message (all "
                      "its recipients): nobody ever learns the mail was lost."),
                 "Accept and throw the message away."),
    AccessAction("FILTER", Effect.WARNS, "transport:destination", "2.0",
                 Risk(_C, "Sends the message through another transport; if that is down, "
                      "mail piles up in the queue."), "Route the message through a filter."),
    AccessAction("PREPEND", Effect.WARNS, "headername: headervalue", "2.1",
                 Risk(_I, "Adds a header; no effect on delivery."), "Add a message header."),
    AccessAction("REDIRECT", Effect.WARNS, "user@domain", "2.1",
                 Risk(_D, "Sends the message (all its recipients) to another address "
                      "instead: the real recipients never get it."),
                 "Deliver to another address instead."),
    AccessAction("BCC", Effect.WARNS, "user@domain", "3.0",
                 Risk(_C, "Sends a silent copy elsewhere: a privacy matter for your users."),
                 "Send a blind copy."),
    AccessAction("WARN", Effect.WARNS, "optional text", "2.1",
                 Risk(_I, "Only logs a warning."), "Log a warning, go on."),
    AccessAction("INFO", Effect.WARNS, "optional text", "3.0",
                 Risk(_I, "Only logs an informational line."), "Log a line, go on."),
)}
"""access(5) actions by upper-case name; also valid: ``4NN text``, ``5NN text``, an
all-numerical value (same as OK) and any restriction name (e.g. ``permit_mynetworks``)."""


def access_action(value: str) -> AccessAction | Restriction | str | None:
    """Classify a table value: an AccessAction, a Restriction, 'ok' (all-numerical),
    'reject'/'defer' (4NN/5NN text), or None when smtpd would not understand it."""
    words = value.split()
    if not words:
        return None
    head = words[0]
    if head.upper() in ACCESS_ACTIONS:
        return ACCESS_ACTIONS[head.upper()]
    if head.isdigit() and len(head) == 3 and head[0] in "45":
        return "defer" if head[0] == "4" else "reject"
    if head.isdigit():
        return "ok"
    return lookup(head)


def action_permits(value: str) -> bool:
    """Whether a table value makes smtpd PERMIT (end the list with accept)."""
    kind = access_action(value)
    if kind == "ok":
        return True
    if isinstance(kind, AccessAction):
        return kind.effect is Effect.PERMITS and kind.name != "DISCARD"
    if isinstance(kind, Restriction):
        return kind.effect is Effect.PERMITS
    return False


# ---- parameter-level risks -------------------------------------------------------------------
_PRIVATE_V4 = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12",
                                                   "192.168.0.0/16", "100.64.0.0/10")]


def _network(word: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """``192.168.0.0/16``, ``[::1]/128``, ``10.1.2.3`` as a network; None for tables, names."""
    try:
        return ipaddress.ip_network(word.replace("[", "").replace("]", ""), strict=False)
    except ValueError:
        return None


def _is_loopback(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    if isinstance(net, ipaddress.IPv6Network):
        mapped = net.network_address.ipv4_mapped
        if mapped is not None:
            return mapped.is_loopback
    return net.is_loopback


def _mynetworks_risk(value: str) -> Risk | None:
    worst: Risk | None = None
    for word in value.replace(",", " ").split():
        net = _network(word)
        if net is None or _is_loopback(net):
            continue  # a table (cidr:/etc/postfix/trusted) or a host name: cannot judge here
        if net.prefixlen == 0 or (net.version == 4 and net.prefixlen < 8):
            return Risk(_D, f"mynetworks contains {word}: essentially the whole Internet is "
                            "trusted, and permit_mynetworks makes this server an open relay.")
        if isinstance(net, ipaddress.IPv4Network) and any(net.subnet_of(p) for p in _PRIVATE_V4):
            r = Risk(_C, f"mynetworks contains {word}: every machine on that network (anyone "
                         "behind the same NAT or Wi-Fi, an infected PC) is trusted by "
                         "permit_mynetworks, skips the spam checks and can relay through you.")
        else:
            wide = net.prefixlen < (16 if net.version == 4 else 48)
            r = Risk(_D if wide else _C,
                     f"mynetworks contains {word}, a public range: every host in it (other "
                     "customers of the same provider, anyone behind that NAT) can relay "
                     "through you via permit_mynetworks.")
        if worst is None or r.level.rank > worst.level.rank:
            worst = r
    return worst


def parameter_risk(name: str, value: str) -> Risk | None:
    """Risk of setting main.cf parameter ``name`` to ``value`` (None: nothing to say)."""
    v = value.strip()
    low = v.lower()
    if name == "milter_default_action":
        if low == "tempfail":
            return Risk(_C, "When a milter (OpenDKIM, OpenDMARC) is down or slow, every message "
                            "is deferred with 451: no mail arrives until it is back.")
        if low == "reject":
            return Risk(_D, "When a milter is down or slow, every message is rejected "
                            "permanently: senders get bounces and mail is lost.")
        if low == "quarantine":
            return Risk(_C, "When a milter is down, mail is accepted but held in the hold "
                            "queue until you release it.")
        if low == "accept":
            return Risk(_I, "When a milter is down, mail passes without it (no DKIM signature, "
                            "no DMARC check) but nothing is lost.")
        return None
    if name == "mynetworks":
        return _mynetworks_risk(v)
    if name == "mynetworks_style" and low in ("subnet", "class"):
        return Risk(_C, f"mynetworks_style = {v} trusts every host on this machine's "
                        f"{'subnets' if low == 'subnet' else 'whole address class'} when "
                        "mynetworks is not set: permit_mynetworks lets them relay.")
    if name == "smtpd_delay_reject" and low == "no":
        return Risk(_C, "Client and HELO lists run before MAIL FROM: sender and recipient checks "
                        "in them do nothing, and permit_sasl_authenticated cannot work there.")
    if name == "soft_bounce" and low == "yes":
        return Risk(_C, "Every permanent reject becomes a temporary one: senders retry for days "
                        "and mail that should bounce stays in queues.")
    if name == "smtpd_helo_required" and low == "yes":
        return Risk(_I, "Clients must say HELO/EHLO first; practically every real server does.")
    if name in ("unknown_address_tempfail_action", "unknown_helo_hostname_tempfail_action",
                "reject_tempfail_action") and low == "defer":
        return Risk(_I, "Temporary DNS failures answer 450 'try again' right away instead of "
                        "waiting for the rest of the list.")
    if name == "smtpd_sasl_auth_enable" and low == "yes":
        return Risk(_I, "Clients can log in on this port; permit_sasl_authenticated then "
                        "trusts them.")
    if name == "unknown_address_reject_code" and v.startswith("5"):
        return Risk(_C, "A sender or recipient domain that does not exist is rejected "
                        "permanently; a brief DNS mistake on the sender's side loses mail.")
    if name == "smtpd_reject_unlisted_recipient" and low == "no":
        return Risk(_C, "Mail for addresses that do not exist is accepted and bounced later: "
                        "you send backscatter to forged senders.")
    return None
