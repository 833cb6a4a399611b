"""Limited-edition waitlists: shoppers queue for a sold-out edition, freed copies are
offered to the first in line for a while (``handout``), the offer expires or is bought
(``expiry``, ``claims``), the admin reorders the line and reads the log (``admin``).

Deliberately imports nothing: checkout imports ``claims`` and the waitlist counts copies
through checkout's ``stock``, so a package-level import would be a cycle.
"""
