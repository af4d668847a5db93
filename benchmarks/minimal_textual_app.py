"""The yardstick for bench_tui.py: the smallest Textual app with a Footer, started the same
way pfwizard is (a Python process in a pty), so the ratio shows pfwizard's own start-up cost."""

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static


class Minimal(App[None]):
    BINDINGS = [Binding("q", "quit", "Quit")]  # noqa: RUF012  # noqa: RUF012

    def compose(self) -> ComposeResult:
        yield Static("minimal app ready")
        yield Footer()


if __name__ == "__main__":
    Minimal(ansi_color=True).run()
