"""`pfwizard explain`: why was this mail refused, on this box's configuration?"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pfwizard import allowlist, exitcodes, probe
from pfwizard.errors import ConfigError
from pfwizard.explain import BoxConfig, explain, group, parse_line, parse_since, reject_lines
from pfwizard.explain.render import render_one, render_report
from pfwizard.explain.scan import Report, since_filter
from pfwizard.maillog import JOURNAL, open_log

EPILOG = """\
examples:
  pfwizard explain 'NOQUEUE: reject: RCPT from x[192.0.2.1]: 450 4.1.8 <a@b.example>: ...'
  pfwizard explain --log /var/log/mail.log --since 2d
  pfwizard explain --journal --since today
  pfwizard explain --probe MAILER-DAEMON@esa4.commscope.iphmx.com dmarc@box.example.com

explain exits 0 when every reject was tied to this box's configuration, 1 when some
could not be (the config changed since, or a text pfwizard does not know), 2 on bad input.
With --probe: 0 when every recipient was accepted, 1 when some were refused (explained),
2 when the server could not be reached.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG + "\n" + (parser.epilog or "")
    parser.add_argument(
        "line", nargs="*", metavar="LINE", help="a reject line from the mail log (quote it)"
    )
    parser.add_argument(
        "--log", metavar="FILE", help="read a mail log (any size; .gz works; '-' reads stdin)"
    )
    parser.add_argument(
        "--journal",
        action="store_true",
        help="read Postfix's messages from the systemd journal (journalctl)",
    )
    parser.add_argument(
        "--since",
        metavar="WHEN",
        help="only lines from WHEN on: '2026-11-22 03:00', 'today', '6h', '2d'",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--probe",
        nargs="+",
        metavar="ADDR",
        help="a live SMTP test, like a telnet session to port 25: SENDER then "
        "RECIPIENT(s); EHLO, MAIL FROM, RCPT TO, RSET, QUIT (never DATA)",
    )
    parser.add_argument("--probe-host", default="127.0.0.1", metavar="HOST")
    parser.add_argument("--probe-port", type=int, default=25, metavar="PORT")
    parser.add_argument(
        "--probe-as",
        default=probe.OUTSIDE_ADDR,
        metavar="ADDR",
        help="client address to impersonate with XCLIENT, to see what an "
        "outside sender sees ('self': no XCLIENT; default %(default)s)",
    )
    parser.add_argument("--probe-helo", metavar="NAME", help="HELO name for the probe")
    parser.add_argument(
        "--propose-allowlist",
        action="store_true",
        help="from senders refused by reject_unknown_sender_domain, propose "
        "one narrow regexp allowlist entry, checked with postmap -q",
    )


def run(args: argparse.Namespace) -> int:
    if sum(map(bool, (args.line, args.log, args.journal, args.probe))) != 1:
        print(
            "pfwizard explain: give one reject LINE, --log FILE, --journal, or "
            "--probe SENDER RCPT...",
            file=sys.stderr,
        )
        return exitcodes.ERROR
    if args.journal:
        args.log = JOURNAL
    if args.probe or args.line or not (Path(args.config_dir) / "main.cf").exists():
        box = BoxConfig.load(args.config_dir)  # (says so when main.cf is missing)
        if args.probe:
            return _probe(args, box)
        return _explain_lines(args.line, box, args.json)
    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        print(f"pfwizard explain: {exc}", file=sys.stderr)
        return exitcodes.ERROR
    source = {"-": "standard input", JOURNAL: "the systemd journal"}.get(args.log, args.log)
    # Postfix is asked about the config (two postconf runs: up to a second or two on a busy
    # box) while the log is read; the rejects are explained once both are done.
    pool = ThreadPoolExecutor(max_workers=1)
    box_later = pool.submit(BoxConfig.load, args.config_dir)
    try:
        with open_log(args.log, since) as stream:
            lines: Iterator[str] = reject_lines(stream)
            if since is not None:
                lines = since_filter(lines, since)
            report = group(lines, box_later.result)
    except ConfigError as exc:
        print(f"pfwizard explain: {exc}", file=sys.stderr)
        return exitcodes.ERROR
    except OSError as exc:  # gzip.BadGzipFile is one too
        print(f"pfwizard explain: {source}: {exc.strerror or exc}", file=sys.stderr)
        return exitcodes.ERROR
    except (EOFError, zlib.error) as exc:
        print(
            f"pfwizard explain: {source}: corrupt or truncated gzip data ({exc})", file=sys.stderr
        )
        return exitcodes.ERROR
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if since is not None:
        source += f" since {since:%Y-%m-%d %H:%M:%S}"
    if args.json:
        print(
            json.dumps(
                {
                    "source": source,
                    "rejects": report.lines,
                    "unparsed": report.unparsed,
                    "groups": [
                        {
                            "count": g.count,
                            "first": g.first,
                            "last": g.last,
                            "senders": g.senders.top(10),
                            "clients": g.clients.top(10),
                            **g.explanation.as_dict(),
                        }
                        for g in report.groups
                    ],
                },
                indent=2,
            )
        )
    else:
        sys.stdout.write(render_report(report, source))
    if args.propose_allowlist:
        _propose(report, args.json)
    return exitcodes.FINDINGS if report.unexplained else exitcodes.OK


