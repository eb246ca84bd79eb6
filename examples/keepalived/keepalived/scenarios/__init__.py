"""The keepalived lab's scenarios (test_*.py)."""
