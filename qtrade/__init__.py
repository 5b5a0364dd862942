"""Composition root: the ``qtrade`` command wires engine, simulator and reports together.

It lives outside ``engine`` so that the engine itself never imports the simulator.
"""

__all__: list[str] = []
