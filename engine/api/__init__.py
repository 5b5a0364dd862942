"""engine/api."""
