"""The man page pfwizard(8) and the bash and zsh completions, made from the command line's own
argparse definitions, so that what ``--help`` says, the manual says and TAB offers can never
drift apart.  ``scripts/build-docs`` writes them into ``docs/`` (committed: an admin installing
from the checkout needs no build step); ``tests/test_docs.py`` fails when they are stale.

    python3 -m pfwizard.docgen [OUTDIR]      (default: docs/ of this checkout)
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from pfwizard import __version__, cli, exitcodes, miab

MAN_PAGE = "pfwizard.8"
BASH_COMPLETION = "completion/pfwizard.bash"
ZSH_COMPLETION = "completion/_pfwizard"

_FILES = (
    (
        "/etc/postfix/main.cf, /etc/postfix/master.cf",
        "Postfix's configuration, read and changed (another directory with -c DIR).",
    ),
    ("/etc/postfix/pfwizard/", "the access tables pfwizard creates."),
    (
        "/var/lib/pfwizard/customizations.yaml",
        "your customisations, re-applied by restore after a Mail-in-a-Box upgrade.",
    ),
    (
        "/var/lib/pfwizard/journal/",
        "one entry per change, with a backup of every file it touched (rollback).",
    ),
)
_ENVIRONMENT = (
    ("NO_COLOR", "when set, no colours (as --no-color)."),
    (
        "TERM",
        "linux (the Linux console): the wizard draws only with the console font's characters.",
    ),
    ("SUDO_USER", "the admin behind sudo, recorded in the journal and the system log."),
    (
        miab.CHECKOUT_ENV,
        "the Mail-in-a-Box checkout (status and restore; default /root/mailinabox).",
    ),
    ("PFWIZARD_DEBUG", "when set, an internal error shows where it happened."),
)
_SEE_ALSO = "postconf(1), postconf(5), postmap(1), postfix(1), access(5), etckeeper(8)"
_TRAIL = (
    "Every change written (apply, restore, rollback, the wizard, a change undone after a "
    "failure) leaves one line in the system log, facility mail, ident pfwizard: the journal "
    "entry, the files and the admin (SUDO_USER). When etckeeper keeps /etc, /etc is committed "
    "after each change with a message naming the journal entry; a commit that fails is said "
    "but never fails the change."
)


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    metavar: str | None
    """None: a switch that takes no value."""
    choices: tuple[str, ...]
    help: str
    repeat: bool = False
    """A positional given any number of times (``LINE ...``)."""


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    description: str
    options: tuple[Option, ...]
    positionals: tuple[Option, ...]


def _help(action: argparse.Action) -> str:
    text = action.help or ""
    if "%(" in text:
        text = text % {"default": action.default, "prog": "pfwizard"}
    return " ".join(text.split())


def _options(
    parser: argparse.ArgumentParser, skip_global: bool
) -> tuple[tuple[Option, ...], tuple[Option, ...]]:
    opts: list[Option] = []
    pos: list[Option] = []
    for action in parser._actions:  # argparse keeps no public list of a parser's options
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if skip_global and action.dest in _GLOBAL_DESTS:
            continue
        takes_value = action.nargs != 0
        metavar = None
        if takes_value:
            metavar = str(
                action.metavar or (action.dest.upper() if action.option_strings else action.dest)
            )
        opt = Option(
            tuple(action.option_strings),
            metavar,
            tuple(str(c) for c in action.choices or ()),
            _help(action),
            repeat=action.nargs in ("*", "+"),
        )
        (opts if action.option_strings else pos).append(opt)
    return tuple(opts), tuple(pos)


_GLOBAL_DESTS = ("config_dir", "state_dir", "dry_run", "no_reload", "no_color", "ascii")


def model() -> tuple[argparse.ArgumentParser, tuple[Option, ...], tuple[Command, ...]]:
    """The top-level parser, its options, and every command with its own options."""
    top = cli.build_parser()
    global_opts, _ = _options(top, skip_global=False)
    commands = []
    for name, summary in cli.COMMANDS.items():
        parser = cli.build_parser(name)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        cmd_parser = sub.choices[name]
        opts, pos = _options(cmd_parser, skip_global=True)
        description = cmd_parser.description or summary
        commands.append(Command(name, summary, description, opts, pos))
    return top, global_opts, tuple(commands)


# ---- the man page ----------------------------------------------------------------------------
def _roff(text: str) -> str:
    """Text safe in roff: backslashes, hyphens of options, a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + ln) if ln[:1] in (".", "'") else ln for ln in text.split("\n"))


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def _man_option(opt: Option) -> str:
    flags = ", ".join(f"\\fB{_roff(f)}\\fR" for f in opt.flags) or f"\\fI{opt.metavar}\\fR"
    if opt.flags and opt.metavar:
        value = "{" + ",".join(opt.choices) + "}" if opt.choices else opt.metavar
        flags += f" \\fI{_roff(value)}\\fR"
    return f".TP\n{flags}\n{_roff(opt.help)}\n"


