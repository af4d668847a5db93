"""Pieces of the restriction analyser; ``pfwizard.analyser`` is the public entry point."""
