"""Knowledge: search and similar tickets, the knowledge base, the static site."""
