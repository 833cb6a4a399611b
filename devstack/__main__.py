"""``python -m devstack``: see ``devstack.launcher``."""

import asyncio
import sys

from devstack.launcher import main

sys.exit(asyncio.run(main()))
