"""Every smtpd restriction Postfix offers (3.6 through 3.11), with risk text: the data lives in
``pfwizard/knowledge/catalogue.ini`` (one section per restriction, list and access(5) action,
described at its top); this module reads it once, at import, into typed objects, and every
list-name and parameter map (``LISTS``, ``LIST_PARAMS``, ``PARAM_LISTS``...) is derived from it.

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
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TypeVar

from pfwizard.findings import Severity

DATA_FILE = Path(__file__).resolve().parent / "knowledge" / "catalogue.ini"
"""The catalogue's data, shipped with the package (package data in pyproject.toml)."""


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
    """What choosing a restriction risks, in the admin's words, and how bad it is."""

    level: Severity
    text: str


@dataclass(frozen=True)
class Restriction:
    """One restriction Postfix knows: where it may go, what it takes, what it does."""

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


@dataclass(frozen=True)
class AccessAction:
    """One action an access(5) table line can give (OK, REJECT, DUNNO, ...)."""

    name: str
    effect: Effect
    argument: str | None
    """What follows the action word: None, 'optional text', 'text', 'transport:destination'..."""
    since: str
    risk: Risk
    summary: str


class CatalogueError(ValueError):
    """The data file is not what this module reads: names the section and the key."""


@dataclass(frozen=True)
class Catalogue:
    """Everything the data file says, typed."""

    lists: list[str]
    """Restriction list keys in the order smtpd evaluates them."""
    list_params: dict[str, str]
    list_titles: dict[str, str]
    default_access: dict[str, str | None]
    restrictions: dict[str, Restriction]
    actions: dict[str, AccessAction]
    not_offered: dict[str, str]
    """Names postconf(5) documents beside the restriction lists that are not offered: why."""


# Keys each kind of section may have; the first group is required.
SECTION_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "list": (frozenset({"parameter", "title", "bare_table"}), frozenset()),
    "target": (frozenset({"lists", "delayed", "condition"}), frozenset()),
    "restriction": (
        frozenset({"target", "argument", "effect", "since", "summary", "risk", "risk_text"}),
        frozenset({"lists", "removed", "alias_of", "dns", "outsider_permit", "guard", "condition"}),
    ),
    "action": (
        frozenset({"effect", "argument", "since", "summary", "risk", "risk_text"}),
        frozenset(),
    ),
}
_YES_NO = {"yes": True, "no": False}
_E = TypeVar("_E", bound=Enum)


_REF = re.compile(r"\$\{text:([a-z_]+)\}")


def read_sections(text: str, where: str) -> dict[str, dict[str, str]]:
    """The file's ``[section]`` blocks of ``key = value`` lines, in order.

    The format, kept to what the file needs and read in well under a millisecond (Python's
    configparser takes ten times as long, at every start): ``#`` at the start of a line is a
    comment; a line starting with white space goes on with the previous value (joined with
    one space); ``${text:NAME}`` is replaced with NAME from the ``[text]`` section.  A section
    or key given twice is an error, as is anything else, naming the line."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    key = ""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line[0].isspace():
            if current is None or not key:
                raise CatalogueError(
                    f"{where}, line {number}: a continued value, but no key before it"
                )
            current[key] += " " + line.strip()
            continue
        if line.startswith("["):
            name = line.rstrip()
            if not name.endswith("]"):
                raise CatalogueError(f"{where}, line {number}: {name}: no closing ]")
            name = name[1:-1].strip()
            if name in sections:
                raise CatalogueError(f"{where}, line {number}: [{name}] given twice")
            current, key = sections.setdefault(name, {}), ""
            continue
        key, eq, value = line.partition("=")
        key = key.strip()
        if current is None or not eq or not key:
            raise CatalogueError(f"{where}, line {number}: expected [section] or key = value")
        if key in current:
            raise CatalogueError(f"{where}, line {number}: {key} given twice")
        current[key] = value.strip()
    texts = sections.get("text", {})

    def expand(m: re.Match[str]) -> str:
        if m.group(1) not in texts:
            raise CatalogueError(f"{where}: ${{text:{m.group(1)}}} is not in [text]")
        return texts[m.group(1)]

    return {
        name: {k: _REF.sub(expand, v) if "${" in v else v for k, v in values.items()}
        for name, values in sections.items()
    }


class _Section:
    """One section's values, its keys checked against ``SECTION_KEYS``."""

    def __init__(self, name: str, values: dict[str, str], kind: str) -> None:
        self.name = name
        self.values = values
        if kind in SECTION_KEYS:
            required, optional = SECTION_KEYS[kind]
            missing = sorted(required - set(self.values))
            unknown = sorted(set(self.values) - required - optional)
            if missing or unknown:
                raise CatalogueError(
                    f"[{name}]: "
                    + "; ".join(
                        ([f"missing {', '.join(missing)}"] if missing else [])
                        + ([f"unknown key {', '.join(unknown)}"] if unknown else [])
                    )
                )

    def get(self, key: str) -> str | None:
        value = self.values.get(key)
        return value or None

    def enum(self, key: str, kind: type[_E]) -> _E:
        try:
            return kind(self.values[key])
        except ValueError:
            known = ", ".join(str(m.value) for m in kind)
            raise CatalogueError(
                f"[{self.name}] {key} = {self.values[key]}: not one of {known}"
            ) from None

    def flag(self, key: str) -> bool:
        value = self.values.get(key, "no")
        if value not in _YES_NO:
            raise CatalogueError(f"[{self.name}] {key} = {value}: yes or no")
        return _YES_NO[value]

    def lists(self, key: str, known: list[str]) -> frozenset[str]:
        words = self.values[key].split()
        wrong = [w for w in words if w not in known]
        if wrong:
            raise CatalogueError(
                f"[{self.name}] {key}: unknown list {', '.join(wrong)}; one of {', '.join(known)}"
            )
        return frozenset(words)


