#!/usr/bin/env python3
"""Delete one user's positions (needs --confirm); see qtrade.tools.cleanup."""

from qtrade.tools.cleanup import main

if __name__ == "__main__":
    raise SystemExit(main())
