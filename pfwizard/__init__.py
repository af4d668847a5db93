"""pfwizard core: Postfix configuration logic.

Never imports Textual (proved by tests/test_core_boundary.py).
"""

__version__ = "0.1.0"
