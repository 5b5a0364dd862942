"""Backtesting: replay price history and signals through the unchanged engine and simulator."""

__all__: list[str] = []
