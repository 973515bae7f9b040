"""Rules: the desk keeps its promises with nobody at the keyboard.

``spec`` reads and checks ``.gitdesk/rules.yml``; ``engine`` finds what is due and
does it, each change a commit with a ``Gitdesk-Rule`` trailer. See docs/automations.md.
"""
