"""``gitdesk serve``: the desk in a browser on this machine.

A small Flask application (Jinja2 templates with autoescaping, no script at
all) over the same library the command line calls: every page reads through
the index per request, every button is the library action of the CLI verb of
the same name. ``security`` holds the token, CSRF, Host and header rules;
``pages`` gathers what each page shows; ``acting`` maps a form to an action;
``app`` wires them into routes; ``server`` binds and runs it.
"""
