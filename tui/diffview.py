"""A unified diff as Rich Text: + and - lines keep their sign, colour only helps.

Long lines are folded to the view's width, each continuation again starting with the line's
sign (and a ``>`` marker), so at 80 columns nothing is cut off and nothing loses its sign.
"""

from __future__ import annotations

from rich.text import Text


def _style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("@@"):
        return "cyan"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    return ""


def diff_text(diff: str, width: int = 0) -> Text:
    text = Text(no_wrap=True)
    for line in diff.splitlines():
        style = _style(line)
        if width <= 4 or len(line) <= width:
            text.append(line + "\n", style=style)
            continue
        sign = line[0] if line[:1] in "+- " else " "
        text.append(line[:width] + "\n", style=style)
        rest = line[width:]
        step = width - 2
        while rest:
            text.append(sign, style=style)
            text.append(">", style="bold")
            text.append(rest[:step] + "\n", style=style)
            rest = rest[step:]
    return text
