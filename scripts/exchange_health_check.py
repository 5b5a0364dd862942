#!/usr/bin/env python3
"""Print the service's exchange connection states; exit 1 unless all are ok."""

from qtrade.tools.health import main

if __name__ == "__main__":
    raise SystemExit(main())
