"""Git integration: check, the hook scripts and what they run, the merge drivers, sync."""
