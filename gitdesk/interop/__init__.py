"""Interop: import from other tools (one reader per source) and export."""
