"""Sales charts drawn with matplotlib's Agg backend, one ``Figure`` per chart (no pyplot)."""

from vitrina_worker.charts.render import daily_bars, product_bars

__all__ = ["daily_bars", "product_bars"]
