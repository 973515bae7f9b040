"""The shape of the code: dependencies point one way, and nothing imports in a circle.

Read from the source (imports inside functions count too; ``if TYPE_CHECKING``
blocks do not, they never run), so a new import that breaks a boundary fails
here before it reaches a reviewer.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gitdesk"
PARTS = ("cache", "githooks", "mail", "knowledge", "reports", "interop", "rules", "assistants", "cli", "render",
         "web")


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every gitdesk module and the gitdesk modules (or outside packages) it imports when run."""
    modules = {_module(path): path for path in PACKAGE.rglob("*.py")}
    found: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(node) for block in ast.walk(tree)
                       if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
                       for node in ast.walk(block)}
        imported: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    imported.add(candidate if candidate in modules else node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        imported.discard(name)
        found[name] = imported
    return found


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in PARTS) else None


def test_the_core_never_imports_a_part() -> None:
    wrong = [f"{module} imports {target}" for module, targets in _imports().items()
             if module.startswith("gitdesk.") and _part(module) is None and module != "gitdesk.__main__"
             for target in targets if target.startswith("gitdesk.") and _part(target) is not None]
    assert wrong == []


def test_the_library_never_imports_click_or_render() -> None:
    """The web desk may borrow render's text helpers (how show words a timing), never click."""
    wrong = [f"{module} imports {target}" for module, targets in _imports().items()
             if _part(module) not in ("cli", "render") and module != "gitdesk.__main__"
             for target in targets if target.split(".")[0] in ("click", "rich")
             or (target.startswith("gitdesk.render") and _part(module) != "web")]
    assert wrong == []


def test_only_the_command_line_starts_the_web_desk() -> None:
    wrong = [f"{module} imports {target}" for module, targets in _imports().items()
             if _part(module) not in ("cli", "web") for target in targets if target.startswith("gitdesk.web")]
    assert wrong == []


def test_render_never_imports_the_command_line() -> None:
    wrong = [f"{module} imports {target}" for module, targets in _imports().items()
             if _part(module) == "render" for target in targets if target.startswith("gitdesk.cli")]
    assert wrong == []


def test_only_the_mcp_command_starts_the_assistants_server() -> None:
    """Nothing in the library leans on the assistants' part, and the MCP SDK (an optional
    extra) is imported by its server alone, so gitdesk works without it."""
    found = _imports()
    users = sorted(module for module, targets in found.items()
                   if not module.startswith("gitdesk.assistants")
                   and any(target.startswith("gitdesk.assistants") for target in targets))
    sdk = sorted(module for module, targets in found.items()
                 if any(target == "mcp" or target.startswith("mcp.") for target in targets))
    assert users == ["gitdesk.cli.assistants"]
    assert sdk == ["gitdesk.assistants.server"]


def test_the_import_graph_has_no_cycle() -> None:
    graph = {module: {target for target in targets if target.startswith("gitdesk")}
             for module, targets in _imports().items()}
    state: dict[str, str] = {}
    path: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target):], target])
            elif target in graph and target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []


def test_git_is_driven_from_one_module() -> None:
    """Every Git call is a named function in gitdesk/git.py (STYLE §5)."""
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "git.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "subprocess" in text and ('"git"' in text or "'git'" in text):
            wrong.append(str(path.relative_to(PACKAGE)))
    assert wrong == []
