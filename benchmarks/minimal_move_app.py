"""The floor for bench_tui.py's key-press figure: the smallest Textual app that does what a
move does on screen (an OptionList of 15 two-line entries, ``J``/``K`` swap the highlighted
entry with its neighbour and renumber both), with none of pfwizard's work (no session, no
analyser, no risk panel).  pfwizard's move can only be as fast as Textual redraws this."""

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, OptionList, Static


class Chain(OptionList):
    BINDINGS = [  # noqa: RUF012  (Textual reads it as a plain class attribute)
        Binding("J", "move(1)", "Move down"),
        Binding("K", "move(-1)", "Move up"),
    ]

    def on_mount(self) -> None:
        self.entries = [
            f"check_sender_access\n      texthash:/etc/postfix/t{n:02}" for n in range(15)
        ]
        self.add_options([self.line(n) for n in range(15)])
        self.highlighted = 0

    def line(self, n: int) -> str:
        return f"  {n + 1:2}. {self.entries[n]}"

    def action_move(self, delta: int) -> None:
        i = self.highlighted or 0
        j = i + delta
        if not 0 <= j < len(self.entries):
            return
        self.entries[i], self.entries[j] = self.entries[j], self.entries[i]
        self.replace_option_prompt_at_index(i, self.line(i))
        self.replace_option_prompt_at_index(j, self.line(j))
        self.highlighted = j


class MinimalMove(App[None]):
    BINDINGS = [Binding("q", "quit", "Quit")]  # noqa: RUF012

    def compose(self) -> ComposeResult:
        yield Static("minimal move app")
        yield Chain()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Chain).focus()


if __name__ == "__main__":
    MinimalMove(ansi_color=True).run()
