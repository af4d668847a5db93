"""The DNS side of a replay: which names it makes the replay instances look up, an order that
lets the resolver's cache answer most of them, and whether the box has a caching resolver.

smtpd resolves through libc, i.e. the nameservers in /etc/resolv.conf. A Mail-in-a-Box runs
its own caching resolver (bind9 on 127.0.0.1, which the blocklists require: they refuse
queries that come through big shared resolvers), so each name is asked upstream once per TTL
whatever the number of envelopes; pfwizard keeps no cache of its own, it never sees the
lookups. Identical envelopes were already merged by the log reader.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pfwizard.impact.envelope import Envelope
from pfwizard.impact.replay import helo_of

RESOLV_CONF = Path("/etc/resolv.conf")


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(".") if "@" in address else ""


def replay_order(envelopes: Iterable[Envelope]) -> list[Envelope]:
    """The envelopes with those of one sender domain side by side, and within it those of
    one client: asked close together, a name's second lookup finds it still cached even
    with a short TTL (blocklists give a few minutes). The sender's domain comes first because
    its checks cost the most lookups (MX, address, domain blocklists)."""
    return sorted(
        envelopes,
        key=lambda e: (
            _domain(e.sender),
            e.client_address,
            e.client_name.lower(),
            e.helo or "",
            e.sender.lower(),
            e.recipient.lower(),
        ),
    )


def dns_names(envelopes: Iterable[Envelope]) -> int:
    """About how many distinct names the replay can make smtpd look up: client addresses
    (blocklist queries), client and HELO names, sender and recipient domains. Only the
    restrictions in force decide which are really asked: this is the most."""
    names: set[str] = set()
    for e in envelopes:
        names.add(e.client_address.lower())
        for name in (e.client_name, helo_of(e)):
            name = name.lower().rstrip(".")
            if name and name != "unknown" and not name.startswith("["):
                names.add(name)
        names.update(d for d in (_domain(e.sender), _domain(e.recipient)) if d)
    return len(names)


@dataclass(frozen=True, slots=True)
class Resolver:
    """The nameservers resolv.conf lists, in order."""

    nameservers: Sequence[str]

    @property
    def local(self) -> bool:
        """The first nameserver (the one libc asks first) is on this machine: a caching
        resolver such as MiaB's bind9 or systemd-resolved's stub."""
        if not self.nameservers:
            return True  # resolv.conf(5): without a nameserver line, the local machine's
        try:
            return ipaddress.ip_address(self.nameservers[0].split("%")[0]).is_loopback
        except ValueError:
            return False

    def describe(self) -> str:
        return ", ".join(self.nameservers) or "none listed: the local machine's"


def resolver(resolv_conf: Path = RESOLV_CONF) -> Resolver:
    """What ``resolv_conf`` points libc (and so smtpd) at; unreadable counts as empty, as
    libc takes it."""
    try:
        text = resolv_conf.read_text(errors="replace")
    except OSError:
        text = ""
    servers = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            servers.append(words[1])
    return Resolver(servers)
