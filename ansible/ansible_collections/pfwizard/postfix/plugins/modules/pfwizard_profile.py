#!/usr/bin/python
# MIT License (see the pfwizard repository)
"""Ansible module: apply a pfwizard customisations profile through ``pfwizard apply --json``."""

import json
import os

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: pfwizard_profile
short_description: Apply a pfwizard customisations profile to Postfix (Mail-in-a-Box)
description:
  - Runs C(pfwizard apply PROFILE --json) on the target. pfwizard replays the profile's
    operations onto this box's Mail-in-a-Box values, checks the result with Postfix on a
    staged copy, writes it, reloads the Postfix that reads O(config_dir), and records the
    profile in the box's customizations.yaml so C(pfwizard restore) keeps it after MiaB
    upgrades.
  - Idempotent. pfwizard exits 10 when it changed the configuration (changed) and 0 when
    nothing was to change (ok).
  - Check mode runs C(pfwizard apply --dry-run --json), which writes nothing but runs the
    real run's checks on a staged copy (pfwizard's analyser, C(postfix check)), so a change
    the real run would refuse fails in check mode too, with the same message. With C(--diff)
    the diff shows every file before and after. The contents of a private file (a table
    others cannot read, such as a 0600 sasl_passwd) are never shown, only how many lines
    change.
  - On failure the message is pfwizard's own (a bad profile names its file and line; a
    refused change says why).
version_added: 0.1.0
author:
  - pfwizard authors
options:
  profile:
    description:
      - Path, on the target, of the profile (the format of customizations.yaml).
      - Exactly one of O(profile) and O(content) is required.
    type: path
  content:
    description:
      - The profile's text, written to a private temporary file for the run.
    type: str
  config_dir:
    description: Postfix configuration directory (C(postconf -c)).
    type: path
    default: /etc/postfix
  state_dir:
    description: Where pfwizard keeps backups, the journal and customizations.yaml.
    type: path
    default: /var/lib/pfwizard
  reload:
    description:
      - Reload the Postfix whose running master reads O(config_dir). C(false) passes
        C(--no-reload) (write and check only). pfwizard never reloads a Postfix that does not
        read that directory.
    type: bool
    default: true
  on_conflict:
    description:
      - What to do with a conflict with MiaB's current values. Unset, a conflict fails the
        task and nothing is written.
    type: str
    choices: [keep-miab, skip]
  miab_dir:
    description: The Mail-in-a-Box checkout, for its release.
    type: path
  confirm_within:
    description:
      - Seconds after which pfwizard rolls the change back by itself unless it is confirmed
        with C(pfwizard rollback --confirm ID) (the journal entry is returned).
    type: float
  executable:
    description:
      - The pfwizard program. Default, C(pfwizard) found on the PATH, in /usr/local/sbin or
        in /opt/pfwizard/bin.
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Needs root on the target (C(become)), as pfwizard does.
"""

EXAMPLES = r"""
- name: Our sender rules on every Mail-in-a-Box
  pfwizard.postfix.pfwizard_profile:
    profile: /etc/pfwizard/profile.yaml
  become: true

- name: Try it on a copy of the configuration, nothing reloaded
  pfwizard.postfix.pfwizard_profile:
    content: "{{ lookup('ansible.builtin.file', 'profile.yaml') }}"
    config_dir: /root/postfix-copy
    state_dir: /root/pfwizard-copy-state
    reload: false
"""

RETURN = r"""
exit_code:
  description: pfwizard's exit code (0 nothing changed, 10 changed or would change).
  returned: always
  type: int
journal_entry:
  description: The journal entry of the change (C(pfwizard rollback --to ID) undoes it).
  returned: always
  type: str
  sample: "7"
files:
  description: Every file written (or, in check mode, that would be), with path, role and action.
  returned: always
  type: list
  elements: dict
findings:
  description: What pfwizard's analyser found on the new configuration (code, severity, message).
  returned: always
  type: list
  elements: dict
warnings_postfix:
  description: Postfix's own warnings met on the way, each once.
  returned: always
  type: list
  elements: str
conflicts:
  description: Conflicts with MiaB's current values (kind, parameter, message).
  returned: always
  type: list
  elements: dict
