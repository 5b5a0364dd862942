#!/usr/bin/env python3
"""Send webhooks from a JSON file; see qtrade.tools.bulk."""

from qtrade.tools.bulk import main

if __name__ == "__main__":
    raise SystemExit(main())
