"""master.cf in validation, without the bench: reading ``postconf -P`` and picking the maps a
changed ``-o`` option names (the bench tests in test_engine_faults.py run them for real)."""

from __future__ import annotations

from pfwizard.engine import mastercheck
from pfwizard.postfix import Result

P_OUTPUT = """\
submission/inet/cleanup_service_name = authclean
submission/inet/smtpd_milters = inet:127.0.0.1:8891
authclean/unix/header_checks = pcre:/etc/postfix/outgoing_mail_header_filters
authclean/unix/nested_header_checks =
"""


def test_overrides_read_postconf_P():
    got = mastercheck.overrides(Result(["postconf", "-P"], 0, P_OUTPUT, ""))
    assert got["authclean/unix/header_checks"] == "pcre:/etc/postfix/outgoing_mail_header_filters"
    assert got["authclean/unix/nested_header_checks"] == ""
    assert len(got) == 4


def test_changed_overrides_only():
    live = {"a/unix/header_checks": "pcre:/x", "b/inet/syslog_name": "s"}
    staged = {
        "a/unix/header_checks": "pcre:/x,pcre:/y",
        "b/inet/syslog_name": "s",
        "c/unix/body_checks": "regexp:/z",
    }
    assert mastercheck.changed(staged, live) == {
        "a/unix/header_checks": "pcre:/x,pcre:/y",
        "c/unix/body_checks": "regexp:/z",
    }


def test_map_refs_are_files_named_by_map_options():
    refs = mastercheck.map_refs(
        {
            "authclean/unix/header_checks": "pcre:/etc/postfix/a, bogus:/etc/postfix/b",
            "authclean/unix/nested_header_checks": "",
            "submission/inet/smtpd_milters": "inet:127.0.0.1:8891",  # not a map option
            "submission/inet/smtpd_sender_login_maps": "proxy:hash:/etc/x,inline:{a=b}",
            "x/unix/body_checks": "pcre:/etc/postfix/a",  # named once
        }
    )
    assert refs == ["pcre:/etc/postfix/a", "bogus:/etc/postfix/b"]


M_LIVE = """\
smtp       inet  n       -       y       -       -       smtpd
cleanup    unix  n       -       y       -       0       cleanup
authclean  unix  n       -       -       -       0       cleanup -o header_checks=pcre:/etc/pf/f
"""


def test_changed_services_are_the_new_or_changed_entries():
    staged = M_LIVE.replace("pcre:/etc/pf/f", "pcre:/stage/f,pcre:/stage/t") + (
        "relayclean unix  -       -       n       -       0       cleanup\n"
        "submission inet  n       -       y       -       -       smtpd -o x=y\n"
        "smtps      inet  n       -       y       -       -       smtpd"
        " -o smtpd_tls_wrappermode=yes\n"
    )
    got = mastercheck.changed_services(
        Result([], 0, staged, ""),
        Result([], 0, M_LIVE, ""),
        lambda text: text.replace("/stage/", "/etc/pf/"),
    )
    assert [(s.name, s.cleanup_socket, s.plain_smtpd) for s in got] == [
        ("authclean", "public/authclean", False),
        ("relayclean", "private/relayclean", False),
        ("submission", None, True),
        ("smtps", None, False),
    ]
    unchanged = M_LIVE.replace("/etc/pf/", "/stage/")
    assert (
        mastercheck.changed_services(
            Result([], 0, unchanged, ""),
            Result([], 0, M_LIVE, ""),
            lambda text: text.replace("/stage/", "/etc/pf/"),
        )
        == []
    )
