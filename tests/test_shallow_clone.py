"""Reports on a shallow clone: refused with the fix, never silently wrong.

A `--depth 1` clone (the default checkout of CI systems) has one commit: every
ticket would look created and changed in it, so a workload report would count
every finished ticket as resolved that day. The CI recipes in docs/ci/ fetch
the whole history; the test runs their steps on both kinds of clone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import Desk, git

from gitdesk.cli import cli

DOCS = Path(__file__).resolve().parent.parent / "docs" / "ci"


@pytest.fixture
def history(desk: Desk) -> Desk:
    """A desk with a few days of history: two tickets resolved on different days."""
    desk.at("2026-11-02T09:00:00Z")
    first = desk.new("Printer jams", "-q", "it-helpdesk", "-r", "carol")
    desk.at("2026-11-02T10:00:00Z")
    desk.run("resolve", first, "--note", "Cleared the tray")
    desk.at("2026-11-03T09:00:00Z")
    second = desk.new("VPN drops", "-q", "it-helpdesk", "-r", "carol")
    desk.at("2026-11-04T09:00:00Z")
    desk.run("resolve", second, "--note", "New profile")
    return desk


def clone(desk: Desk, target: Path, depth: int) -> Path:
    args = ["clone", "-q", *(["--depth", str(depth)] if depth else []), f"file://{desk.path}", str(target)]
    git(desk.path.parent, *args)
    return target


def run(path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--desk", str(path), *args])
    return result.exit_code, result.stdout, result.stderr


def test_reports_refuse_a_shallow_clone_with_the_fix(history: Desk, tmp_path: Path) -> None:
    shallow = clone(history, tmp_path / "shallow", depth=1)
    history.at("2026-11-20T00:00:00Z")
    for name in ("workload", "sla", "queues", "assets", "feedback"):
        code, out, err = run(shallow, "report", name, "--since", "2026-11-01", "--until", "2026-11-10")
        assert code == 1 and out == "", (name, code, out)
        assert err.strip() == ("gitdesk: error: this clone is shallow: reports need the whole history (run git fetch "
                               "--unshallow; in CI check out with fetch-depth: 0 (GitHub) or GIT_DEPTH: 0 (GitLab))")
    code, _, err = run(shallow, "site", "build", str(tmp_path / "site"))
    assert code == 1 and "git fetch --unshallow" in err and not (tmp_path / "site" / "index.html").exists()
    git(shallow, "fetch", "-q", "--unshallow")
    code, out, _ = run(shallow, "report", "workload", "--since", "2026-11-01", "--until", "2026-11-10",
                       "--format", "json")
    assert code == 0 and '"resolved":{"kind":"count","value":2' in out, out


def _recipe_steps(path: Path) -> tuple[int, list[list[str]]]:
    """The checkout depth a recipe asks for (GitHub's fetch-depth, GitLab's GIT_DEPTH; 1 when it
    does not say, as both default to a shallow clone) and its gitdesk commands."""
    recipe = yaml.safe_load(path.read_text())
    (job,) = recipe["jobs"].values() if "jobs" in recipe else [recipe["pages"]]
    if "steps" in job:
        checkout = next(step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/checkout"))
        depth = int((checkout.get("with") or {}).get("fetch-depth", 1))
        commands = [step["run"] for step in job["steps"] if "run" in step]
    else:
        depth = int((job.get("variables") or {}).get("GIT_DEPTH", 1))
        commands = job["script"]
    return depth, [command.split("#")[0].split()[1:] for command in commands if command.startswith("gitdesk ")]


@pytest.mark.parametrize("recipe", ["pages.yml", "pages.gitlab-ci.yml"])
def test_the_pages_recipes_check_out_the_whole_history(history: Desk, tmp_path: Path, recipe: str) -> None:
    depth, steps = _recipe_steps(DOCS / recipe)
    assert depth == 0, f"{recipe} must fetch the whole history"
    assert steps == [["site", "build", "public"]]
    history.at("2026-11-20T00:00:00Z")
    for name, clone_depth, expected in (("as the recipe says", depth, 0), ("shallow", 1, 1)):
        checkout = clone(history, tmp_path / recipe / name.replace(" ", "-"), clone_depth)
        for step in steps:
            code, _, err = run(checkout, *[str(checkout / arg) if arg == "public" else arg for arg in step])
            assert code == expected, (name, step, err)
        assert (checkout / "public" / "reports.html").exists() == (expected == 0)


def test_the_audit_log_and_exports_refuse_and_show_warns(history: Desk, tmp_path: Path) -> None:
    shallow = clone(history, tmp_path / "shallow", depth=1)
    history.at("2026-11-20T00:00:00Z")
    for args, needs in ((["log"], "the audit log needs"), (["log", "GD-"], "the audit log needs"),
                        (["export", "json"], "an export (its timings) needs")):
        code, out, err = run(shallow, *args)
        assert code == 1 and out == "", (args, out)
        assert err.startswith(f"gitdesk: error: this clone is shallow: {needs} the whole history (run git fetch")
        assert len(err.strip().splitlines()) == 1
    ticket = next((shallow / "tickets").glob("*.md")).stem
    for args in (["show", ticket], ["show", ticket, "--format", "json"], ["list", "--all", "--format", "json"]):
        code, out, err = run(shallow, *args)
        assert code == 0 and ticket in out, args
        assert err.strip() == ("gitdesk: warning: this clone is shallow: times read from the history (first "
                               "response, resolution, waiting) start where it was cut (run git fetch --unshallow)")
    for warning in shown_elsewhere(shallow, ticket):
        assert warning is not None and warning.startswith("this clone is shallow: times read from the history")
    git(shallow, "fetch", "-q", "--unshallow")
    code, _, err = run(shallow, "show", ticket)
    assert code == 0 and err == ""
    assert shown_elsewhere(shallow, ticket) == [None, None]
    assert run(shallow, "log")[0] == 0


def shown_elsewhere(path: Path, ticket: str) -> list[str | None]:
    """The shallow warning on the web's ticket page and in an assistant's read of it."""
    from gitdesk import markup
    from gitdesk.assistants.tools import Assistant
    from gitdesk.desk import Desk as OpenDesk
    from gitdesk.web import pages

    page = pages.ticket_page(OpenDesk.open(path, explicit=True), ticket, markup.renderer())
    return [dict(page.facts).get("warning"), Assistant(path).read(ticket).get("timings_warning")]


def test_mail_and_the_rules_refuse_a_shallow_clone_with_the_fix(history: Desk, tmp_path: Path) -> None:
    """What was ever delivered and how long each ticket has waited are read from the whole
    history: a shallow clone would send again what a reverted mail-send commit brought back,
    and date every ticket's status from the cut (a closing missed, a warning never sent)."""
    config = history.path / ".gitdesk" / "config.yml"
    config.write_text(config.read_text() + "mail:\n  address: help@example.com\n")
    git(history.path, "commit", "-qam", "the desk gets mail")
    shallow = clone(history, tmp_path / "shallow", depth=1)
    history.at("2026-11-20T00:00:00Z")
    for args, needs in ((["mail", "send"], "sending mail needs"), (["mail", "send", "--dry-run"], "sending mail needs"),
                        (["rules"], "the rules need"), (["rules", "run", "--dry-run"], "the rules need")):
        code, out, err = run(shallow, *args)
        assert code == 1 and out == "", (args, out)
        assert err.startswith(f"gitdesk: error: this clone is shallow: {needs} the whole history (run git fetch"), err
    git(shallow, "fetch", "-q", "--unshallow")
    assert run(shallow, "rules")[0] == 0 and run(shallow, "mail", "send", "--dry-run")[0] == 0
