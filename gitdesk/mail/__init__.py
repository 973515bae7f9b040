"""Mail: reading a message and HTML to text, intake, composing mail (templates, who hears
what), and delivering the outbox."""
