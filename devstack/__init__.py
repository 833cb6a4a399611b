"""Local stack for development and tests: embedded Postgres, nats-server -js, the services.

Used by ``make run`` (the launcher) and by the test session's fixtures, so both start
the servers the same way.
"""
