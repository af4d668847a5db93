"""The catalogue against a real smtpd: every name is accepted in every list it claims, and a
misspelt name is caught by the analyser although ``postfix check`` passes.

One reload per list: every restriction that list claims, each behind ``warn_if_reject`` so a
reject only logs and evaluation goes on, then ``check_policy_service`` on the bench's policy
stub as the last entry: the stub seeing a request proves smtpd ran the whole list.  Checks
that accept this dialogue's client outright (``permit``, ``permit_auth_destination``, ...) and
the slow address probes are tried one per reload.
"""

from __future__ import annotations

import subprocess

import pytest

from pfwizard import catalogue
from pfwizard.analyser import analyse_params
from pfwizard.catalogue import ArgKind
from tests.conftest import needs_bench
from tests.test_analyser_bench import configure, talk

# Accept the bench's outside client writing to admin@box.example.com: they end the list.
# The address probes wait for the verify service (smtpd polls it, sleeping between polls);
# run alone, they keep one slow step out of the batch.
ALONE = (
    "permit",
    "permit_auth_destination",
    "permit_mx_backup",
    "check_relay_domains",
    "reject_unverified_sender",
    "reject_unverified_recipient",
)
RBL = "zen.spamhaus.org=127.0.0.[2..11]"
SERVER_ERROR = "4.3.5"


def _version(bench) -> tuple[int, ...]:
    out = bench.instance.postconf("-dh", "mail_version").strip()
    return tuple(int(p) for p in out.split(".")[:2])


def _argument(r: catalogue.Restriction, bench, table: str) -> str | None:
    return {
        ArgKind.NONE: None,
        ArgKind.TABLE: f"texthash:{table}",
        ArgKind.DNS_DOMAIN: RBL,
        ArgKind.POLICY_SERVICE: bench.policy.address,
        ArgKind.NUMBER: "0",
    }[r.arg_kind]


def _entry(r: catalogue.Restriction, bench, table: str) -> str:
    arg = _argument(r, bench, table)
    return r.name if arg is None else f"{r.name} {arg}"


def _params(key: str, value: str) -> dict[str, str]:
    params = {catalogue.LIST_PARAMS[key]: value}
    if key == "relay":
        # The relay list under test has no working guard; the recipient list keeps one.
        params["smtpd_recipient_restrictions"] = "reject_unauth_destination"
    return params


def _run(bench, key: str):
    data = "Subject: catalogue\n\nbody\n" if key in ("data", "end_of_data") else None

    return talk(
        bench,
        helo="client.example.com",
        mail_from="sender@example.com",
        rcpt_to="admin@box.example.com",
        data=data,
    )


def _assert_no_server_error(d, what: str) -> None:
    for reply in d.replies:
        assert SERVER_ERROR not in reply.text, f"{what}: {reply.text}"
        assert reply.code != 0, f"{what}: smtpd died: {reply.text}"


@needs_bench
@pytest.mark.parametrize("key", catalogue.LISTS)
def test_every_catalogue_name_is_accepted_in_each_list_it_claims(bench, key):
    table = bench.config_dir / "catalogue_access"
    table.write_text("nothing.invalid DUNNO\n")
    bench.instance.cool_down(table)
    version = _version(bench)
    claimed = [
        r
        for r in catalogue.for_list(key)
        if r.removed is None or version < tuple(int(p) for p in r.removed.split("."))
    ]
    assert claimed
    batch = [r for r in claimed if r.name not in ALONE]
    entries = [f"warn_if_reject {_entry(r, bench, str(table))}" for r in batch]
    entries.append(f"check_policy_service {bench.policy.address}")
    configure(bench, _params(key, ", ".join(entries)))
    bench.policy.requests.clear()
    d = _run(bench, key)
    _assert_no_server_error(d, f"{key} batch")
    assert bench.policy.requests, f"smtpd did not reach the end of the {key} list: {d.replies}"
    for r in claimed:
        if r.name in ALONE:
            configure(bench, _params(key, _entry(r, bench, str(table))))
            _assert_no_server_error(_run(bench, key), f"{key}: {r.name}")


@needs_bench
def test_misspelt_name_caught_by_us_not_by_postfix_check(bench):
    chain = (
        "reject_non_fqdn_sender, reject_unknown_sender_domian, "
        "reject_authenticated_sender_login_mismatch"
    )
    params = {"smtpd_sender_restrictions": chain}
    configure(bench, params)
    check = subprocess.run(
        ["postfix", "-c", str(bench.config_dir), "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0  # Postfix itself sees nothing wrong ...
    d = bench.dialogue(mail_from="sender@example.com", rcpt_to="admin@box.example.com")
    assert d.rcpt.code == 451 and SERVER_ERROR in d.rcpt.text  # ... and smtpd fails at run time
    findings = [f for f in analyse_params(params) if f.code == "unknown-restriction"]
    assert len(findings) == 1
    f = findings[0]
    assert f.entry == "reject_unknown_sender_domian" and f.index == 1
    assert f.severity.value == "danger" and not f.acceptable
    assert "reject_unknown_sender_domain" in f.message  # the suggestion
