"""The wizard's core, without any UI: its typed state, the apply-then-record step it shares
with restore, and the answers file that drives it without a human."""
