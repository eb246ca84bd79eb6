"""The keepalived lab for opslab."""
