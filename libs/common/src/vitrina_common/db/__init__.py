"""Database layer: metadata, models, engine and session factory."""
