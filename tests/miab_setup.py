"""A test double for MiaB's setup run on main.cf and master.cf, behaving as
tests/fixtures/miab/README.md says.

- A line "names" a parameter if, after optional whitespace and an optional ``#`` (and spaces),
  it starts with the exact name, optional spaces and ``=``.
- The first line naming it is the anchor: ``name=value`` goes right after it (unless that line
  is already the active ``name=value``). Later active lines with another value are commented
  out by prefixing ``#``; a later duplicate of the same ``name=value`` is dropped.
- One physical line at a time: continuation lines are never looked at, so a multi-line value
  loses only its first line to the comment and the rest gets glued onto MiaB's new value.
- Erased parameters (value ``None``): any active line is commented out, nothing is added.
- Parameters named nowhere are appended at the end, in the order given.
- master.cf: the same editor with folded lines (an active entry and its ``-o`` lines are one
  unit, compared whole) and a space instead of ``=``; see ``run_master_setup``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from pfwizard import miab
from pfwizard.maincf import MainCf

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "miab"
# MiaB writes its own settings as name=value with no space around '='.
_MIAB_LINE_RE = re.compile(r"([A-Za-z0-9_]+)=(.*)\Z")


def release_values(fixture: str = "main.cf.v75-fresh") -> dict[str, str | None]:
    """What a release's setup sets: every ``name=value`` line of its fresh install, plus the
    parameters it erases (as ``None``)."""
    values: dict[str, str | None] = {}
    cf = MainCf.read(FIXTURES / fixture)
    for d in cf.definitions():
        m = _MIAB_LINE_RE.match(cf.lines[d.index].text)
        if m and not d.continuation:
            values[m.group(1)] = m.group(2)
    for name in sorted(miab.ERASED):
        values[name] = None
    return values


def _edit(chunks: list[str], values: Mapping[str, str | None], delimiter: str) -> str:
    """MiaB's config editor over ``chunks`` (lines, or entries with their folded lines):
    ``name{delimiter}value`` settings, ``None`` erases (comments out, adds nothing)."""
    sep = r"\s*=\s*" if delimiter == "=" else r"\s+"
    out: list[str] = []
    placed: set[str] = set()
    for chunk in chunks:
        for name, value in values.items():
            m = re.match(r"(\s*)(#\s*)?" + re.escape(name) + sep + r"(.*?)\s*\Z", chunk, re.S)
            if m is None:
                continue
            indent, is_comment, existing = m.groups()
            if is_comment is None and existing == (value or ""):
                if name not in placed:
                    out.append(chunk)
                    placed.add(name)
                break  # a second identical active line is dropped
            if is_comment is None:  # comment out every physical line of the chunk
                out.append("#" + chunk.rstrip().replace("\n", "\n#") + "\n")
            else:
                out.append(chunk)
            if name not in placed and value is not None:
                out.append(f"{indent}{name}{delimiter}{value}\n")
                placed.add(name)
            break
        else:
            out.append(chunk)
    for name, value in values.items():
        if name not in placed and value is not None:
            if out and not out[-1].endswith("\n"):
                out[-1] += "\n"
            out.append(f"{name}{delimiter}{value}\n")
    return "".join(out)


def run_setup(text: str, values: Mapping[str, str | None]) -> str:
    """main.cf text after a setup run setting ``values`` (``None``: erase the parameter)."""
    return _edit(text.splitlines(keepends=True), values, "=")


def run_setup_on(path: Path, values: Mapping[str, str | None]) -> None:
    """Rewrite ``path`` in place, as MiaB does (no backup, no temp file)."""
    path.write_text(run_setup(path.read_text(), values))


# ---- master.cf: the services MiaB manages (smtps, submission, authclean) ----------------------
# MiaB edits master.cf with the same tool in its "folded lines, space delimiter" mode: an
# active line gathers the lines after it that start with whitespace (its -o lines), and the
# whole entry is compared with MiaB's. A line starting with '#' gathers nothing.
MANAGED_SERVICES = ("smtps", "submission", "authclean")


def release_services(fixture: str = "master.cf.v75") -> dict[str, str]:
    """What a release's setup writes for each managed service: the text after ``NAME `` of its
    active entry in a fresh master.cf, header and ``-o`` lines (no final newline)."""
    out: dict[str, str] = {}
    entries = _entries((FIXTURES / fixture).read_text())
    for name in MANAGED_SERVICES:  # the order MiaB's setup passes them in
        for entry in entries:
            if entry.startswith(name + " "):
                out[name] = entry[len(name) + 1 :].rstrip("\n")
    return out


def _entries(text: str) -> list[str]:
    """The file as MiaB's editor walks it: one element per line, an active line together with
    its continuation lines."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    while lines:
        line = lines.pop(0)
        if line[:1] not in ("#", " ", "\t", "\n", ""):
            while lines and lines[0][:1] in (" ", "\t"):
                line += lines.pop(0)
        out.append(line)
    return out


