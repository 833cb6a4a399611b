"""Worker metrics (OpenTelemetry instruments, exported at /metrics)."""

from __future__ import annotations

from opentelemetry import metrics

_meter = metrics.get_meter("vitrina.worker")

# outcome: rendered | duplicate | stale | failed | retried
preview_jobs = _meter.create_counter(
    "vitrina.preview.jobs", description="Preview render jobs handled, by outcome"
)
render_seconds = _meter.create_histogram(
    "vitrina.preview.render.duration", unit="s", description="Time to render one preview"
)

# kind: plan | row | report; outcome: planned | refused | imported | already_imported |
# failed | duplicate | reported | retried
import_jobs = _meter.create_counter(
    "vitrina.import.jobs", description="Bulk import jobs handled, by kind and outcome"
)
