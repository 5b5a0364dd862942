#!/usr/bin/env python3
"""Audit the database; exit 1 on any problem; see qtrade.tools.verify."""

from qtrade.tools.verify import main

if __name__ == "__main__":
    raise SystemExit(main())
