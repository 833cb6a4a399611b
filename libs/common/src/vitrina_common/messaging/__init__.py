"""NATS JetStream: topology (streams, buckets), provisioning, connection and message contracts."""
