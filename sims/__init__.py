"""Stand-ins for what cannot run here for real (see sims/drbd for the DRBD 8.4-style replicated volume).

Each stand-in is a small program with its own tests; none of them is the real thing, and each says so.
"""
