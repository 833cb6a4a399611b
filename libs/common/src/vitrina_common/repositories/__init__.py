"""Repositories: queries over one aggregate each. They flush at most; they never commit."""
