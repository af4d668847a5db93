"""pfwizard's theme: the terminal's own 16 ANSI colours, so it reads on any console.

No hex colours anywhere: PuTTY, the Linux console and a 16-colour tmux show these the way the
admin configured their terminal.  Meaning never rests on colour alone (severity words/symbols).
"""

from __future__ import annotations

from textual.theme import Theme

PFWIZARD_ANSI = Theme(
    name="pfwizard-ansi",
    ansi=True,
    primary="ansi_blue",
    secondary="ansi_cyan",
    warning="ansi_yellow",
    error="ansi_red",
    success="ansi_green",
    accent="ansi_cyan",
    foreground="ansi_default",
    background="ansi_default",
    surface="ansi_default",
    panel="ansi_default",
    boost="ansi_default",
    dark=True,
    variables={
        "ansi-background": "ansi_black",
        "ansi-foreground": "ansi_white",
        "border": "ansi_blue",
        "border-blurred": "ansi_bright_black",
        "block-cursor-foreground": "ansi_black",
        "block-cursor-background": "ansi_cyan",
        "block-cursor-text-style": "bold",
        "block-cursor-blurred-foreground": "ansi_bright_white",
        "block-cursor-blurred-background": "ansi_bright_black",
        "input-cursor-background": "ansi_white",
        "input-cursor-foreground": "ansi_black",
        "input-selection-background": "ansi_blue",
        "footer-key-foreground": "ansi_cyan",
        "footer-description-foreground": "ansi_default",
        "footer-background": "ansi_default",
        "scrollbar": "ansi_bright_black",
        "scrollbar-hover": "ansi_white",
        "scrollbar-active": "ansi_white",
        "scrollbar-background": "ansi_default",
    },
)

# Styles for Rich Text built in screens (ANSI names only).
# The bright variants: the console's yellow is brown (4.0:1 on black), its red 2.7:1.
SEVERITY_STYLE = {"info": "cyan", "caution": "bright_yellow", "danger": "bold bright_red"}
