"""What the proposed change would have done to the box's recent mail: the two replays compared.

Counts are weighted by how often each envelope occurred (``Envelope.count``); each cause keeps a
few examples. The accuracy check compares the replay of the *current* configuration with the
log's own verdict, leaving out what today's replay cannot reproduce (DNS answers that may have
changed since, policy services the replay does not ask).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pfwizard.impact.envelope import Envelope
from pfwizard.impact.replay import Answer, helo_of

EXAMPLES = 3
ACCURACY_GOAL = 0.95

# Rejections whose answer depends on a DNS lookup (made today, not when the mail came) or on a
# policy service (not asked during a replay).
_DNS_RE = re.compile(
    r"not found|blocked using|rejected using|cannot find your|lookup|try again|"
    r"Service unavailable; (?:Client|Sender|Helo|Recipient)",
    re.IGNORECASE,
)
_POLICY_RE = re.compile(r"greylist|quota|mailbox is full|over quota|policy", re.IGNORECASE)
_CODES_RE = re.compile(r"^\s*\d{3}[ -](?:\d\.\d{1,3}\.\d{1,3}\s+)?")
_ANGLE_RE = re.compile(r"^<[^>]*>:\s*")
_BRACKET_RE = re.compile(r"\[[0-9A-Fa-f.:]+\]")


def cause(reply: str) -> str:
    """A reply as a cause an admin recognises: codes, the address and the client's IP left
    out, so every rejection for the same reason counts together."""
    text = reply.split("; from=<", 1)[0]
    text = _ANGLE_RE.sub("", _CODES_RE.sub("", text).strip())
    return _BRACKET_RE.sub("[client]", text).strip() or reply.strip()


def depends_on_dns_or_policy(reply: str) -> bool:
    return bool(_DNS_RE.search(reply) or _POLICY_RE.search(reply))


def describe_senders(senders: Sequence[str]) -> str:
    """``all MAILER-DAEMON@esa...iphmx.com``: what the senders of a group have in common."""
    distinct = sorted({s.lower() for s in senders})
    if not distinct:
        return ""
    if len(distinct) == 1:
        return f"all {senders[0] or '<>'}"
    locals_ = {s.rpartition("@")[0] for s in senders}
    if len(locals_) != 1 or not all("@" in s for s in senders):
        return f"{len(distinct)} different senders"
    domains = [s.rpartition("@")[2] for s in senders]
    prefix = _common_prefix(domains)
    suffix = _common_prefix([d[::-1] for d in domains])[::-1]
    if len(prefix) + len(suffix) > min(len(d) for d in domains):
        suffix = ""
    suffix = suffix[suffix.find(".") :] if "." in suffix else ""  # whole labels only
    if not suffix.strip("."):
        return f"{len(distinct)} different senders"
    return f"all {next(iter(locals_))}@{prefix}...{suffix.lstrip('.')}"


def _common_prefix(words: Sequence[str]) -> str:
    first = min(words)
    last = max(words)
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]


@dataclass
class Example:
    client: str
    helo: str
    sender: str
    recipient: str
    count: int
    was: str
    now: str
    helo_from_client_name: bool

    def line(self) -> str:
        mark = " (*)" if self.helo_from_client_name else ""
        times = f" ({self.count} times)" if self.count > 1 else ""
        return (
            f"{self.sender or '<>'} -> {self.recipient} from {self.client}, "
            f"HELO {self.helo}{mark}{times}"
        )


@dataclass
class Group:
    cause: str
    count: int = 0
    envelopes: int = 0
    senders: str = ""
    examples: list[Example] = field(default_factory=list)
    helo_stand_ins: int = 0
    """Of ``count``: mail whose HELO was not logged (the client name stood in for it)."""


@dataclass
class Disagreement:
    client: str
    helo: str
    sender: str
    recipient: str
    count: int
    log: str
    replay: str
    reason: str


@dataclass
class Accuracy:
    compared: int = 0
    """Mail (weighted) whose verdict does not depend on DNS or policy services."""
    agreed: int = 0
    left_out: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.agreed / self.compared if self.compared else 1.0


@dataclass
class ImpactReport:
    profile: str
    total: int = 0
    """Mail in the window (weighted), authenticated submissions included."""
    distinct: int = 0
    replayed: int = 0
    unchanged: int = 0
    newly_rejected: list[Group] = field(default_factory=list)
    newly_accepted: list[Group] = field(default_factory=list)
    newly_rejected_senders: str = ""
    newly_accepted_senders: str = ""
    authenticated_skipped: int = 0
    helo_from_client_name: int = 0
    unanswered: int = 0
    unanswered_why: str = ""
    policy_services: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    postscreen: bool = False
    """The box's port 25 is postscreen's: its checks before smtpd are not replayed."""
    accuracy: Accuracy = field(default_factory=Accuracy)
    seconds: float = 0.0
    rate: int = 0
    """Envelopes per second the replay was paced at (0: not paced)."""
    dns_names: int = 0
    """About how many distinct names the replay could make Postfix look up."""
    nameservers: list[str] = field(default_factory=list)
    """The box's resolv.conf, which the replay's lookups go through."""
    local_resolver: bool = True
    """The first of them is on this machine (a caching resolver, as MiaB's bind9)."""

    @property
    def newly_rejected_count(self) -> int:
        return sum(g.count for g in self.newly_rejected)

    @property
    def newly_accepted_count(self) -> int:
        return sum(g.count for g in self.newly_accepted)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["newly_rejected_count"] = self.newly_rejected_count
        doc["newly_accepted_count"] = self.newly_accepted_count
        doc["accuracy"]["ratio"] = round(self.accuracy.ratio, 4)
        doc["dns"] = DNS_NOTE
        return doc


DNS_NOTE = (
    "DNS answers are today's, not the ones the mail met when it came: a domain or "
    "blocklist entry may have changed since"
)


def _example(env: Envelope, was: Answer, now: Answer) -> Example:
    return Example(
        f"{env.client_name}[{env.client_address}]",
        helo_of(env),
        env.sender,
        env.recipient,
        env.count,
        was.text,
        now.text,
        env.helo is None,
    )


def _add(groups: dict[str, Group], key: str, env: Envelope, was: Answer, now: Answer) -> None:
    g = groups.setdefault(key, Group(key))
    g.count += env.count
    g.envelopes += 1
    if env.helo is None:
        g.helo_stand_ins += env.count
    if len(g.examples) < EXAMPLES:
        g.examples.append(_example(env, was, now))


def _reason(env: Envelope, now: Answer) -> str:
    if env.helo is None and "helo" in now.text.lower():
        return "the log has no HELO for accepted mail: the client name stood in for it"
    if env.verdict == "rejected":
        return (
            "the log's rejection no longer happens: the configuration or its tables "
            "changed since, or the rejection came from a check the replay does not make"
        )
    if now.stage == "mail":
        return "the current configuration refuses the sender at MAIL FROM"
    return (
        "accepted then, refused now: the configuration or its tables changed since, "
        "or the mail came by a path the replay does not take (e.g. from mynetworks)"
    )


def build(
    profile: str,
    envelopes: Sequence[Envelope],
    current: Sequence[Answer],
    proposed: Sequence[Answer],
    *,
    skipped: Sequence[Envelope] = (),
    policy_services: Sequence[str] = (),
    unverified: Sequence[str] = (),
) -> ImpactReport:
    """``envelopes`` replayed (in the order of both answer lists); ``skipped``: the
    authenticated submissions left out."""
    rep = ImpactReport(profile, policy_services=list(policy_services), unverified=list(unverified))
    rep.authenticated_skipped = sum(e.count for e in skipped)
    rep.distinct = len(envelopes) + len(skipped)
    rep.replayed = len(envelopes)
    rejected: dict[str, Group] = {}
    accepted: dict[str, Group] = {}
    rej_senders: list[str] = []
    acc_senders: list[str] = []
    acc = rep.accuracy
    for env, was, now in zip(envelopes, current, proposed, strict=True):
        rep.total += env.count
        if env.helo is None:
            rep.helo_from_client_name += env.count
        if was.stage == "error" or now.stage == "error":
            rep.unanswered += env.count
            rep.unanswered_why = rep.unanswered_why or (
                f"{'current' if was.stage == 'error' else 'proposed'} configuration: "
                f"{(was if was.stage == 'error' else now).text}"
            )
            continue
        if was.accepted and not now.accepted:
            _add(rejected, cause(now.text), env, was, now)
            rej_senders.append(env.sender)
        elif now.accepted and not was.accepted:
            _add(accepted, cause(was.text), env, was, now)
            acc_senders.append(env.sender)
        else:
            rep.unchanged += env.count
        # Accuracy: today's replay of the current configuration against the log's verdict.
        if depends_on_dns_or_policy(env.reply) or depends_on_dns_or_policy(was.text):
            acc.left_out += env.count
            continue
        acc.compared += env.count
        if was.accepted == (env.verdict == "accepted"):
            acc.agreed += env.count
        else:
            acc.disagreements.append(
                Disagreement(
                    f"{env.client_name}[{env.client_address}]",
                    helo_of(env),
                    env.sender,
                    env.recipient,
                    env.count,
                    env.reply or "accepted",
                    was.text,
                    _reason(env, was),
                )
            )
    rep.total += rep.authenticated_skipped
    rep.newly_rejected = sorted(rejected.values(), key=lambda g: -g.count)
    rep.newly_accepted = sorted(accepted.values(), key=lambda g: -g.count)
    rep.newly_rejected_senders = describe_senders(rej_senders)
    rep.newly_accepted_senders = describe_senders(acc_senders)
    return rep


# The policy services MiaB sets up, by port: named so the admin recognises them.
KNOWN_POLICY_PORTS = {"10023": "postgrey", "12340": "Dovecot quota-status"}


def policy_label(target: str) -> str:
    port = target.strip("{} ").split(",")[0].rsplit(":", 1)[-1]
    known = KNOWN_POLICY_PORTS.get(port)
    return f"{target} ({known})" if known else target


def _groups(title: str, count: int, senders: str, groups: list[Group]) -> list[str]:
    lines = [f"{title}: {count}" + (f" ({senders})" if senders and count else "")]
    for g in groups:
        marked = (
            f"  ({g.helo_stand_ins} of them with the client name as HELO (*))"
            if g.helo_stand_ins and "helo" in g.cause.lower()
            else ""
        )
        lines.append(f"  {g.count:>6}  {g.cause}{marked}")
        lines += [f"          e.g. {ex.line()}" for ex in g.examples]
    return lines


def _lookups(rep: ImpactReport) -> list[str]:
    pace = f"lookups paced at {rep.rate} envelopes/s" if rep.rate else "lookups not paced"
    if rep.local_resolver:
        return [
            f"  about {rep.dns_names} distinct names looked up; the box's resolver "
            f"caches them ({pace})"
        ]
    servers = ", ".join(rep.nameservers)
    return [
        f"  about {rep.dns_names} distinct names looked up ({pace})",
        f"  caution: this box has no caching resolver of its own (resolv.conf lists "
        f"{servers}): every lookup goes to that server, and blocklists may refuse queries "
        "that come through a shared resolver, so their answers can differ from the log's",
    ]


def render(rep: ImpactReport) -> list[str]:
    """The report as an admin reads it."""
    lines = [
        f"What {rep.profile} would have done to this box's mail: {rep.total} envelopes "
        f"(one per recipient), {rep.distinct} distinct, {rep.replayed} replayed",
        f"unchanged: {rep.unchanged}",
    ]
    lines += _groups(
        "newly rejected", rep.newly_rejected_count, rep.newly_rejected_senders, rep.newly_rejected
    )
    lines += _groups(
        "newly accepted", rep.newly_accepted_count, rep.newly_accepted_senders, rep.newly_accepted
    )
    lines.append("What the preview could not replay:")
    if rep.authenticated_skipped:
        lines.append(
            f"  {rep.authenticated_skipped} authenticated submissions skipped "
            "(the replay cannot log in as the user; restrictions that permit "
            "logged-in users first leave them alone)"
        )
    if rep.policy_services:
        lines.append(
            "  policy checks not simulated: "
            + ", ".join(policy_label(p) for p in rep.policy_services)
            + " were not asked; a stand-in answered DUNNO (no opinion)"
        )
    if rep.unverified:
        lines.append(
            "  address verification not simulated: "
            + ", ".join(rep.unverified)
            + " left out (it would send probes to other servers)"
        )
    if rep.postscreen:
        lines.append(
            "  postscreen's own checks (before smtpd hands the client over) are not "
            "replayed: only smtpd's restrictions are"
        )
    lines.append(f"  {DNS_NOTE}")
    lines += _lookups(rep)
    if rep.helo_from_client_name:
        lines.append(
            f"  {rep.helo_from_client_name} had no HELO in the log (Postfix logs it "
            "only on rejections): the client name stood in for it, marked (*)"
        )
    if rep.unanswered:
        lines.append(
            f"  {rep.unanswered} got no answer from a replay instance ({rep.unanswered_why})"
        )
    acc = rep.accuracy
    verdict = "ok" if acc.ratio >= ACCURACY_GOAL else "below the 95% this preview aims at"
    lines.append(
        f"Accuracy: replaying the current configuration gives the log's own verdict "
        f"for {acc.ratio:.1%} ({acc.agreed} of {acc.compared}) of the mail whose "
        f"verdict does not depend on DNS or policy services ({verdict}; "
        f"{acc.left_out} left out)"
    )
    for d in acc.disagreements:
        lines.append(
            f"  {d.sender or '<>'} -> {d.recipient} from {d.client}: log {d.log!r}, "
            f"replay {d.replay!r}: {d.reason}"
        )
    return lines