def _usage(cmd: Command) -> str:
    words = [f"\\fBpfwizard\\fR [\\fIGLOBAL OPTIONS\\fR] \\fB{cmd.name}\\fR"]
    if cmd.options:
        words.append("[\\fIOPTIONS\\fR]")
    words += [
        f"\\fI{_roff(p.metavar or '')}\\fR" + (" ..." if p.repeat else "") for p in cmd.positionals
    ]
    return " ".join(words)


def man_page() -> str:
    top, global_opts, commands = model()
    out = [
        f'.TH PFWIZARD 8 "" "pfwizard {__version__}" "System Administration"\n',
        ".\\\" Generated by scripts/build-docs from pfwizard's argparse definitions; "
        "do not edit.\n",
        ".SH NAME\npfwizard \\- customise Postfix's SMTP restrictions on a Mail\\-in\\-a\\-Box "
        "safely\n",
        ".SH SYNOPSIS\n",
        ".B pfwizard\n[\\fIGLOBAL OPTIONS\\fR]\n.br\n",
    ]
    out += [f"{_usage(c)}\n.br\n" for c in commands]
    out.append(".SH DESCRIPTION\n")
    out += [f".PP\n{_roff(p)}\n" for p in _paragraphs(top.description or "")]
    out.append(
        ".PP\nRun it as root (\\fBsudo pfwizard\\fR) over SSH. Every command that "
        "changes the configuration validates a staged copy with Postfix's own tools, "
        "backs up every file into the journal, writes atomically, reloads Postfix and "
        "undoes the change by itself if any step fails.\n"
    )
    out.append(".SH GLOBAL OPTIONS\nAccepted before or after the command name.\n")
    out += [_man_option(o) for o in global_opts]
    out.append(".SH COMMANDS\n")
    for cmd in commands:
        out.append(f".SS {cmd.name}\n")
        paras = _paragraphs(cmd.description)
        out += [f".PP\n{_roff(p)}\n" for p in paras]
        if cmd.positionals or cmd.options:
            out.append(".PP\nOptions:\n")
        out += [_man_option(o) for o in (*cmd.positionals, *cmd.options)]
    out.append(".SH EXIT STATUS\n")
    out += [f".TP\n\\fB{code}\\fR\n{_roff(text)}\n" for code, text in exitcodes.MEANINGS.items()]
    out.append(
        ".PP\nWith \\fBcheck \\-\\-nagios\\fR the monitoring plugins' codes instead: "
        "0 OK, 1 WARNING (cautions), 2 CRITICAL (dangers), 3 UNKNOWN (the "
        "configuration could not be read).\n"
    )
    out.append(".SH FILES\n")
    out += [f".TP\n.I {_roff(path)}\n{_roff(text)}\n" for path, text in _FILES]
    out.append(".SH ENVIRONMENT\n")
    out += [f".TP\n.B {name}\n{_roff(text)}\n" for name, text in _ENVIRONMENT]
    out.append(f".SH LOGGING\n{_roff(_TRAIL)}\n")
    out.append(f".SH SEE ALSO\n{_roff(_SEE_ALSO)}\n")
    return "".join(out)


# ---- completion ------------------------------------------------------------------------------
def _value_kind(opt: Option) -> str:
    """What a value is: ``dir``, ``file``, ``choice`` or ``word`` (nothing to offer)."""
    if opt.choices:
        return "choice"
    meta = (opt.metavar or "").upper()
    if meta == "DIR":
        return "dir"
    if meta in ("FILE", "PROFILE.YAML"):
        return "file"
    return "word"


