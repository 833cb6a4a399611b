"""Image bytes in the NATS Object Store."""
