"""Use cases: each opens one session, does its work through repositories, commits once."""
