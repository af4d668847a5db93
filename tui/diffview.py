"""A unified diff as Rich Text: + and - lines keep their sign, colour only helps."""

from __future__ import annotations

from rich.text import Text


def diff_text(diff: str) -> Text:
    text = Text(no_wrap=True)
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        else:
            style = ""
        text.append(line + "\n", style=style)
    return text
