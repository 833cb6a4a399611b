"""Outer middlewares: per-update context (language, translator) and throttling."""
