"""Job handlers: one module per job subject."""