stderr:
  description: pfwizard's progress lines.
  returned: on failure
  type: str
"""

CHANGED = 10
OK = 0
CONTENT_LABEL = "the profile given as content"


def _diffs(files):
    """Ansible's diff, one per file: before and after, or pfwizard's own diff text for a
    private file or a binary index (its contents are never shown)."""
    out = []
    for f in files:
        if f.get("before") is None and f.get("after") is None:
            if f.get("diff"):
                out.append({"prepared": f["diff"]})
            continue
        out.append(
            {
                "before_header": f["path"] if f.get("before") is not None else "/dev/null",
                "after_header": f["path"] if f.get("after") is not None else "/dev/null",
                "before": f.get("before") or "",
                "after": f.get("after") or "",
            }
        )
    return out


def _summary(files):
    return [
        {
            "path": f["path"],
            "role": f["role"],
            "action": f["action"],
            "secret": f.get("secret", False),
        }
        for f in files
    ]


def _executable(module):
    given = module.params["executable"]
    if given:
        return given if os.access(given, os.X_OK) else None
    return module.get_bin_path("pfwizard", opt_dirs=["/usr/local/sbin", "/opt/pfwizard/bin"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            profile=dict(type="path"),
            content=dict(type="str"),
            config_dir=dict(type="path", default="/etc/postfix"),
            state_dir=dict(type="path", default="/var/lib/pfwizard"),
            reload=dict(type="bool", default=True),
            on_conflict=dict(type="str", choices=["keep-miab", "skip"]),
            miab_dir=dict(type="path"),
            confirm_within=dict(type="float"),
            executable=dict(type="path"),
        ),
        required_one_of=[("profile", "content")],
        mutually_exclusive=[("profile", "content")],
        supports_check_mode=True,
    )
    p = module.params
    exe = _executable(module)
    if exe is None:
        where = p["executable"] or "pfwizard"
        if module.check_mode:
            # A first run in check mode comes before the role has installed it.
            module.exit_json(
                changed=True,
                msg=f"{where} is not installed yet: nothing to "
                "compare with, the profile would be applied",
            )
        module.fail_json(msg=f"{where} not found or not executable: install pfwizard first")

    profile = p["profile"]
    if p["content"] is not None:
        profile = os.path.join(module.tmpdir, "profile.yaml")
        with open(
            os.open(profile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8"
        ) as fh:
            fh.write(p["content"])

    argv = [exe, "--config-dir", p["config_dir"], "--state-dir", p["state_dir"]]
    if not p["reload"]:
        argv.append("--no-reload")
    argv += ["apply", profile, "--json"]
    if module.check_mode:
        argv.append("--dry-run")
    if p["on_conflict"]:
        argv += ["--on-conflict", p["on_conflict"]]
    if p["miab_dir"]:
        argv += ["--miab-dir", p["miab_dir"]]
    if p["confirm_within"] is not None:
        argv += ["--confirm-within", str(p["confirm_within"])]

    rc, out, err = module.run_command(argv, environ_update={"NO_COLOR": "1"})

    def own_words(text):
        return text.replace(profile, CONTENT_LABEL) if p["content"] is not None else text

    try:
        doc = json.loads(out)
    except ValueError:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        module.fail_json(
            msg=own_words(lines[-1] if lines else f"pfwizard exited {rc}"),
            rc=rc,
            stdout=out,
            stderr=own_words(err),
            cmd=argv,
        )

    result = dict(
        exit_code=rc,
        journal_entry=doc.get("journal_entry"),
        files=_summary(doc.get("files", [])),
        findings=doc.get("findings", []),
        warnings_postfix=doc.get("warnings", []),
        conflicts=doc.get("conflicts", []),
    )
    if rc not in (OK, CHANGED):
        why = doc.get("error") or next(
            (ln for ln in reversed(err.splitlines()) if ln.strip()), f"pfwizard exited {rc}"
        )
        module.fail_json(msg=own_words(why), rc=rc, stderr=own_words(err), **result)
    if module._diff:
        result["diff"] = _diffs(doc.get("files", []))
    module.exit_json(changed=rc == CHANGED, **result)


if __name__ == "__main__":
    main()
