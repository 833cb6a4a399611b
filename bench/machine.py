"""What every benchmark prints about the machine it ran on: other work slows a run, so
its figures are read beside the load."""

from __future__ import annotations

import os


def load_average() -> str:
    """``load average 0.52 0.61 0.70`` (1, 5 and 15 minutes)."""
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())
