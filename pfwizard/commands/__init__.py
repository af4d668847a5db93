"""One module per subcommand: ``add_arguments(parser)`` and ``run(args) -> exit code``.

These modules never import Textual at import time; the wizard is imported only by the
commands that open it.
"""
