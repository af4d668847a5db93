"""pfwizard.mastercf against the real ``postconf -P`` / ``-M``: same services, same ``-o``
values, and edits that change only the lines they must."""

from __future__ import annotations

import difflib
import os
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pfwizard.errors import ConfigError, ValueRefused
from pfwizard.mastercf import MasterCf, split_key
from tests.bench.miab import FIXTURES
from tests.conftest import needs_postfix

MASTER_FIXTURES = sorted(p.name for p in FIXTURES.glob("master.cf*"))
# Every way Postfix accepts an -o option, comments inside an entry, a pipe service with args.
TRICKY = """\
# comment
smtp      inet  n       -       y       -       -       smtpd
  -o a_x=1
# comment inside the entry: it does not end it
  -o a_x=2
  -o { b_y = two words }
  -o
     c_z=3
  -od_w=4

pickup    unix  n       -       y       60      1       pickup -v -o content_filter= -v
maildrop  unix  -       n       n       -       -       pipe
  flags=DRhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
127.0.0.1:10025 inet n  -       n       -       -       smtpd -o myhostname=x.test
"""


def postconf_params(config_dir: Path) -> dict[str, str]:
    """``postconf -P``: ``service/type/name -> value`` as Postfix reads master.cf."""
    out = subprocess.run(
        ["postconf", "-c", str(config_dir), "-P"], capture_output=True, text=True, check=True
    ).stdout
    result = {}
    for line in out.splitlines():
        key, _, value = line.partition(" = ")
        result[key.rstrip(" =")] = value
    return result


def postconf_entries(config_dir: Path) -> list[str]:
    out = subprocess.run(
        ["postconf", "-c", str(config_dir), "-M"], capture_output=True, text=True, check=True
    ).stdout
    return [" ".join(line.split()) for line in out.splitlines()]


def ours(cf: MasterCf) -> dict[str, str]:
    return {f"{s.key}/{name}": s.option(name) or "" for s in cf.services() for name, _ in s.options}


def config_dir(tmp: Path, master: bytes) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "main.cf").write_text("")  # postconf needs one; empty keeps its output quiet
    (tmp / "master.cf").write_bytes(master)
    for name in ("main.cf", "master.cf"):  # Postfix pauses on files younger than ~2 s
        os.utime(tmp / name, (time.time() - 60, time.time() - 60))
    return tmp


