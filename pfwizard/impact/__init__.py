"""Impact preview: what a proposed change would have done to this box's own recent mail.

The mail log gives the envelopes (``logscan``/``envelopes``); two private Postfix instances,
built from staged copies of the config dir, are asked through XCLIENT what they would answer to
each one (``replay``), never sending DATA; ``report`` compares the two answers.
"""
