"""One router per resource under ``/api/v1``; each handler calls one use case."""