def _probe(args: argparse.Namespace, box: BoxConfig) -> int:
    if len(args.probe) < 2:
        print(
            "pfwizard explain: --probe needs a SENDER and at least one RECIPIENT", file=sys.stderr
        )
        return exitcodes.ERROR
    res = probe.probe(
        args.probe[0],
        args.probe[1:],
        host=args.probe_host,
        port=args.probe_port,
        helo=args.probe_helo,
        outside=None if args.probe_as == "self" else args.probe_as,
    )
    exps = [explain(p, box) for p in map(parse_line, res.log_lines()) if p is not None]
    if args.json:
        print(
            json.dumps(
                {
                    "summary": res.summary(),
                    "transcript": res.transcript(),
                    "xclient": res.xclient,
                    "limits": res.limits,
                    "error": res.error,
                    "verdicts": [
                        {
                            "recipient": v.recipient,
                            "code": v.code,
                            "text": v.text,
                            "outcome": v.outcome,
                        }
                        for v in res.verdicts
                    ],
                    "explanations": [e.as_dict() for e in exps],
                },
                indent=2,
            )
        )
    else:
        print(res.summary())
        print("\nTranscript:\n" + res.transcript())
        for e in exps:
            print()
            sys.stdout.write(render_one(e))
    if not res.ok:
        return exitcodes.ERROR
    refused = (res.mail is not None and res.mail.code >= 400) or any(
        v.code >= 400 for v in res.verdicts
    )
    return exitcodes.FINDINGS if refused else exitcodes.OK


def _propose(report: Report, as_json: bool) -> None:
    senders = [
        s
        for g in report.groups
        if g.explanation.cause.id == "unknown-sender-domain"
        for s in g.senders.counts
    ]
    if not senders:
        print("No senders refused for an unresolvable domain: nothing to allowlist.")
        return
    try:
        prop = allowlist.propose(senders)
    except ValueError as exc:
        print(f"No single allowlist entry proposed: {exc}.")
        return
    if as_json:
        print(
            json.dumps(
                {
                    "allowlist": prop.line,
                    "ok": prop.ok,
                    "matched": prop.matched,
                    "missed": prop.missed,
                    "false_hits": prop.false_hits,
                    "errors": prop.errors,
                },
                indent=2,
            )
        )
    else:
        print(prop.report())
        print(
            "Use it with recipe allowlist-unresolved-senders (sudo pfwizard): a "
            "check_sender_access regexp: table placed before reject_unknown_sender_domain."
        )


def _explain_lines(texts: list[str], box: BoxConfig, as_json: bool) -> int:
    parsed = [parse_line(t) for t in texts]
    bad = [t for t, p in zip(texts, parsed, strict=True) if p is None]
    if bad:
        print(
            f"pfwizard explain: not a Postfix reject line: {bad[0][:120]!r}\n"
            "(expected something like 'NOQUEUE: reject: RCPT from host[ip]: 450 4.1.8 ...')",
            file=sys.stderr,
        )
        return exitcodes.ERROR
    exps = [explain(p, box) for p in parsed if p is not None]
    if as_json:
        print(json.dumps([e.as_dict() for e in exps], indent=2))
    else:
        sys.stdout.write("\n".join(render_one(e) for e in exps))
    return exitcodes.OK if all(e.explained for e in exps) else exitcodes.FINDINGS
