"""A stub DNS server on a loopback address, so DNS-dependent restrictions answer the same way
every run: names that resolve, names that don't (NXDOMAIN), names that fail temporarily,
and fake ``zen.spamhaus.org`` / ``dbl.spamhaus.org`` zones.

Each test session binds its own random 127.53.x.y:53 so parallel sessions never collide.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from dnslib import MX, QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

# Names that resolve (A and MX); everything else is NXDOMAIN unless listed below.
RESOLVING = (
    "box.example.com",
    "example.com",
    "example.org",
    "example.net",
    "commscope.com",
    "gmail.com",
    "outside.example",
    "lookalike-box.example",
)
# Client IPs listed in the fake zen.spamhaus.org (reversed octets as the query uses them).
ZEN_LISTED = {
    "127.0.0.66": "127.0.0.2",  # SBL: a real listing
    "127.0.0.67": "127.255.255.254",  # "query refused via public resolver" code, not a listing
    "127.0.0.68": "127.0.0.10",  # PBL
}
# Domains listed in the fake dbl.spamhaus.org.
DBL_LISTED = {
    "spammer.example": "127.0.1.2",
    "esa9.listed.iphmx.com": "127.0.1.2",
    "refused.example": "127.255.255.254",
}
# Names whose lookup fails temporarily (SERVFAIL): Postfix answers 450 for these too.
SERVFAIL_SUFFIX = ".servfail.test"


@dataclass
class Zone:
    a: dict[str, str] = field(default_factory=dict)
    mx: dict[str, str] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Zone:
        z = cls()
        for name in RESOLVING:
            z.a[name] = "127.0.0.1"
            z.mx[name] = name
        for ip, code in ZEN_LISTED.items():
            rev = ".".join(reversed(ip.split(".")))
            z.a[f"{rev}.zen.spamhaus.org"] = code
        for dom, code in DBL_LISTED.items():
            z.a[f"{dom}.dbl.spamhaus.org"] = code
        return z


class _Resolver(BaseResolver):  # type: ignore[misc]
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.lock = threading.Lock()
        self.queries: list[str] = []

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            self.queries.append(f"{qname}/{qtype}")
        if qname.endswith(SERVFAIL_SUFFIX):
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        known = qname in self.zone.a or qname in self.zone.mx
        if not known:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        if qtype in ("A", "ANY") and qname in self.zone.a:
            reply.add_answer(RR(qname, QTYPE.A, rdata=A(self.zone.a[qname]), ttl=60))
        if qtype in ("MX", "ANY") and qname in self.zone.mx:
            reply.add_answer(RR(qname, QTYPE.MX, rdata=MX(self.zone.mx[qname]), ttl=60))
        return reply  # NOERROR/NODATA for other types of a known name


class StubDNS:
    def __init__(self, zone: Zone | None = None) -> None:
        self.zone = zone or Zone.default()
        self.resolver = _Resolver(self.zone)
        self.ip = ""
        self.server: DNSServer | None = None

    def start(self) -> None:
        for _ in range(50):
            ip = f"127.53.{random.randint(0, 255)}.{random.randint(1, 254)}"
            try:
                server = DNSServer(
                    self.resolver,
                    port=53,
                    address=ip,
                    tcp=False,
                    logger=DNSLogger(prefix=False, logf=lambda _s: None),
                )
                server.start_thread()
            except OSError:
                continue
            self.ip, self.server = ip, server
            return
        raise RuntimeError("no free loopback address for the stub DNS server")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    @property
    def queries(self) -> list[str]:
        with self.resolver.lock:
            return list(self.resolver.queries)
