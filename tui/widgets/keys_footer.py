"""The wizard's footer: Textual's Footer, rebuilt only when the keys it shows change.

Textual rebuilds its footer (one widget per key, ~10 ms and a relayout of the screen) on
every bindings signal: a focus change, a screen resumed, each ``refresh_bindings()``.  Most of
those leave the keys exactly as they were; on the Welcome and chain screens they made the
footer rebuild three times in the first tenth of a second, delaying the first key presses.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer


class KeysFooter(Footer):
    _shown: tuple[Any, ...] | None = None

    def _keys(self) -> tuple[Any, ...]:
        """Everything Footer.compose() reads, for the keys it would show."""
        return tuple(
            (
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                binding.group,
                enabled,
                tooltip,
            )
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )

    async def recompose(self) -> None:
        keys = self._keys() if self._bindings_ready and self.is_attached else None
        if keys is not None and keys == self._shown:
            return
        self._shown = keys
        await super().recompose()
