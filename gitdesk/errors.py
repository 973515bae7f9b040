"""One error hierarchy for everything a user can cause.

``str(error)`` is always one line: ``path:line: message (hint)``. The CLI maps
every ``GitdeskError`` to exit status 1 in one place (``cli.main``); nothing
below the CLI prints or exits.
"""

from __future__ import annotations


class GitdeskError(Exception):
    """A problem the user can fix; never a bug in gitdesk."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        text = where + self.message
        if self.hint:
            text += f" ({self.hint})"
        # One line, whatever the parts held: a hostile value must not forge extra
        # lines or send escape sequences to the terminal.
        from gitdesk.text import one_line

        return one_line(text)


class NotADesk(GitdeskError):
    """No ``.gitdesk/config.yml`` here or above."""


class ConfigError(GitdeskError):
    """``.gitdesk/config.yml`` is broken or inconsistent."""


class TicketFormatError(GitdeskError):
    """A ticket file cannot be read: bad YAML, wrong types, bad encoding, markers."""


class TicketTooLarge(TicketFormatError):
    """A change would make a ticket file larger than every reader accepts."""


class ValidationError(GitdeskError):
    """A value the desk does not know: status, person, queue, priority, category."""


class RejectedSender(ValidationError):
    """A reply on a rejected ticket (spam, refused) that would be mailed to its sender: whether
    to tell them anything is a person's choice (``--send``, ``--no-send``, or a reopening)."""


class TransitionError(GitdeskError):
    """The workflow does not allow this change of status."""


class NotFound(GitdeskError):
    """No ticket with that ID (or prefix)."""


class AmbiguousId(GitdeskError):
    """An ID prefix that matches more than one ticket."""


class DirtyWorktree(GitdeskError):
    """A file gitdesk must write has uncommitted changes."""


class GitError(GitdeskError):
    """Git refused or failed: identity, detached HEAD, a failed commit."""


class ShallowHistory(GitdeskError):
    """A figure needs history this clone does not have (a shallow clone)."""


class LockTimeout(GitdeskError):
    """Another gitdesk process held the desk lock for too long."""


class UnsafePath(GitdeskError):
    """A path that would leave the desk, or a symlink gitdesk will not follow."""
