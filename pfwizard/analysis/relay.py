"""Can a client from the Internet relay through this smtpd?  Said from the files alone.

The client pfwizard judges for is an outsider: not in ``mynetworks``, not logged in, no
client certificate, but free to choose its HELO name, its sender address, its reverse DNS
name and the remote recipient it writes to.  Postfix 3.x relays a message only when neither
``smtpd_relay_restrictions`` nor ``smtpd_recipient_restrictions`` rejects it; each list runs
left to right until a PERMIT, REJECT or DEFER, and its end counts as PERMIT.  So a list lets
the outsider through when, before any entry that surely refuses relaying, some entry can
PERMIT them (or the list just ends).

What tables say is read, not guessed: any line of an access table can be made to match (the
sender, HELO name and recipient are the client's to choose), except a client table's line
for a listed address or network, which is the admin's trust just like mynetworks (a wide
network, a bare top-level name or a pattern matching any address still counts).  A result is
judged the way smtpd's check_table_result() does: OK, RELAY, an all-digit or empty result
permit; a result that is a restriction list (``permit_mynetworks``, a restriction class) is
evaluated in place.  Where the answer depends on something pfwizard cannot read (an SQL or
LDAP map, a policy service, a hash table whose source is newer than its ``.db``), the entry
is named as undecided instead of being guessed either way.

Deliberate choices, checked against smtpd_check.c (Postfix 3.7):

- ``check_*_ns_access``, ``check_*_mx_access``, ``check_*_a_access`` and
  ``check_reverse_client_hostname_access`` never permit: smtpd turns their OK into
  ``451 4.3.5`` ("this is not allowed for security reasons").
- ``check_sasl_access`` and ``permit_sasl_authenticated`` only act for logged-in clients;
  ``check_ccert_access`` only for clients with a listed certificate fingerprint, unless the
  table is a pattern or ``static:`` one that matches any certificate.
- ``permit_mx_backup`` counts as an outsider's permit while ``permit_mx_backup_networks`` is
  empty (Postfix's default): anyone can point a domain's MX records at this server and have
  mail for that domain relayed.  Restricted to networks, it is not counted.
- The order of the two lists (``smtpd_relay_before_recipient_restrictions``) changes which
  refusal the client sees, never whether mail is relayed.
- ``mynetworks_style = class`` (mynetworks unset) trusts this machine's whole address class,
  which only the running system knows: undecided.  ``subnet`` and ``host`` are not counted
  (``wide-mynetworks`` speaks about ``subnet``).
- ``relay_domains`` that matches every domain (``static:``, a pattern matching arbitrary
  names, a one-label entry such as ``com``) turns ``reject_unauth_destination`` into a no-op
  and ``permit_auth_destination`` into a permit for everyone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pfwizard import catalogue
from pfwizard.analysis import tablefiles
from pfwizard.analysis.lists import Step, StepKind, resolve, resolve_value
from pfwizard.analysis.params import Params

MAX_DEPTH = 20
# Addresses and domains standing for "anyone out there" when a pattern table is judged.
SAMPLE_ADDRESSES = ("203.0.113.7", "198.51.100.20", "8.8.8.8", "2001:db8::7")
SAMPLE_DOMAINS = ("remote.example", "gmail.com", "example.org", "mx.example.net")
# Results of access(5) that never permit (they reject, defer or fall through).
_NOT_PERMIT = frozenset(
    {
        "DUNNO",
        "REJECT",
        "DEFER",
        "DEFER_IF_REJECT",
        "DEFER_IF_PERMIT",
        "HOLD",
        "FILTER",
        "PREPEND",
        "REDIRECT",
        "BCC",
        "WARN",
        "INFO",
        "DISCARD",
        "SHUNT",
    }
)
_SURE_REFUSAL = frozenset({"REJECT", "DEFER"})
# Lookups whose key an outsider chooses or can be given (access(5) search order).
_OUTSIDER_TABLES = frozenset(
    {"check_client_access", "check_helo_access", "check_sender_access", "check_recipient_access"}
)
_PATTERN_TYPES = frozenset({"regexp", "pcre"})


@dataclass(frozen=True)
class Unknown:
    """Something pfwizard cannot read, that might let an outsider through."""

    item: str
    why: str


@dataclass(frozen=True)
class Opening:
    """How an outsider gets through one list: the entry, and why it permits them."""

    step: Step | None
    reason: str

    def describe(self) -> str:
        if self.step is None:
            return self.reason
        return f"'{self.step.item.render()}'{self.step.where} {self.reason}"


@dataclass
class Walk:
    """Where walking one list got: the first opening, a sure refusal, or unknowns."""

    opening: Opening | None = None
    stopped: bool = False
    """A sure refusal is reached before any opening."""
    unknowns: list[Unknown] = field(default_factory=list)


@dataclass(frozen=True)
class Reach:
    """Whether a list of addresses or domains matches anyone at all."""

    wide: str | None
    """Plain words saying what matches everyone, or None."""
    unknowns: tuple[Unknown, ...] = ()


@dataclass(frozen=True)
class ListVerdict:
    """Whether one restriction list lets mail to other domains through, and why."""

    parameter: str
    opening: Opening | None
    guarded: bool
    unknowns: tuple[Unknown, ...]


@dataclass(frozen=True)
class RelayVerdict:
    """``open``: both lists let an outsider through (the openings say how).  ``undecided``:
    neither list surely refuses and pfwizard cannot read what would decide."""

    relay: ListVerdict
    recipient: ListVerdict

    @property
    def lists(self) -> tuple[ListVerdict, ListVerdict]:
        return self.relay, self.recipient

    @property
    def open(self) -> bool:
        return all(v.opening is not None for v in self.lists)

    @property
    def undecided(self) -> list[Unknown]:
        if self.open or any(v.guarded and not v.unknowns for v in self.lists):
            return []
        return list(dict.fromkeys(u for v in self.lists for u in v.unknowns))


def _regex(pattern: str, flags: str) -> re.Pattern[str] | None:
    f = 0
    if "i" in flags:
        f |= re.IGNORECASE
    try:
        return re.compile(pattern, f)
    except (re.error, RecursionError, OverflowError):
        return None


def _network_is_wide(word: str) -> bool:
    risk = catalogue.parameter_risk("mynetworks", word.strip())
    return risk is not None and risk.level.rank >= 2


class RelayJudge:
    """The relay judgement for one set of effective parameters (one smtpd service)."""

    def __init__(self, params: Params, config_dir: Path | None, main: Params | None = None) -> None:
        self.p = params
        self.config_dir = config_dir
        self.main = main
        """main.cf's values when ``params`` are a master.cf service's: relay_domains is
        applied by trivial-rewrite, which reads main.cf, so both values are judged."""
        self._mynetworks: Reach | None = None
        self._relay_domains: Reach | None = None
        # A table result or class met again (tables naming classes that name the same
        # tables...) is judged once: without this the work doubles at every level.
        self._results: dict[tuple[str, str], Walk] = {}

    # ---- who matches mynetworks and relay_domains ------------------------------------------
    def mynetworks(self) -> Reach:
        if self._mynetworks is None:
            if self.p.is_set("mynetworks"):
                self._mynetworks = self._match_list(
                    self.p.expanded("mynetworks"), "mynetworks", address=True, depth=0
                )
            elif (self.p.expanded("mynetworks_style") or "").strip().lower() == "class":
                self._mynetworks = Reach(
                    None,
                    (
                        Unknown(
                            "mynetworks_style = class",
                            "it trusts this machine's whole address class (up to a /8), which "
                            "pfwizard cannot see from the files",
                        ),
                    ),
                )
            else:
                self._mynetworks = Reach(None)  # host or subnet: wide-mynetworks says it
        return self._mynetworks

    def relay_domains(self) -> Reach:
        if self._relay_domains is None:
            # A private copy: the default "$mydestination" may name parameters main.cf does
            # not set, which is not the admin's doing.
            found = Reach(None)
            for params in (self.main, self.p):
                if params is None:
                    continue
                value = Params(params.raw).expanded("relay_domains")
                found = self._match_list(value, "relay_domains", address=False, depth=0)
                if found.wide or found.unknowns:
                    break
            self._relay_domains = found
        return self._relay_domains

    def _match_list(self, value: str, where: str, *, address: bool, depth: int) -> Reach:
        """A Postfix match list (mynetworks, relay_domains): literal patterns, ``/file``
        names (read in place) and ``type:table`` lookups; ``!pattern`` only excludes, so it
        is skipped (never makes the answer less careful)."""
        unknowns: list[Unknown] = []
        for word in tablefiles.split_braced(value):
            if word.startswith("!"):
                continue
            net = catalogue._network(word) if address else None
            if net is not None:
                if _network_is_wide(word):
                    return Reach(f"{where} lists {word}")
                continue
            if word.startswith("/"):
                found = self._file_patterns(word, where, address=address, depth=depth)
                if found.wide:
                    return found
                unknowns.extend(found.unknowns)
                continue
            if tablefiles.split_table(word) is not None:
                found = self._table_matches(word, where, address=address, depth=depth)
                if found.wide:
                    return found
                unknowns.extend(found.unknowns)
                continue
            # A name: relay_domains is a domain list; mynetworks also matches the client's
            # (verified) host name, and anyone can own a name under a top-level domain.
            label = word.lstrip(".").lower()
            if label and "." not in label and ":" not in label and label != "localhost":
                what = "every domain" if not address else "every client whose host name is"
                return Reach(f"{where} lists '{word}': {what} under .{label}")
        return Reach(None, tuple(unknowns))

    def _file_patterns(self, name: str, where: str, *, address: bool, depth: int) -> Reach:
        if self.config_dir is None or depth > MAX_DEPTH:
            return Reach(None, (Unknown(f"{name} in {where}", "the file was not read"),))
        path = tablefiles.locate(name, self.config_dir)
        try:
            text = tablefiles.read_source(path)
        except FileNotFoundError:
            text = None
        if text is None:
            return Reach(
                None,
                (
                    Unknown(
                        f"{name} in {where}",
                        "it is missing, unreadable, or not a regular file of a sane size",
                    ),
                ),
            )
        words = " ".join(s for _n, s in tablefiles.logical_lines(text))
        found = self._match_list(words, f"{where} (file {path})", address=address, depth=depth + 1)
        return found

    def _table_matches(self, ref: str, where: str, *, address: bool, depth: int) -> Reach:
        parsed = tablefiles.split_table(ref)
        assert parsed is not None
        kind = parsed[0]
        if kind == "static":
            return Reach(
                f"{where} has {ref}, which matches {'every address' if address else 'every domain'}"
            )
        entries = tablefiles.entries(ref, self.config_dir)
        if entries is None:
            return Reach(
                None, (Unknown(f"{ref} in {where}", "pfwizard cannot read what it lists"),)
            )
        samples = (*SAMPLE_ADDRESSES, *SAMPLE_DOMAINS) if address else SAMPLE_DOMAINS
        for e in entries:
            if e.pattern is not None:
                rx = _regex(*e.pattern)
                if rx is None:
                    return Reach(
                        None,
                        (
                            Unknown(
                                f"{ref} in {where}",
                                f"pfwizard cannot judge the pattern {e.key} ({e.where})",
                            ),
                        ),
                    )
                hit = next((s for s in samples if rx.search(s)), None)
                if hit is not None:
                    return Reach(
                        f"{where} has {ref}, whose pattern {e.key} ({e.where}) "
                        f"matches any {'address' if address else 'domain'} "
                        f"(e.g. {hit})"
                    )
                continue
            key = e.key.strip()
            if key == "*":
                return Reach(
                    f"{where} has {ref}, which matches "
                    f"{'every address' if address else 'every domain'} ({e.where})"
                )
            if address and catalogue._network(key) is not None:
                if _network_is_wide(key):
                    return Reach(f"{where} has {ref}, which lists {key} ({e.where})")
            else:
                label = key.lstrip(".").lower()
                if label and "." not in label and label != "localhost":
                    return Reach(
                        f"{where} has {ref}, which lists '{key}' ({e.where}): "
                        f"every domain under .{label}"
                    )
        return Reach(None)

    # ---- the lists -------------------------------------------------------------------------
    def judge(self) -> RelayVerdict:
        return RelayVerdict(self.judge_list("relay"), self.judge_list("recipient"))

    def judge_list(self, key: str) -> ListVerdict:
        param = catalogue.LIST_PARAMS[key]
        steps = resolve(key, self.p)
        walk = self.walk(steps, 0)
        opening = walk.opening
        if opening is None and not walk.stopped:
            reason = (
                "it reaches its end (which accepts) without a reject_unauth_destination "
                "or other refusal an outside client meets"
            )
            guards = [
                s
                for s in steps
                if s.restriction is not None
                and s.restriction.name in ("reject_unauth_destination", "defer_unauth_destination")
            ]
            wide = self.relay_domains().wide if guards else None
            if wide:
                reason = (
                    f"its {guards[0].item.name}{guards[0].where} refuses no domain, because {wide}"
                )
            opening = Opening(None, reason)
        return ListVerdict(param, opening, walk.stopped, tuple(walk.unknowns))

    def walk(self, steps: list[Step], depth: int) -> Walk:
        out = Walk()
        warned = False
        for step in steps:
            if step.kind is StepKind.CLASS:
                continue
            if step.item.name.lower() == "warn_if_reject":
                warned = True
                continue
            was_warned, warned = warned, False
            opening, stops, unknowns = self.step(step, was_warned, depth)
            out.unknowns.extend(unknowns)
            if opening is not None:
                out.opening = opening
                return out
            if stops:
                out.stopped = True
                return out
        return out

    def step(
        self, step: Step, warned: bool, depth: int
    ) -> tuple[Opening | None, bool, list[Unknown]]:
        """(how it lets an outsider through, whether it surely refuses them, unknowns)."""
        if step.kind is StepKind.UNKNOWN:
            return None, not warned, []  # smtpd answers 451 4.3.5 (server configuration)
        if step.kind is StepKind.TABLE:
            default = catalogue.DEFAULT_ACCESS[step.list_key]
            if default is None:
                return None, not warned, []
            return self.table(step, default, step.item.name, warned, depth)
        r = step.restriction
        if r is None:
            return None, False, []
        name = r.name
        if name in ("reject", "defer", "defer_if_permit"):
            return None, not warned, []
        if name in ("reject_unauth_destination", "defer_unauth_destination", "check_relay_domains"):
            rd = self.relay_domains()
            if rd.wide:
                if name == "check_relay_domains":
                    return Opening(step, f"accepts every recipient domain: {rd.wide}"), False, []
                return None, False, []  # every domain counts as this server's own
            if rd.unknowns:
                return None, False, list(rd.unknowns)
            return None, not warned, []
        if name == "permit":
            return Opening(step, "accepts every client"), False, []
        if name == "permit_mynetworks":
            mn = self.mynetworks()
            if mn.wide:
                return Opening(step, f"trusts anyone: {mn.wide}"), False, []
            return None, False, list(mn.unknowns)
        if name == "permit_auth_destination":
            rd = self.relay_domains()
            if rd.wide:
                return Opening(step, f"accepts every recipient domain: {rd.wide}"), False, []
            return None, False, list(rd.unknowns)
        if name == "permit_mx_backup":
            if self.p.expanded("permit_mx_backup_networks").strip():
                return None, False, []
            return (
                Opening(
                    step,
                    "relays for any domain whose MX records name this server, "
                    "and anyone can publish such records for a domain they own "
                    "(permit_mx_backup_networks is empty)",
                ),
                False,
                [],
            )
        if name == "check_policy_service":
            return (
                None,
                False,
                [Unknown(step.item.render(), "the policy server's answer may be OK")],
            )
        if name in _OUTSIDER_TABLES and step.item.arg:
            return self.table(step, name, step.item.arg, warned, depth)
        if name == "check_ccert_access" and step.item.arg:
            kind = (tablefiles.split_table(step.item.arg) or ("", ""))[0]
            if kind in _PATTERN_TYPES or kind == "static":
                return self.table(step, name, step.item.arg, warned, depth)
            return None, False, []
        if r.outsider_permit and r.arg_kind is not catalogue.ArgKind.TABLE:
            return (
                Opening(step, "can accept a client that is neither in mynetworks nor logged in"),
                False,
                [],
            )
        return None, False, []

    def table(
        self, step: Step, check: str, ref: str, warned: bool, depth: int
    ) -> tuple[Opening | None, bool, list[Unknown]]:
        """What an access table can answer an outsider (any of its lines)."""
        item = step.item.render()
        entries = tablefiles.entries(ref, self.config_dir)
        if entries is None:
            return None, False, [Unknown(item, f"pfwizard cannot read what {ref} answers")]
        unknowns: list[Unknown] = []
        for e in entries:
            if check == "check_client_access" and not self._anyone_is(e):
                continue  # a host or network the admin lists by address, like mynetworks
            line = f"{e.where}: '{e.key} {e.value}'" if e.key != "*" else e.where
            if e.substituted:
                return (
                    Opening(
                        step,
                        f"takes its answer from what the client sends ({line}), "
                        "so the client can make it OK",
                    ),
                    False,
                    unknowns,
                )
            verdict = self._result(step, e.value, depth)
            if verdict is True:
                who = (
                    "for any client"
                    if e.key == "*"
                    else "for a client who matches it"
                    if check != "check_client_access"
                    else "for clients anywhere"
                )
                return (
                    Opening(
                        step,
                        f"answers {e.value.split()[0] if e.value.strip() else 'OK'} {who} ({line})",
                    ),
                    False,
                    unknowns,
                )
            if isinstance(verdict, Walk):
                unknowns.extend(verdict.unknowns)
                if verdict.opening is not None:
                    return (
                        Opening(
                            step, f"runs '{e.value}' ({line}), where {verdict.opening.describe()}"
                        ),
                        False,
                        unknowns,
                    )
        # static: one answer for everyone; a refusal there stops every outsider.
        kind = (tablefiles.split_table(ref) or ("", ""))[0]
        if kind == "static" and entries and not warned:
            head = (entries[0].value.split() or [""])[0].upper()
            if head in _SURE_REFUSAL or re.fullmatch(r"[45]\d\d", head):
                return None, True, unknowns
        return None, False, unknowns

    @staticmethod
    def _anyone_is(e: tablefiles.Entry) -> bool:
        """Can a client anywhere on the Internet match this check_client_access key?  A
        listed address or network is the admin's trust, judged like mynetworks (wide
        networks count); a host name needs forward-confirmed DNS, so only a bare top-level
        label (anyone can own a name under it) counts; a pattern counts when it matches an
        arbitrary address or name."""
        if e.key == "*":
            return True
        if e.pattern is not None:
            rx = _regex(*e.pattern)
            return rx is None or any(rx.search(s) for s in (*SAMPLE_ADDRESSES, *SAMPLE_DOMAINS))
        key = e.key.strip()
        if catalogue._network(key) is not None:
            return _network_is_wide(key)
        label = key.lstrip(".").lower()
        # hash lookups also try an address's leading octets ("192" matches 192.0.0.0/8)
        return bool(label) and "." not in label and ":" not in label

    def _result(self, step: Step, value: str, depth: int) -> bool | Walk | None:
        """True: this result permits; a Walk: it is a restriction list (judged);
        None: it does not permit (reject, defer, DUNNO, a server error)."""
        words = value.split()
        if not words or value.isdigit():
            return True  # an empty or all-digit result means OK to smtpd
        head = words[0].upper()
        if head in ("OK", "RELAY"):
            return True
        if head in _NOT_PERMIT or re.fullmatch(r"[45]\d\d", words[0]):
            return None
        if ":" in value:
            return None  # smtpd refuses tables inside access results: 451 4.3.5
        if depth >= MAX_DEPTH:
            return Walk(unknowns=[Unknown(step.item.render(), "results nested too deeply")])
        key = (step.list_key, value)
        if key not in self._results:
            self._results[key] = Walk()  # met again while judged: smtpd's recursion limit
            inner = resolve_value(step, value, self.p, f"result '{value}'")
            self._results[key] = self.walk(inner, depth + 1)
        return self._results[key]


def services_params(
    main: dict[str, str], overrides: list[tuple[str, dict[str, str]]]
) -> Iterator[tuple[str, dict[str, str]]]:
    """(label, effective parameters) for main.cf and each service that overrides it."""
    yield "", main
    for label, opts in overrides:
        if opts:
            yield label, {**main, **opts}
