"""The qtrade execution engine: a deterministic decision core plus adapters around it."""

__all__: list[str] = []
