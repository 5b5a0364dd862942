#!/usr/bin/env python3
"""Create a test user from a config file; see qtrade.tools.users."""

from qtrade.tools.users import main

if __name__ == "__main__":
    raise SystemExit(main())
