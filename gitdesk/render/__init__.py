"""Everything people see: tables, JSON and CSV through one emit(), views, progress."""
