"""What a set of smtpd restriction lists will do, said before anything is written.

``analyse(cf, config_dir)`` looks at a whole configuration (main.cf, master.cf if present,
table files); ``analyse_params(params)`` takes effective values by parameter name, so the
wizard can recompute on every edit.  ``postfix_refuses_relay(params)`` is smtpd's own fatal
start-up check, nothing more.

Finding codes (stable; the wizard and ``pfwizard check`` print them):

==========================  ========  ==========================================================
code                        severity  meaning
==========================  ========  ==========================================================
open-relay                  danger    smtpd refuses to start (no relay guard in either list), or
                                      an outsider can pass both lists (a permit they can trigger
                                      before the guard, read from tables, mynetworks,
                                      relay_domains), in main.cf or in a master.cf smtpd
                                      service's ``-o`` settings (analysis/relay.py).  Never
                                      acceptable.
unknown-restriction         danger    smtpd answers 451 4.3.5 to every client reaching the entry
                                      (a misspelt name, a bare table in the DATA list, ...).
bad-argument                danger    a restriction's argument smtpd refuses (451 4.3.5).
undefined-class             danger    smtpd_restriction_classes names a class with no value:
                                      smtpd exits at start-up.
missing-table               danger    a referenced table (or its postmap-built file) is missing.
unknown-table-type          danger    ``type:`` is not a Postfix table type (451 4.3.5).
not-a-table                 danger    a "table" that is Postfix's own main.cf, master.cf or
                                      plugin file, or a table's index (never acceptable).
removed-restriction         caution   gone in a later Postfix (451 4.3.5 after that upgrade).
order-bypass                caution   a permit an outsider can trigger skips checks after it
                                      that the admin probably wants (info if none of those).
dead-entry                  caution   after an unconditional permit/reject/defer: never runs.
wrong-list                  caution   cannot act in this list (or only under a condition: info).
miab-hits-authenticated     caution   MiaB: the list also runs for logged-in users sending mail
                                      (info while it holds only MiaB's own checks).
rbl-no-reply-filter         caution   DNS list without ``=127.0.0.x`` filter: an error answer
                                      counts as listed and rejects everyone.
stale-db                    caution   a table's source is newer than its postmap-built file.
relative-table-path         caution   a table path without a leading '/'.
glued-lines                 caution   continuation lines under a commented-out line that Postfix
                                      appends to the definition above (MiaB upgrades do this).
wide-mynetworks             caution/  mynetworks trusts more than this machine.
                            danger
parameter-risk              varies    a parameter value with a known risk (milter_default_action,
                                      smtpd_delay_reject, soft_bounce, ...).
undefined-parameter         caution   a ``$name`` in a list with no value (expands to nothing).
unreadable-master-cf        caution   master.cf has an entry Postfix cannot read (a missing '}', too
                                      few fields): its services were not judged.
relay-undecided             caution   pfwizard cannot read what would decide whether an outside
                                      client can relay (an SQL/LDAP map, a policy service).
unanchored-end              danger/   a table line that lets mail in (OK, PERMIT, a permit
                            caution   class) also matches its domain with more after it:
                                      ``esa.iphmx.com.attacker.example`` (no ``$``, or a
                                      wildcard after the domain); caution on other lines.
matches-local-part          danger/   the pattern can match the domain's name as a user name
                            caution   at someone else's domain (no ``@`` or ``\\.`` before it).
glued-domain                danger/   a wildcard right before the domain lets
                            caution   ``attackerexample.com`` in.
wildcard-in-domain          danger/   a wildcard inside the domain, only the top-level label
                            caution   after it: ``example.attacker.com``.
unescaped-dot               danger/   a ``.`` matches any character: ``mail-example.com``.
                            caution
numeric-permits             danger    a table value that is only a number is an OK.
case-sensitive-never-       caution   ``/.../i`` makes a pattern case-SENSITIVE in Postfix, and
matches                               it has capitals: smtpd lower-cases addresses, so it never
                                      matches real mail.
diverts-mail                danger/   DISCARD, REDIRECT, HOLD (BCC, FILTER) in a table: mail
                            caution   taken from its recipients without a word; danger on a
                                      line that matches any address, or (header_checks,
                                      body_checks, in main.cf or a service's -o) a line
                                      every message has.
forgeable-allow, shadowed,  caution   a sender allowlist anyone can forge; a table line an
basic-regexp-flag,                    earlier one answers first; regexp's ``x`` flag; ``\\d`` in
perl-escape                           a POSIX regexp.  (Table findings: analysis/tablelint.py;
                                      their danger findings are acceptable by name.)
duplicate-entry             info      the same entry twice in one list.
dns-dependent               info      the check needs DNS: slow or failing DNS delays mail.
==========================  ========  ==========================================================
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

from pfwizard import catalogue, inputs
from pfwizard.analysis import mastercf, tablefiles, tablelint
from pfwizard.analysis.lists import Step, StepKind, class_names, resolve
from pfwizard.analysis.mastercf import Service
from pfwizard.analysis.params import Params
from pfwizard.analysis.relay import RelayJudge
from pfwizard.catalogue import Effect, Restriction
from pfwizard.chain import tokens
from pfwizard.errors import ConfigError
from pfwizard.findings import Finding, Severity
from pfwizard.maincf import MainCf

INFO, CAUTION, DANGER = Severity.INFO, Severity.CAUTION, Severity.DANGER

# Table problems that stop mail (451 4.3.5) or make no sense as a table: danger, not acceptable.
DANGER_TABLE_PROBLEMS = frozenset({"missing-table", "unknown-table-type", "not-a-table"})
# smtpd_check.c rcpt_required[]: what smtpd insists on finding in the relay or recipient list.
RELAY_REQUIRED = (
    "reject_unauth_destination",
    "defer_unauth_destination",
    "reject",
    "defer",
    "defer_if_permit",
    "check_relay_domains",
)
# Checks an admin keeps on purpose and would not want an allowlist to skip.
BLOCKLISTS = frozenset(
    {
        "reject_rbl_client",
        "reject_rbl",
        "reject_rhsbl_client",
        "reject_rhsbl_reverse_client",
        "reject_rhsbl_helo",
        "reject_rhsbl_sender",
        "reject_rhsbl_recipient",
    }
)
# MiaB's own sender checks (v75): their effect on logged-in users is MiaB's design.
MIAB_SENDER = frozenset(
    {
        "reject_non_fqdn_sender",
        "reject_unknown_sender_domain",
        "reject_authenticated_sender_login_mismatch",
        "reject_rhsbl_sender",
    }
)
# Permits that only trusted clients can trigger.
TRUSTED_PERMITS = frozenset(
    {
        "permit_mynetworks",
        "permit_inet_interfaces",
        "permit_sasl_authenticated",
        "permit_tls_clientcerts",
    }
)


# ---- smtpd's own fatal check ------------------------------------------------------------------


def _has_required(words: list[str], classes: Mapping[str, list[str]], depth: int = 0) -> bool:
    """smtpd_check.c has_required(): walks the words (arguments included) of one list."""
    i = 0
    while i < len(words):
        w = words[i].lower()
        if w == "warn_if_reject" and i + 1 < len(words):
            i += 2
            continue
        if w == "permit":
            return False
        if w in RELAY_REQUIRED:
            return True
        # Class names are looked up case-sensitively (htable_find), like smtpd.
        if (
            words[i] in classes
            and depth < 20
            and _has_required(classes[words[i]], classes, depth + 1)
        ):
            return True
        i += 1
    return False


def postfix_refuses_relay(params: Mapping[str, str] | Params) -> bool:
    """True when smtpd would die at start-up: neither smtpd_relay_restrictions nor
    smtpd_recipient_restrictions has a working reject_unauth_destination,
    defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains
    (before any ``permit``, not right after ``warn_if_reject``, classes opened)."""
    p = params if isinstance(params, Params) else Params(params)
    classes = {name: tokens(p.expanded(name)) for name in class_names(p)}
    relay = tokens(p.expanded("smtpd_relay_restrictions"))
    rcpt = tokens(p.expanded("smtpd_recipient_restrictions"))
    return not (_has_required(rcpt, classes) or _has_required(relay, classes))


# ---- the analyser -----------------------------------------------------------------------------


class _Context:
    def __init__(
        self,
        params: Mapping[str, str],
        config_dir: Path | None,
        master: list[mastercf.Service] | None,
        tables: Mapping[str, str] | None = None,
    ) -> None:
        self.p = Params(params)
        self.config_dir = config_dir
        self.tables = tables
        self.master = master
        self.steps = {key: resolve(key, self.p) for key in catalogue.LISTS}
        self.findings: list[Finding] = []
        self._can_permit: dict[str, bool] = {}

    def add(
        self,
        code: str,
        severity: Severity,
        message: str,
        step: Step | None = None,
        parameter: str | None = None,
        acceptable: bool = True,
    ) -> None:
        self.findings.append(
            Finding(
                code=code,
                severity=severity,
                message=message,
                parameter=step.parameter if step is not None else parameter,
                entry=step.entry if step is not None else None,
                index=step.index if step is not None else None,
                acceptable=acceptable,
            )
        )

    # ---- what a step can do -----------------------------------------------------------------
    def table_can_permit(self, ref: str) -> bool:
        """Whether a table may answer OK/PERMIT (True when we cannot read it)."""
        if ref not in self._can_permit:
            vals = tablefiles.values(ref, self.config_dir) if self.config_dir else None
            self._can_permit[ref] = vals is None or any(catalogue.action_permits(v) for v in vals)
        return self._can_permit[ref]

    def table_of(self, step: Step) -> str | None:
        if step.kind is StepKind.TABLE:
            return step.item.name
        r = step.restriction
        if r is not None and r.arg_kind is catalogue.ArgKind.TABLE:
            return step.item.arg
        return None

    def step_table_permits(self, step: Step) -> bool:
        """No table at this step, or one that may answer OK/PERMIT."""
        ref = self.table_of(step)
        return ref is None or self.table_can_permit(ref)

    def may_permit(self, step: Step) -> bool:
        """Can this step end the list with PERMIT for anyone at all?"""
        r = step.restriction
        if r is not None and r.effect is Effect.PERMITS:
            return True
        if step.kind is not StepKind.TABLE and (r is None or r.name not in _PERMITTING_TABLES):
            return False
        return self.step_table_permits(step)

    def mynetworks(self) -> str:
        if self.p.is_set("mynetworks"):
            return self.p.expanded("mynetworks")
        style = (self.p.expanded("mynetworks_style") or "host").lower()
        return "127.0.0.0/8" if style == "host" else f"<{style}>"

    # ---- checks -----------------------------------------------------------------------------
    def run(self) -> list[Finding]:
        self.check_classes()
        self.check_relay()
        for key in catalogue.LISTS:
            self.check_entries(key)
            self.check_dead(key)
            self.check_bypass(key)
            self.check_duplicates(key)
        self.check_miab()
        self.check_parameters()
        if self.config_dir is not None:
            steps = [s for key in catalogue.LISTS for s in self.steps[key]]
            self.findings += tablelint.findings(steps, self.config_dir, self.tables)
            self.findings += tablelint.content_findings(
                self.content_checks(), self.config_dir, self.tables
            )
        for ref in sorted(self.p.undefined):
            self.add(
                "undefined-parameter",
                CAUTION,
                f"${ref} is used in a restriction list but has no value: Postfix "
                "replaces it with nothing, so whatever it was meant to add is missing",
            )
        return self.findings

    def content_checks(self) -> list[tuple[str, str, str]]:
        """(where, parameter, value) of cleanup's content checks: main.cf's, and each
        master.cf service's own ``-o`` (MiaB's authclean sets header_checks there)."""
        places = [
            (name, name, self.p.expanded(name))
            for name in tablelint.CONTENT_CHECKS
            if self.p.is_set(name)
        ]
        for svc in self.master or []:
            for name, value in svc.overrides.items():
                if name in tablelint.CONTENT_CHECKS:
                    places.append((f"{svc.name}/{svc.type}/{name}", name, self.p.expand(value)))
        return places

    def check_classes(self) -> None:
        for name in class_names(self.p):
            if not (self.p.get(name) or "").strip():
                self.add(
                    "undefined-class",
                    DANGER,
                    f"smtpd_restriction_classes names '{name}' but main.cf gives it no "
                    f"value ('{name} = ...'): smtpd exits at start-up ('restriction class "
                    "needs a definition') and no mail is accepted",
                    parameter="smtpd_restriction_classes",
                    acceptable=False,
                )

    def relay_scopes(self) -> list[tuple[Service | None, Params]]:
        """Where smtpd runs: each smtpd service of master.cf, with its ``-o`` settings over
        main.cf's values (None: main.cf's values as they are, for a service without ``-o``
        settings, or when there is no master.cf to read).  main.cf's lists that every
        service replaces are never run by smtpd, so they are not judged alone."""
        smtpd = [s for s in self.master or [] if s.command == "smtpd"]
        if not smtpd:
            return [(None, self.p)]
        scopes: list[tuple[Service | None, Params]] = []
        if any(not s.overrides for s in smtpd):
            scopes.append((None, self.p))
        scopes += [(s, Params({**self.p.raw, **s.overrides})) for s in smtpd if s.overrides]
        return scopes

    def check_relay(self) -> None:
        said: set[str] = set()
        for svc, params in self.relay_scopes():
            where = f" on {svc.label}" if svc is not None else ""
            param = "smtpd_relay_restrictions"
            if postfix_refuses_relay(params):
                # Said in words: the finding's code is not shown to the admin.
                body = (
                    "open relay: neither smtpd_relay_restrictions nor "
                    "smtpd_recipient_restrictions has "
                    "a working reject_unauth_destination (or defer_unauth_destination, "
                    "reject, defer). Postfix refuses to run like this: smtpd dies on every "
                    "connection, clients get no greeting at all, and a reload does not "
                    "bring it back"
                )
                if body not in said:
                    said.add(body)
                    self.add(
                        "open-relay", DANGER, f"{body}{where}", parameter=param, acceptable=False
                    )
                continue
            verdict = RelayJudge(
                params, self.config_dir, self.p if svc is not None else None
            ).judge()
            if verdict.open:
                routes = "; ".join(
                    f"{v.parameter}: {v.opening.describe()}"
                    for v in verdict.lists
                    if v.opening is not None
                )
                body = (
                    "an outside client (not in mynetworks, not logged in) gets through "
                    f"both lists. {routes}. Anyone on the Internet who matches can send "
                    "mail through this server to any address (spam in your name, your IP "
                    "on blocklists)"
                )
                if body in said:
                    continue
                said.add(body)
                step = next(
                    (
                        v.opening.step
                        for v in verdict.lists
                        if v.opening is not None and v.opening.step is not None
                    ),
                    None,
                )
                if svc is not None:
                    step = None  # its entries are the service's -o lists, not main.cf's
                self.add(
                    "open-relay",
                    DANGER,
                    f"open relay{where}: {body}",
                    step=step,
                    parameter=param,
                    acceptable=False,
                )
                continue
            for unknown in verdict.undecided:
                body = (
                    f"cannot tell whether '{unknown.item}' can let an outside client "
                    f"relay: {unknown.why}, and neither list surely refuses relaying "
                    "before it. Make sure it never answers OK for mail to other domains, "
                    "or put reject_unauth_destination before it"
                )
                if body in said:
                    continue
                said.add(body)
                self.add("relay-undecided", CAUTION, f"{body}{where}", parameter=param)

    def check_entries(self, key: str) -> None:
        delay = self.p.flag("smtpd_delay_reject")
        for step in self.steps[key]:
            r = step.restriction
            if step.kind is StepKind.UNKNOWN:
                self.unknown(step)
                continue
            if step.kind is StepKind.TABLE:
                default = catalogue.DEFAULT_ACCESS[key]
                if default is None:
                    self.add(
                        "unknown-restriction",
                        DANGER,
                        f"a bare table in {step.parameter} has no check_*_access in front "
                        "of it: smtpd answers 451 4.3.5 (server configuration error) to "
                        "every message reaching it",
                        step,
                        acceptable=False,
                    )
                self.check_table(step, step.item.name)
                continue
            if r is None:
                continue
            self.check_argument(step, r)
            if r.removed is not None:
                self.add(
                    "removed-restriction",
                    CAUTION,
                    f"{r.name}{step.where} was removed in Postfix {r.removed}: after an "
                    "upgrade to that version smtpd answers 451 4.3.5 to every client "
                    f"reaching it. {r.risk.text}",
                    step,
                )
            if key in ("data", "end_of_data") and r.target is catalogue.Target.RECIPIENT:
                self.add(
                    "wrong-list",
                    INFO,
                    f"{r.name}{step.where} in {step.parameter} only works for messages "
                    "with exactly one recipient",
                    step,
                )
            elif key not in r.lists:
                where = (
                    ", ".join(catalogue.LIST_PARAMS[k] for k in catalogue.LISTS if k in r.lists)
                    or "smtpd_etrn_restrictions"
                )
                self.add(
                    "wrong-list",
                    CAUTION,
                    f"{r.name}{step.where} cannot do anything in {step.parameter} "
                    f"(it works in {where})",
                    step,
                )
            elif key in r.delayed and not delay:
                self.add(
                    "wrong-list",
                    CAUTION,
                    f"{r.name}{step.where} does nothing in {step.parameter} because "
                    "smtpd_delay_reject = no: that list runs before the information it "
                    "checks is known",
                    step,
                )
            if r.dns:
                self.add(
                    "dns-dependent",
                    INFO,
                    f"{r.name}{step.where} needs DNS answers: when DNS is slow or failing "
                    "senders wait or get 450 'try again later'",
                    step,
                )
            if (
                r.arg_kind is catalogue.ArgKind.DNS_DOMAIN
                and step.item.arg
                and "=" not in step.item.arg
            ):
                outcome = (
                    "lets every client skip the rest of the list"
                    if r.effect is Effect.PERMITS
                    else "rejects every sender"
                )
                self.add(
                    "rbl-no-reply-filter",
                    CAUTION,
                    f"{r.name} {step.item.arg}{step.where} has no reply filter: any "
                    "answer counts as listed, including the error codes lists return "
                    "(Spamhaus answers 127.255.255.254 to queries through public "
                    f"resolvers), which then {outcome}. Add the codes you mean, "
                    "e.g. =127.0.0.[2..11] for zen.spamhaus.org",
                    step,
                )
            ref = self.table_of(step)
            if ref is not None and ":" in ref:
                self.check_table(step, ref)

    def unknown(self, step: Step) -> None:
        name = step.item.name
        hint = ""
        close = difflib.get_close_matches(
            name.lower(), list(catalogue.RESTRICTIONS), n=1, cutoff=0.8
        )
        if close:
            hint = f" (did you mean {close[0]}?)"
        elif name.startswith("#"):
            hint = (
                " (a '#' comment after a value is not a comment in main.cf: its words "
                "become restriction names)"
            )
        self.add(
            "unknown-restriction",
            DANGER,
            f"'{name}'{step.where} is not a restriction smtpd knows{hint}: postfix check "
            "and reload accept it, then every client reaching this entry gets 451 4.3.5 "
            "(server configuration error)",
            step,
            acceptable=False,
        )

    def check_argument(self, step: Step, r: Restriction) -> None:
        arg = step.item.arg
        kind = r.arg_kind
        problem = None
        if kind is catalogue.ArgKind.NONE:
            return
        if arg is None:
            problem = "it is missing its argument"
            if kind is catalogue.ArgKind.DNS_DOMAIN:
                self.add(
                    "bad-argument",
                    CAUTION,
                    f"{r.name}{step.where} has no DNS list domain: smtpd skips it with a "
                    "warning, so it protects nothing",
                    step,
                )
                return
        elif kind in (catalogue.ArgKind.TABLE, catalogue.ArgKind.POLICY_SERVICE) and ":" not in arg:
            problem = f"'{arg}' is not a type:name table or transport:address"
        elif kind is catalogue.ArgKind.NUMBER and not arg.isdigit():
            problem = f"'{arg}' is not a number of seconds"
        if problem:
            self.add(
                "bad-argument",
                DANGER,
                f"{r.name}{step.where}: {problem}; smtpd answers 451 4.3.5 to every "
                "client reaching it",
                step,
                acceptable=False,
            )

    def check_table(self, step: Step, ref: str) -> None:
        if self.config_dir is None:
            return
        for prob in tablefiles.check(ref, self.config_dir):
            sev = DANGER if prob.code in DANGER_TABLE_PROBLEMS else CAUTION
            self.add(prob.code, sev, prob.message, step, acceptable=sev is not DANGER)

    def check_dead(self, key: str) -> None:
        steps = self.steps[key]
        for i, step in enumerate(steps):
            name = step.item.name.lower()
            if name not in ("permit", "reject", "defer") or step.via:
                continue
            if i > 0 and steps[i - 1].item.name.lower() == "warn_if_reject":
                continue
            later = [s for s in steps[i + 1 :] if not s.via]
            if later:
                names = ", ".join(s.item.render() for s in later)
                self.add(
                    "dead-entry",
                    CAUTION,
                    f"'{step.item.name}' ends {step.parameter} for everyone, so what comes "
                    f"after it never runs: {names}",
                    later[0],
                )
            return

    def check_bypass(self, key: str) -> None:
        steps = self.steps[key]
        for i, step in enumerate(steps):
            if not self.may_permit(step):
                continue
            if step.restriction is not None and step.restriction.name in TRUSTED_PERMITS:
                continue
            if step.item.name.lower() == "permit":
                continue  # dead-entry says it
            skipped = [
                s
                for s in steps[i + 1 :]
                if s.restriction is not None
                and s.restriction.effect in (Effect.REJECTS, Effect.DEFERS)
                and s.restriction.name not in ("reject", "defer")
                and not s.restriction.guard
            ]
            if not skipped:
                continue
            names = ", ".join(dict.fromkeys(s.item.render() for s in skipped))
            kept = [
                s for s in skipped if s.restriction is not None and s.restriction.name in BLOCKLISTS
            ]
            sev = CAUTION if kept else INFO
            why = (
                " Blocklist checks are usually meant for everyone, allowlisted or not: "
                "move them before this entry."
                if kept
                else ""
            )
            self.add(
                "order-bypass",
                sev,
                f"whatever '{step.item.render()}'{step.where} accepts skips the checks "
                f"after it in {step.parameter}: {names}.{why}",
                step,
            )

    def check_duplicates(self, key: str) -> None:
        seen: set[str] = set()
        for step in self.steps[key]:
            if step.via:
                continue
            text = step.item.render().lower()
            if text in seen and step.item.name.lower() != "warn_if_reject":
                self.add(
                    "duplicate-entry",
                    INFO,
                    f"'{step.item.render()}' is already earlier in {step.parameter}; the "
                    "second one only repeats the same check",
                    step,
                )
            seen.add(text)

    def check_miab(self) -> None:
        if not mastercf.is_miab(self.p.raw, self.master):
            return
        auth = [s for s in (self.master or []) if s.is_smtpd and s.authenticates]
        if self.master is not None and not auth:
            return  # no submission service: nobody logs in through smtpd
        for key in ("client", "helo", "sender"):
            param = catalogue.LIST_PARAMS[key]
            if any(param in s.overrides for s in auth):
                continue
            hits: list[Step] = []
            for step in self.steps[key]:
                r = step.restriction
                if r is not None and r.name == "permit_sasl_authenticated":
                    break
                if (
                    r is not None
                    and r.effect
                    in (Effect.REJECTS, Effect.DEFERS, Effect.LOOKS_UP, Effect.ASKS_SERVICE)
                ) or step.kind is StepKind.TABLE:
                    hits.append(step)
            if not hits:
                continue
            own = (
                all(s.restriction is not None and s.restriction.name in MIAB_SENDER for s in hits)
                and key == "sender"
            )
            names = ", ".join(s.item.render() for s in hits)
            late = [
                s
                for s in self.steps[key]
                if s.restriction is not None and s.restriction.name == "permit_sasl_authenticated"
            ]
            too_late = (
                f" (the one at position {late[0].index + 1} comes after them, too late)"
                if late
                else ""
            )
            self.add(
                "miab-hits-authenticated",
                INFO if own else CAUTION,
                f"on Mail-in-a-Box the submission ports (587, 465) use the same {param} "
                f"and it has no permit_sasl_authenticated before its checks{too_late}, so "
                f"your logged-in users' outgoing mail goes through them too: {names}. "
                + (
                    "These are MiaB's own checks."
                    if own
                    else "A check added here can block your own users' mail; put "
                    "permit_sasl_authenticated before it if they should be exempt."
                ),
                parameter=param,
            )

    def check_parameters(self) -> None:
        my = (
            catalogue.parameter_risk("mynetworks", self.mynetworks())
            if self.p.is_set("mynetworks")
            else None
        )
        if my is not None:
            self.add(
                "wide-mynetworks",
                my.level,
                my.text,
                parameter="mynetworks",
                acceptable=my.level is not DANGER,
            )
        if not self.p.is_set("mynetworks"):
            r = catalogue.parameter_risk("mynetworks_style", self.p.expanded("mynetworks_style"))
            if r is not None:
                self.add("wide-mynetworks", r.level, r.text, parameter="mynetworks_style")
        milters = (
            self.p.expanded("smtpd_milters").strip() or self.p.expanded("non_smtpd_milters").strip()
        )
        if milters:
            r = catalogue.parameter_risk(
                "milter_default_action", self.p.expanded("milter_default_action")
            )
            if r is not None and r.level is not INFO:
                self.add("parameter-risk", r.level, r.text, parameter="milter_default_action")
        for name in (
            "smtpd_delay_reject",
            "soft_bounce",
            "unknown_address_reject_code",
            "smtpd_reject_unlisted_recipient",
        ):
            if self.p.is_set(name):
                r = catalogue.parameter_risk(name, self.p.expanded(name))
                if r is not None and r.level is not INFO:
                    self.add("parameter-risk", r.level, r.text, parameter=name)


_PERMITTING_TABLES = frozenset(
    r.name
    for r in catalogue.RESTRICTIONS.values()
    if r.arg_kind is catalogue.ArgKind.TABLE
    and r.name
    in (
        "check_client_access",
        "check_helo_access",
        "check_sender_access",
        "check_recipient_access",
        "check_ccert_access",
        "check_sasl_access",
        "check_reverse_client_hostname_access",
    )
) | {"check_policy_service"}


def _order(findings: list[Finding]) -> list[Finding]:
    lists = {p: k for k, p in enumerate(catalogue.LIST_PARAMS.values())}
    return sorted(
        findings,
        key=lambda f: (
            -f.severity.rank,
            lists.get(f.parameter or "", 99),
            f.index if f.index is not None else -1,
        ),
    )


def analyse_params(
    params: Mapping[str, str],
    config_dir: Path | None = None,
    master_cf: str | None = None,
    tables: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Findings for effective values by parameter name (worst first).

    ``config_dir``: where table files are looked for (paths under /etc/postfix follow it) and
    master.cf is read from when ``master_cf`` (its text) is not given; None skips the disk.
    ``tables``: table contents not written yet (the wizard's edits), by path; their lint
    reads these instead of the files.
    """
    if master_cf is None and config_dir is not None:
        try:
            data = inputs.read_bytes(
                config_dir / "master.cf", inputs.MAX_CONFIG_BYTES, what="master.cf"
            )
            master_cf = data.decode("utf-8", errors="replace")
        except ConfigError:
            master_cf = None
    unreadable: list[Finding] = []
    master: list[Service] | None = None
    if master_cf is not None:
        path = str(config_dir / "master.cf") if config_dir is not None else "master.cf"
        try:
            master = mastercf.services(master_cf, path)
        except ConfigError as exc:
            unreadable.append(
                Finding(
                    "unreadable-master-cf",
                    CAUTION,
                    f"{exc}: Postfix cannot read it either, and pfwizard did not judge its "
                    "services' own settings (-o options)",
                    parameter=None,
                )
            )
    return _order(unreadable + _Context(params, config_dir, master, tables).run())


def analyse(
    cf: MainCf, config_dir: Path | None = None, master_cf: str | None = None
) -> list[Finding]:
    """Findings for a whole main.cf (plus master.cf and tables under ``config_dir``)."""
    found = analyse_params(cf.parameters(), config_dir, master_cf)
    glued = [
        Finding("glued-lines", CAUTION, g.describe(), parameter=g.parameter)
        for g in cf.glued_continuations()
    ]
    return _order(glued + found)


def read_config(config_dir: Path) -> tuple[MainCf, str | None]:
    """main.cf (required) and master.cf text (optional) from a Postfix config directory."""
    cf = MainCf.read(config_dir / "main.cf")
    data = inputs.read_bytes_or_none(
        config_dir / "master.cf", inputs.MAX_CONFIG_BYTES, what="master.cf"
    )
    return cf, None if data is None else data.decode("utf-8", errors="replace")
