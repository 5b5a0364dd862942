#!/usr/bin/env python3
"""Delete all test data and reset the simulator (needs --confirm); see qtrade.tools.reset."""

from qtrade.tools.reset import main

if __name__ == "__main__":
    raise SystemExit(main())