def load(path: Path = DATA_FILE) -> Catalogue:
    """Read and check the data file (the module does so once, at import)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"cannot read {path}: {exc}") from None
    sections = read_sections(text, str(path))
    lists: list[str] = []
    params: dict[str, str] = {}
    titles: dict[str, str] = {}
    bare: dict[str, str | None] = {}
    targets: dict[Target, tuple[frozenset[str], frozenset[str], str | None]] = {}
    restrictions: dict[str, Restriction] = {}
    actions: dict[str, AccessAction] = {}
    not_offered: dict[str, str] = {}
    for name, values in sections.items():
        kind, _, key = name.partition(" ")
        if name == "text":
            continue
        if name == "not offered":
            not_offered = dict(values)
            continue
        if kind not in SECTION_KEYS or not key:
            raise CatalogueError(
                f"[{name}]: unknown section; one of [text], [not offered], "
                + ", ".join(f"[{k} NAME]" for k in SECTION_KEYS)
            )
        sec = _Section(name, values, kind)
        if kind == "list":
            lists.append(key)
            params[key] = sec.values["parameter"]
            titles[key] = sec.values["title"]
            bare[key] = sec.get("bare_table")
        elif kind == "target":
            try:
                target = Target(key)
            except ValueError:
                raise CatalogueError(
                    f"[{name}]: not one of " + ", ".join(t.value for t in Target)
                ) from None
            targets[target] = (
                sec.lists("lists", lists),
                sec.lists("delayed", lists),
                sec.get("condition"),
            )
        elif kind == "restriction":
            target = sec.enum("target", Target)
            if target not in targets:
                raise CatalogueError(f"[{name}]: [target {target.value}] must come first")
            placed, delayed, cond = targets[target]
            acts = sec.lists("lists", lists) if "lists" in sec.values else placed
            own = sec.get("condition")
            if cond is not None:
                own = cond if own is None else f"{own}; {cond}"
            restrictions[key] = Restriction(
                name=key,
                lists=acts,
                arg_kind=sec.enum("argument", ArgKind),
                effect=sec.enum("effect", Effect),
                dns=sec.flag("dns"),
                since=sec.values["since"],
                risk=Risk(sec.enum("risk", Severity), sec.values["risk_text"]),
                summary=sec.values["summary"],
                condition=own,
                target=target,
                delayed=delayed & acts,
                removed=sec.get("removed"),
                alias_of=sec.get("alias_of"),
                outsider_permit=sec.flag("outsider_permit"),
                guard=sec.flag("guard"),
            )
        else:
            actions[key] = AccessAction(
                key,
                sec.enum("effect", Effect),
                sec.get("argument"),
                sec.values["since"],
                Risk(sec.enum("risk", Severity), sec.values["risk_text"]),
                sec.values["summary"],
            )
    return Catalogue(lists, params, titles, bare, restrictions, actions, not_offered)


CATALOGUE = load()

LISTS: list[str] = CATALOGUE.lists
"""Restriction lists in the order smtpd evaluates them."""
LIST_PARAMS: dict[str, str] = CATALOGUE.list_params
"""List key -> its main.cf parameter (``client`` -> ``smtpd_client_restrictions``)."""
PARAM_LISTS: dict[str, str] = {v: k for k, v in LIST_PARAMS.items()}
LIST_TITLES: dict[str, str] = CATALOGUE.list_titles
DEFAULT_ACCESS: dict[str, str | None] = CATALOGUE.default_access
"""What a bare ``type:table`` in a list means (smtpd's def_acl); None: smtpd answers
451 4.3.5."""
RESTRICTIONS: dict[str, Restriction] = CATALOGUE.restrictions
"""Every known restriction by its (lower-case) name."""
ACCESS_ACTIONS: dict[str, AccessAction] = CATALOGUE.actions
"""access(5) actions by upper-case name; also valid: ``4NN text``, ``5NN text``, an
all-numerical value (same as OK) and any restriction name (e.g. ``permit_mynetworks``)."""
NOT_OFFERED: dict[str, str] = CATALOGUE.not_offered


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


# ---- parameter-level risks (judged from the value: code, not data) ------------------------
_I, _C, _D = Severity.INFO, Severity.CAUTION, Severity.DANGER
_PRIVATE_V4 = [
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
]


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
            return Risk(
                _D,
                f"mynetworks contains {word}: essentially the whole Internet is "
                "trusted, and permit_mynetworks makes this server an open relay.",
            )
        if isinstance(net, ipaddress.IPv4Network) and any(net.subnet_of(p) for p in _PRIVATE_V4):
            r = Risk(
                _C,
                f"mynetworks contains {word}: every machine on that network (anyone "
                "behind the same NAT or Wi-Fi, an infected PC) is trusted by "
                "permit_mynetworks, skips the spam checks and can relay through you.",
            )
        else:
            wide = net.prefixlen < (16 if net.version == 4 else 48)
            r = Risk(
                _D if wide else _C,
                f"mynetworks contains {word}, a public range: every host in it (other "
                "customers of the same provider, anyone behind that NAT) can relay "
                "through you via permit_mynetworks.",
            )
        if worst is None or r.level.rank > worst.level.rank:
            worst = r
    return worst


def parameter_risk(name: str, value: str) -> Risk | None:
    """Risk of setting main.cf parameter ``name`` to ``value`` (None: nothing to say)."""
    v = value.strip()
    low = v.lower()
    if name == "milter_default_action":
        if low == "tempfail":
            return Risk(
                _C,
                "When a milter (OpenDKIM, OpenDMARC) is down or slow, every message "
                "is deferred with 451: no mail arrives until it is back.",
            )
        if low == "reject":
            return Risk(
                _D,
                "When a milter is down or slow, every message is rejected "
                "permanently: senders get bounces and mail is lost.",
            )
        if low == "quarantine":
            return Risk(
                _C,
                "When a milter is down, mail is accepted but held in the hold "
                "queue until you release it.",
            )
        if low == "accept":
            return Risk(
                _I,
                "When a milter is down, mail passes without it (no DKIM signature, "
                "no DMARC check) but nothing is lost.",
            )
        return None
    if name == "mynetworks":
        return _mynetworks_risk(v)
    if name == "mynetworks_style" and low in ("subnet", "class"):
        return Risk(
            _C,
            f"mynetworks_style = {v} trusts every host on this machine's "
            f"{'subnets' if low == 'subnet' else 'whole address class'} when "
            "mynetworks is not set: permit_mynetworks lets them relay.",
        )
    if name == "smtpd_delay_reject" and low == "no":
        return Risk(
            _C,
            "Client and HELO lists run before MAIL FROM: sender and recipient checks "
            "in them do nothing, and permit_sasl_authenticated cannot work there.",
        )
    if name == "soft_bounce" and low == "yes":
        return Risk(
            _C,
            "Every permanent reject becomes a temporary one: senders retry for days "
            "and mail that should bounce stays in queues.",
        )
    if name == "smtpd_helo_required" and low == "yes":
        return Risk(_I, "Clients must say HELO/EHLO first; practically every real server does.")
    if (
        name
        in (
            "unknown_address_tempfail_action",
            "unknown_helo_hostname_tempfail_action",
            "reject_tempfail_action",
        )
        and low == "defer"
    ):
        return Risk(
            _I,
            "Temporary DNS failures answer 450 'try again' right away instead of "
            "waiting for the rest of the list.",
        )
    if name == "smtpd_sasl_auth_enable" and low == "yes":
        return Risk(
            _I, "Clients can log in on this port; permit_sasl_authenticated then trusts them."
        )
    if name == "unknown_address_reject_code" and v.startswith("5"):
        return Risk(
            _C,
            "A sender or recipient domain that does not exist is rejected "
            "permanently; a brief DNS mistake on the sender's side loses mail.",
        )
    if name == "smtpd_reject_unlisted_recipient" and low == "no":
        return Risk(
            _C,
            "Mail for addresses that do not exist is accepted and bounced later: "
            "you send backscatter to forged senders.",
        )
    return None
