"""The MiaB setup test double is exact: validated against the fixtures, byte for byte."""

from __future__ import annotations

from pfwizard.maincf import MainCf
from tests.miab_setup import (
    FIXTURES,
    release_services,
    release_values,
    run_master_setup,
    run_setup,
)


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_v75_setup_on_the_customised_file_gives_the_fixture_byte_for_byte():
    after = run_setup(read("main.cf.customized-before-v75-setup"), release_values())
    assert after == read("main.cf.customized-after-v75-setup")


def test_v75_setup_on_v66_fresh_gives_v75_values():
    after = MainCf.parse(run_setup(read("main.cf.v66-fresh"), release_values()))
    fresh = MainCf.read(FIXTURES / "main.cf.v75-fresh")
    assert after.parameters() == fresh.parameters()


def test_running_the_same_release_twice_changes_nothing():
    values = release_values()
    for name in (
        "main.cf.v75-fresh",
        "main.cf.v60-upgraded-to-v75",
        "main.cf.customized-after-v75-setup",
    ):
        assert run_setup(read(name), values) == read(name), name


def test_a_multi_line_value_loses_only_its_first_line():
    text = "a = 1\nsmtpd_sender_restrictions =\n    permit_mynetworks,\n    reject\n"
    out = run_setup(text, {"smtpd_sender_restrictions": "x,y"})
    assert out == (
        "a = 1\n#smtpd_sender_restrictions =\nsmtpd_sender_restrictions=x,y\n"
        "    permit_mynetworks,\n    reject\n"
    )
    assert MainCf.parse(out).get("smtpd_sender_restrictions") == (
        "x,y    permit_mynetworks,    reject"
    )


def test_miab_knowledge_matches_the_fixtures():
    from pfwizard import miab

    for release, fixture in (
        ("v66", "main.cf.v66-fresh"),
        ("v75", "main.cf.v75-fresh"),
        ("v75-3-gabcdef", "main.cf.v75-fresh"),
    ):
        cf = MainCf.read(FIXTURES / fixture)
        shipped = miab.shipped_chains(release)
        assert shipped is not None
        for name in miab.MANAGED_CHAINS:
            assert shipped[name] == cf.get(name), (release, name)
    assert miab.shipped_chains("v50") is None
    # Everything v75's setup writes is known as managed; what it never sets is not.
    for name in release_values():
        assert miab.manages(name), name
    for name in ("smtpd_helo_required", "smtpd_helo_restrictions", "postscreen_dnsbl_sites"):
        assert miab.never_sets(name) and not miab.manages(name)
    assert miab.erases("smtpd_data_restrictions")


# ---- master.cf ------------------------------------------------------------------------------
PFWIZARD_TABLE = "pcre:/etc/postfix/pfwizard/forged_local_senders"


def test_master_v75_setup_on_the_customised_file_gives_the_fixture_byte_for_byte():
    after = run_master_setup(read("master.cf.customized-before-v75-setup"), release_services())
    assert after == read("master.cf.customized-after-v75-setup")


def test_master_setup_twice_changes_nothing():
    services = release_services()
    assert list(services) == ["smtps", "submission", "authclean"]
    for name in ("master.cf.v75", "master.cf.customized-after-v75-setup"):
        assert run_master_setup(read(name), services) == read(name), name


def test_master_setup_comments_out_an_edited_authclean_and_puts_miab_s_back():
    v75 = read("master.cf.v75")
    miab_line = "\t  -o header_checks=pcre:/etc/postfix/outgoing_mail_header_filters\n"
    edited = v75.replace(miab_line, miab_line[:-1] + "," + PFWIZARD_TABLE + "\n")
    assert edited != v75
    after = run_master_setup(edited, release_services())
    # authclean is the file's last entry and no comment names it before: the admin's entry
    # is commented out where it was, and MiaB's follows it.
    entry = v75[v75.index("authclean unix") :]
    assert (
        after
        == v75[: -len(entry)]
        + (
            "#authclean unix  n       -       -       -       0       cleanup\n"
            f"#{miab_line[:-1]},{PFWIZARD_TABLE}\n"
            "#\t  -o nested_header_checks=\n"
        )
        + entry
    )
    # The next run finds "#authclean unix ..." first: MiaB's entry moves up under it (the
    # commented lines follow it; Postfix sees the same entry), and from then on nothing moves.
    again = run_master_setup(after, release_services())
    assert again == v75[: -len(entry)] + (
        "#authclean unix  n       -       -       -       0       cleanup\n"
    ) + entry + (f"#{miab_line[:-1]},{PFWIZARD_TABLE}\n#\t  -o nested_header_checks=\n")
    assert run_master_setup(again, release_services()) == again


def test_master_setup_inserts_after_the_first_line_naming_the_service():
    text = (
        "#authclean unix - - - - - cleanup\nsmtp inet n - y - - smtpd\n"
        "authclean unix n - - - 0 cleanup\n  -o header_checks=\n"
    )
    out = run_master_setup(text, {"authclean": "unix n - - - 0 cleanup\n\t  -o a=b"})
    assert out == (
        "#authclean unix - - - - - cleanup\nauthclean unix n - - - 0 cleanup\n"
        "\t  -o a=b\nsmtp inet n - y - - smtpd\n"
        "#authclean unix n - - - 0 cleanup\n#  -o header_checks=\n"
    )
    # A service named nowhere is appended.
    assert run_master_setup("x unix - - - - - y\n", {"s": "unix - - - - - t"}) == (
        "x unix - - - - - y\ns unix - - - - - t\n"
    )