def changed_lines(before: bytes, after: bytes) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(
            before.decode().splitlines(), after.decode().splitlines(), lineterm="", n=0
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize(
    "data",
    [
        *(pytest.param((FIXTURES / name).read_bytes(), id=name) for name in MASTER_FIXTURES),
        pytest.param(TRICKY.encode(), id="tricky"),
        pytest.param(TRICKY.replace("\n", "\r\n").encode(), id="crlf"),
        pytest.param(TRICKY.rstrip("\n").encode() + b" \xe9", id="latin1-no-final-newline"),
    ],
)
def test_round_trip_is_byte_exact(data: bytes) -> None:
    assert MasterCf.parse(data).to_bytes() == data


@needs_postfix
@pytest.mark.parametrize(
    "data",
    [
        *(pytest.param((FIXTURES / name).read_bytes(), id=name) for name in MASTER_FIXTURES),
        pytest.param(TRICKY.encode(), id="tricky"),
    ],
)
def test_services_and_options_match_postconf(tmp_path: Path, data: bytes) -> None:
    cf = MasterCf.parse(data)
    assert ours(cf) == postconf_params(config_dir(tmp_path, data))
    assert [f"{s.name} {s.type}" for s in cf.services()] == [
        " ".join(e.split()[:2]) for e in postconf_entries(tmp_path)
    ]


@needs_postfix
@pytest.mark.parametrize(
    ("key", "value"),
    [
        (
            "authclean/unix/header_checks",
            "pcre:/etc/postfix/outgoing_mail_header_filters,pcre:/etc/postfix/pfwizard/forged",
        ),
        ("authclean/unix/nested_header_checks", "pcre:/etc/postfix/pfwizard/nested"),
        ("authclean/unix/body_checks", "pcre:/etc/postfix/pfwizard/body"),
        ("submission/inet/smtpd_sender_restrictions", "reject_sender_login_mismatch"),
        ("pickup/unix/content_filter", ""),
        ("mailman/unix/syslog_name", "postfix/mailman"),
    ],
)
def test_set_option_equals_postconf_and_changes_one_line(
    tmp_path: Path, key: str, value: str
) -> None:
    before = (FIXTURES / "master.cf.v75").read_bytes()
    cf = MasterCf.parse(before)
    existed = cf.get(key) is not None
    cf.set_option(*split_key(key), value)
    after = cf.to_bytes()
    # Postfix's own edit of the same file is the oracle for the effective configuration.
    theirs = config_dir(tmp_path / "theirs", before)
    subprocess.run(
        ["postconf", "-c", str(theirs), "-P", f"{key}={value}"], check=True, capture_output=True
    )
    mine = config_dir(tmp_path / "mine", after)
    assert postconf_params(mine) == postconf_params(theirs)
    assert postconf_entries(mine) == postconf_entries(theirs)
    assert MasterCf.parse(after).get(key) == value
    changes = changed_lines(before, after)
    assert len(changes) == (2 if existed else 1), changes


@needs_postfix
@pytest.mark.parametrize(
    "key",
    [
        "smtp/inet/a_x",
        "smtp/inet/b_y",
        "smtp/inet/c_z",
        "smtp/inet/d_w",
        "pickup/unix/content_filter",
        "127.0.0.1:10025/inet/myhostname",
        "maildrop/unix/new_option",
    ],
)
def test_tricky_forms_set_and_remove_like_postconf(tmp_path: Path, key: str) -> None:
    before = TRICKY.encode()
    for op, args in (("set", ["-P", f"{key}=v1"]), ("remove", ["-PX", key])):
        cf = MasterCf.parse(before)
        if op == "set":
            cf.set_option(*split_key(key), "v1")
        else:
            cf.remove_option(*split_key(key))
        theirs = config_dir(tmp_path / op / "theirs", before)
        subprocess.run(["postconf", "-c", str(theirs), *args], check=True, capture_output=True)
        mine = config_dir(tmp_path / op / "mine", cf.to_bytes())
        assert postconf_params(mine) == postconf_params(theirs), op
        assert postconf_entries(mine) == postconf_entries(theirs), op
        # Comments inside the entry survive (postconf -P drops them).
        assert b"# comment inside the entry" in cf.to_bytes()


def test_new_option_goes_before_a_pipe_services_arguments() -> None:
    cf = MasterCf.parse(TRICKY)
    cf.set_option("maildrop", "unix", "syslog_name", "postfix/maildrop")
    service = cf.find("maildrop", "unix")
    assert service is not None
    assert service.option("syslog_name") == "postfix/maildrop"
    assert service.args[-5:] == (
        "flags=DRhu",
        "user=vmail",
        "argv=/usr/bin/maildrop",
        "-d",
        "${recipient}",
    )
    cf.set_option("pickup", "unix", "syslog_name", "postfix/pickup")
    # After the last daemon option (-v), before nothing: a line of its own.
    assert b"pickup -v -o content_filter= -v\n  -o syslog_name=postfix/pickup\n" in cf.to_bytes()


@pytest.mark.parametrize(
    "value", ["a\nsmtp inet n - - - - smtpd", "two words", "{x}", "a\rb", "tab\there", "nul\x00"]
)
def test_values_that_would_inject_are_refused(value: str) -> None:
    cf = MasterCf.parse((FIXTURES / "master.cf.v75").read_bytes())
    before = cf.to_bytes()
    with pytest.raises(ValueRefused):
        cf.set_option("authclean", "unix", "header_checks", value)
    assert cf.to_bytes() == before


def test_bad_keys_and_missing_services() -> None:
    cf = MasterCf.parse((FIXTURES / "master.cf.v75").read_bytes())
    for key in (
        "authclean/header_checks",
        "authclean/socket/header_checks",
        "authclean/unix/bad name",
    ):
        with pytest.raises(ValueRefused):
            split_key(key)
    with pytest.raises(KeyError):
        cf.set_option("nosuch", "unix", "header_checks", "x")
    assert cf.get("nosuch/unix/header_checks") is None
    assert cf.get("authclean/unix/nested_header_checks") == ""


def test_malformed_entries_name_their_line() -> None:
    with pytest.raises(ConfigError, match=r"line 2.*field count"):
        MasterCf.parse("# x\nsmtp inet n - y\n")
    with pytest.raises(ConfigError, match=r"line 1.*'}'"):
        MasterCf.parse("smtp inet n - y - - smtpd -o { a = b\n")
    dup = "smtp inet n - y - - smtpd\nsmtp inet n - y - - smtpd\n"
    with pytest.raises(ConfigError, match=r"line 2.*twice"):
        MasterCf.parse(dup).find("smtp", "inet")


_words = st.text("abcdefxyz0123456789_/:.,-", min_size=0, max_size=12)
_names = st.sampled_from(["header_checks", "syslog_name", "smtpd_milters", "a_b"])


@st.composite
def _option_text(draw: st.DrawFn) -> str:
    name, value = draw(_names), draw(_words)
    styles = [
        "{indent}-o {n}={v}",
        "{indent}-o {{ {n} = {v} }}",
        "{indent}-o\n{indent}{n}={v}",
        "# -o {n}=commented",
        "",
    ]
    # postconf -P misreads "-oNAME=" when NAME has an "o" in it ("-osyslog_name=" shows as
    # "-o sysl -o g_name="); the daemons' getopt() does not, and neither do we.
    if "o" not in name:
        styles.append("{indent}-o{n}={v}")
    style = draw(st.sampled_from(styles))
    indent = draw(st.sampled_from([" ", "\t", "\t  "]))
    return style.format(indent=indent, n=name, v=value)


@needs_postfix
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(options=st.lists(_option_text(), max_size=6), value=_words, name=_names)
def test_generated_entries_agree_with_postconf(
    tmp_path: Path, options: list[str], value: str, name: str
) -> None:
    text = "x unix n - n - - cleanup\n" + "".join(o + "\n" for o in options if o)
    cf = MasterCf.parse(text)
    d = config_dir(tmp_path / "gen", text.encode())
    assert ours(cf) == postconf_params(d)
    cf.set_option("x", "unix", name, value)
    d2 = config_dir(tmp_path / "gen2", cf.to_bytes())
    assert postconf_params(d2).get(f"x/unix/{name}") == value
    cf.remove_option("x", "unix", name)
    assert f"x/unix/{name}" not in postconf_params(config_dir(tmp_path / "g3", cf.to_bytes()))


def test_change_set_plans_master_cf_with_its_diff(tmp_path: Path) -> None:
    from pfwizard.engine.changeset import ChangeSet, build_plan

    (tmp_path / "main.cf").write_bytes((FIXTURES / "main.cf.v75-fresh").read_bytes())
    (tmp_path / "master.cf").write_bytes((FIXTURES / "master.cf.v75").read_bytes())
    key = "authclean/unix/header_checks"
    value = "pcre:/etc/postfix/outgoing_mail_header_filters,pcre:/etc/postfix/pfwizard/forged"
    plan = build_plan(tmp_path, ChangeSet("hook", master_params={key: value}))
    [master] = plan.files
    assert master.role == "master.cf" and master.path == tmp_path / "master.cf"
    assert f"+\t  -o header_checks={value}\n" in plan.unified_diff()
    assert MasterCf.parse(master.after or b"").get(key) == value
    with pytest.raises(ValueRefused, match="no active nosuch/unix"):
        build_plan(tmp_path, ChangeSet("x", master_params={"nosuch/unix/header_checks": "x"}))
