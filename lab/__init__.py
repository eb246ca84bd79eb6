"""opslab: real Docker Compose labs, maintenance procedures driven through them as pytest scenarios.

The package is organised by role: lifecycle (labs, hosts), doers (procedure steps, faults, workloads),
judges (checks, invariants), records (history, report), and the faces (pytest plugin, command line).
"""

__version__ = "0.1.0"
