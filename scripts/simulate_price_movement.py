#!/usr/bin/env python3
"""Move a simulated price through the simulator's admin API; see qtrade.tools.prices."""

from qtrade.tools.prices import main

if __name__ == "__main__":
    raise SystemExit(main())
