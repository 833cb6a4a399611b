"""What an on-call engineer reads: the shop's metrics, the gauges read from the database and
JetStream, trace helpers and error reporting (see the README's "Observability")."""
