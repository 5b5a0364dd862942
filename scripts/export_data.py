#!/usr/bin/env python3
"""Export the store as JSON or CSV (--type positions|users|...); see qtrade.tools.export."""

from qtrade.tools.export import main

if __name__ == "__main__":
    raise SystemExit(main())