def run_master_setup(text: str, services: Mapping[str, str]) -> str:
    """master.cf text after a setup run writing ``services`` (name -> entry after the name).

    The first line naming the service (even a comment such as ``#submission inet ...``) is the
    anchor: MiaB's entry goes right after it. An active entry that differs in any way is
    commented out line by line; a later copy of MiaB's own entry is dropped."""
    return _edit(_entries(text), services, " ")


def run_master_setup_on(path: Path, services: Mapping[str, str]) -> None:
    path.write_text(run_master_setup(path.read_text(), services))


def upgrade(
    config_dir: Path, main_fixture: str = "main.cf.v75-fresh", master_fixture: str = "master.cf.v75"
) -> None:
    """A MiaB setup run (an upgrade) on both files of ``config_dir``."""
    run_setup_on(config_dir / "main.cf", release_values(main_fixture))
    run_master_setup_on(config_dir / "master.cf", release_services(master_fixture))


# ---- the admin's customisations used across the restore tests --------------------------------
SEED000_TABLE = (
    "# Cisco Secure Email Threat Defense (DMARC domains)\n"
    "/^MAILER-DAEMON@esa[0-9]*\\.([a-z0-9-]+\\.){1,2}iphmx\\.com$/ PERMIT\n"
)
SEED001_TABLE = "box.example.com REJECT Oh no you don't. You're not local!\n"
HELO_RESTRICTIONS = (
    "permit_mynetworks, permit_sasl_authenticated, "
    "reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname"
)


def customise(config_dir: Path, state_dir: Path) -> None:
    """Seed 000's allowlist, seed 001's own-domain spoof block and HELO hardening, made with
    the core and recorded as intent, the way the wizard does it."""
    from pfwizard.chain import Chain, Item
    from pfwizard.intent import IntentFile, record_chain, record_parameter, record_table

    main_cf = config_dir / "main.cf"
    cf = MainCf.read(main_cf)
    store = IntentFile.for_state_dir(state_dir)
    tables = config_dir / "pfwizard"
    tables.mkdir(exist_ok=True)
    allow, own = tables / "cisco_dmarc_sender_access", tables / "own_domains"
    allow.write_text(SEED000_TABLE)
    own.write_text(SEED001_TABLE)
    record_table(
        store,
        str(allow),
        "regexp",
        SEED000_TABLE,
        why="Cisco ESA DMARC reporters send from domains without DNS (seed 000)",
    )
    record_table(store, str(own), "hash", SEED001_TABLE, why="own domains (seed 001)")

    sender = Chain.parse(cf.get("smtpd_sender_restrictions") or "")
    new = sender.copy()
    new.insert_before(
        "reject_unknown_sender_domain", Item("check_sender_access", f"regexp:{allow}")
    )
    record_chain(store, "smtpd_sender_restrictions", sender, new, why="seed 000")
    cf.set("smtpd_sender_restrictions", new.render())

    rcpt = Chain.parse(cf.get("smtpd_recipient_restrictions") or "")
    new = rcpt.copy()
    new.insert_after("permit_mynetworks", Item("check_sender_access", f"hash:{own}"))
    record_chain(
        store,
        "smtpd_recipient_restrictions",
        rcpt,
        new,
        why="outsiders may not use our own domains as sender (seed 001)",
    )
    cf.set("smtpd_recipient_restrictions", new.render())

    for name, value in (
        ("smtpd_helo_required", "yes"),
        ("smtpd_helo_restrictions", HELO_RESTRICTIONS),
    ):
        record_parameter(store, name, cf.get(name), value, why="HELO hardening")
        cf.set(name, value)
    main_cf.write_bytes(cf.to_bytes())
    store.save()


def box(tmp: Path, fixture: str = "main.cf.v66-fresh") -> tuple[Path, Path]:
    """A MiaB config directory from a fixture, plus an empty state directory.

    The fixtures' ``myorigin = /etc/mailname`` names a file this test machine lacks (postmap
    reads it); it is the only line changed, and MiaB's setup never touches it.
    """
    config_dir, state_dir = tmp / "etc", tmp / "state"
    config_dir.mkdir()
    text = (FIXTURES / fixture).read_text()
    (config_dir / "main.cf").write_text(
        text.replace("\nmyorigin = /etc/mailname\n", "\nmyorigin = box.example.com\n")
    )
    (config_dir / "master.cf").write_bytes((FIXTURES / "master.cf.v75").read_bytes())
    return config_dir, state_dir
