"""``python -m finmesh``: the finmesh CLI."""

import sys

from finmesh.cli import main

sys.exit(main())
