"""Mail: reading a message, HTML to text, attachments, intake, outgoing mail."""
