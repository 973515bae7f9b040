"""gitdesk: a support desk that lives in a Git repository.

The version is defined once, in pyproject.toml, and read from the installed
package's metadata. ``__version__`` is computed on first use, because
``importlib.metadata`` costs ~30 ms of imports that ``gitdesk --help`` must
not pay.
"""

from __future__ import annotations

# What the version is when neither metadata nor a source tree tells (PEP 440's
# "local" part keeps it a valid, obviously unreleased version).
UNKNOWN_VERSION = "0+unknown"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _read_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _read_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("gitdesk")
    except metadata.PackageNotFoundError:
        return _source_tree_version()


def _source_tree_version() -> str:
    """Running from a checkout that was never installed: the version in its pyproject.toml."""
    import re
    from pathlib import Path

    try:
        text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return UNKNOWN_VERSION
    in_project = False
    for line in text.splitlines():
        if line.startswith("["):
            in_project = line.strip() == "[project]"
        elif in_project and (found := re.fullmatch(r'version\s*=\s*"([^"]+)"\s*', line)):
            return found.group(1)
    return UNKNOWN_VERSION
