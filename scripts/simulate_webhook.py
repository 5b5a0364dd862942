#!/usr/bin/env python3
"""The testing plan's webhook sender; see qtrade.tools.webhook for the flags."""

from qtrade.tools.webhook import main

if __name__ == "__main__":
    raise SystemExit(main())
