"""Support tickets: the statuses and the one table of moves between them (``status``).
The use cases are in ``vitrina_common.services.tickets``."""
