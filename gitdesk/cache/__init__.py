"""The disposable SQLite data under .git/gitdesk: the ticket index and the audit-log history."""
