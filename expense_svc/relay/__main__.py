"""`python -m expense_svc.relay`: run the outbox relay on its own until SIGTERM.

A module of its own so that the relay's module (and its metrics) is imported once: run as
``__main__``, ``relay/__init__.py`` would be a second copy beside the ``expense_svc.relay`` that
``expense_svc.server`` imports, and prometheus refuses the second set of metrics.
"""

import asyncio

from expense_svc.relay import main

asyncio.run(main())
