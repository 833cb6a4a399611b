"""Vitrina's HTTP API: shop data (and later the ticket queue) for integrations, behind
staff API tokens."""
