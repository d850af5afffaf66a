"""Pure analysis on numbers: no I/O, no store (tested directly)."""