def bash_completion() -> str:
    _, global_opts, commands = model()
    value_opts = {f: o for o in global_opts for f in o.flags if o.metavar}
    value_opts.update({f: o for c in commands for o in c.options for f in o.flags if o.metavar})
    by_kind: dict[str, list[str]] = {"dir": [], "file": [], "word": []}
    choice_cases = []
    for flag, opt in sorted(value_opts.items()):
        kind = _value_kind(opt)
        if kind in by_kind:
            by_kind[kind].append(flag)
        elif kind == "choice":
            choice_cases.append(
                f"        {flag}) COMPREPLY=($(compgen -W "
                f'"{" ".join(opt.choices)}" -- "$cur")); return ;;'
            )
    words = sorted({f for o in global_opts for f in o.flags} | {"--help", "--version"})
    global_skip = "|".join(f for o in global_opts for f in o.flags if o.metavar)
    every = [o for o in global_opts if "--version" not in o.flags]  # accepted after COMMAND
    cases = []
    for cmd in commands:
        flags = sorted(
            {f for o in cmd.options for f in o.flags}
            | {f for o in every for f in o.flags}
            | {"--help"}
        )
        files = any(
            _value_kind(p) == "file" or (p.metavar or "").upper().endswith(".YAML")
            for p in cmd.positionals
        )
        cases.append(
            f'        {cmd.name}) opts="{" ".join(flags)}"'
            + ("; positional=file" if files else "")
            + " ;;"
        )
    value_words = "|".join(by_kind["word"]) or "--none"
    return f"""\
# bash completion for pfwizard(8)                                      -*- shell-script -*-
# Generated by scripts/build-docs from pfwizard's argparse definitions; do not edit.
# Installed as /usr/local/share/bash-completion/completions/pfwizard by scripts/install.

_pfwizard() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local cmd="" i opts="" positional=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in
            {global_skip}) ((i++)) ;;
            -*) ;;
            *) cmd="${{COMP_WORDS[i]}}"; break ;;
        esac
    done
    case "$prev" in
        {"|".join(by_kind["dir"]) or "--none"}) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        {"|".join(by_kind["file"]) or "--none"}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
{chr(10).join(choice_cases)}
        {value_words}) COMPREPLY=(); return ;;
    esac
    case "$cmd" in
        "") COMPREPLY=($(compgen -W "{" ".join(words)} {" ".join(c.name for c in commands)}" \\
                -- "$cur")); return ;;
{chr(10).join(cases)}
        *) return ;;
    esac
    if [[ "$cur" == -* || -z "$positional" ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
complete -o filenames -F _pfwizard pfwizard
"""


def _zsh_text(text: str, limit: int = 70) -> str:
    """A short description in a zsh spec: cut to ``limit``, zsh's specials escaped."""
    text = text if len(text) <= limit else text[: limit - 3].rstrip() + "..."
    return (
        text.replace("\\", "\\\\")
        .replace("'", "'\\''")
        .replace("[", "\\[")
        .replace("]", "\\]")
        .replace(":", "\\:")
    )


def _zsh_spec(opt: Option) -> str:
    action = ""
    if opt.metavar:
        kind = _value_kind(opt)
        action = {
            "dir": "_files -/",
            "file": "_files",
            "choice": "(" + " ".join(opt.choices) + ")",
        }.get(kind, " ")
        action = f":{opt.metavar.lower()}:{action}"
    desc = f"[{_zsh_text(opt.help)}]"
    if len(opt.flags) == 1:
        return f"'{opt.flags[0]}{desc}{action}'"
    excl = "(" + " ".join(opt.flags) + ")"
    return f"'{excl}'{{{','.join(opt.flags)}}}'{desc}{action}'"


def zsh_completion() -> str:
    _, global_opts, commands = model()
    globals_ = "\n".join(f"    {_zsh_spec(o)}" for o in global_opts if "--version" not in o.flags)
    names = "\n".join(f"    '{c.name}:{_zsh_text(c.summary)}'" for c in commands)
    cases = []
    for cmd in commands:
        specs = [_zsh_spec(o) for o in cmd.options]
        specs += [
            f"'*:{(p.metavar or 'arg').lower()}:_files'"
            if (p.metavar or "").upper().endswith(".YAML")
            else f"'*:{(p.metavar or 'arg').lower()}: '"
            for p in cmd.positionals
        ]
        body = " \\\n          ".join(["$global_opts", *specs])
        cases.append(f"      ({cmd.name})\n        _arguments -s \\\n          {body} ;;")
    return f"""\
#compdef pfwizard
# zsh completion for pfwizard(8).
# Generated by scripts/build-docs from pfwizard's argparse definitions; do not edit.
# Installed as /usr/local/share/zsh/site-functions/_pfwizard by scripts/install.

local -a global_opts commands
global_opts=(
{globals_}
)
commands=(
{names}
)
local curcontext="$curcontext" state line ret=1
_arguments -C -s \\
  '(- *)'{{-h,--help}}'[show the help]' \\
  '(- *)--version[show the version]' \\
  $global_opts \\
  '1:command:->command' \\
  '*::argument:->argument' && ret=0
case $state in
  (command)
    _describe -t commands 'pfwizard command' commands && ret=0 ;;
  (argument)
    case $line[1] in
{chr(10).join(cases)}
    esac ;;
esac
return ret
"""


def outputs() -> dict[str, str]:
    """Relative path under docs/ → content."""
    return {
        MAN_PAGE: man_page(),
        BASH_COMPLETION: bash_completion(),
        ZSH_COMPLETION: zsh_completion(),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "docs"
    for rel, text in outputs().items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
