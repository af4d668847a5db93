"""Exit codes, one place, documented in ``pfwizard --help`` and the README."""

from __future__ import annotations

OK = 0
"""Success; for ``check``: no danger finding; for ``status``: in sync; for ``apply``: unchanged."""
FINDINGS = 1
"""``check``: a danger finding; ``status``: drift (customisations missing, glued lines, ...)."""
ERROR = 2
"""Bad command line, or the configuration could not be read (message names file and line)."""
FAILED = 3
"""A write was attempted and failed; everything was rolled back to the previous config."""
REFUSED = 4
"""Nothing written: the gate or validation refused the change (an open relay, an unknown
restriction...), not root, another pfwizard holds the lock, files changed meanwhile, a
conflict needs a decision, or the admin declined."""
CHANGED = 10
"""``apply PROFILE`` / ``restore``: the configuration was changed (0 means nothing to do)."""

HELP = """\
exit codes:
  0   success (check: no danger; status: in sync; apply/restore: nothing to change)
  1   check: danger finding present; status: drift found
  2   usage error, or the configuration could not be read
  3   apply failed and was rolled back (the previous configuration is in force)
  4   refused, nothing written (blocked or invalid change, not root, locked, changed
      meanwhile, conflict, declined)
  10  apply/restore: configuration changed successfully
"""
