"""`pfwizard explain`: why Postfix refused a mail, on this box's own configuration.

Public API::

    parse_line(text) -> RejectLine | None          # one NOQUEUE / milter / header reject line
    BoxConfig.load(config_dir) -> BoxConfig        # the restriction lists in force (postconf)
    explain(line, box) -> Explanation              # list + restriction, plain words, fix, recipe
    reject_lines(binary_stream) -> Iterator[str]   # constant-memory scan of a log
    group(lines, box) -> Report                    # rejects grouped by cause, with counts
"""

from pfwizard.explain.box import BoxConfig, Placement
from pfwizard.explain.causes import Cause, classify
from pfwizard.explain.explainer import Explanation, explain
from pfwizard.explain.logline import RejectLine, parse_line
from pfwizard.explain.scan import Group, Report, group, parse_since, reject_lines, since_filter

__all__ = [
    "BoxConfig",
    "Cause",
    "Explanation",
    "Group",
    "Placement",
    "RejectLine",
    "Report",
    "classify",
    "explain",
    "group",
    "parse_line",
    "parse_since",
    "reject_lines",
    "since_filter",
]
