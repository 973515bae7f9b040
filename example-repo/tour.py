"""A short guided tour of the demo desk: runs real gitdesk commands and shows them.

Usage: python example-repo/tour.py DESK GITDESK
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path


def run(desk: Path, command: list[str], note: str) -> None:
    import shutil
    import textwrap

    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 10_000
    print("\n" + "\n".join(textwrap.wrap(note, width, initial_indent="# ", subsequent_indent="# ")))
    print("\n".join(textwrap.wrap(shlex.join(command), width, initial_indent="$ ", subsequent_indent="    ",
                                   break_long_words=False, break_on_hyphens=False)), flush=True)
    env = {**os.environ, "GITDESK_NO_PAGER": "1", "GIT_PAGER": "cat", "GITDESK_NOW": "2026-11-20T17:00:00Z"}
    fitted = sys.stdout.isatty() and Path(command[0]).name == "gitdesk"  # git prints as it does
    returncode, out, err = _on_terminal(command, desk, env) if fitted else _piped(command, desk, env)
    lines = out.rstrip("\n").splitlines()
    for line in lines[:40]:
        print("  " + line)
    if len(lines) > 40:
        print(f"  … ({len(lines) - 40} more lines)")
    if returncode != 0:
        print(err, file=sys.stderr)
        raise SystemExit(f"tour step failed: {' '.join(command)}")


def _piped(command: list[str], desk: Path, env: dict[str, str]) -> tuple[int, str, str]:
    result = subprocess.run(command, cwd=desk, env=env, capture_output=True, text=True, check=False)
    return result.returncode, result.stdout, result.stderr


def _on_terminal(command: list[str], desk: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """The command's output as it shows on this terminal, two columns narrower (the tour
    indents it): through a pseudo-terminal, since gitdesk fits tables only to a terminal."""
    try:
        import fcntl
        import pty
        import shutil
        import struct
        import termios
    except ImportError:  # no pseudo-terminals here (Windows): as piped
        return _piped(command, desk, env)
    columns = max(40, shutil.get_terminal_size().columns - 2)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    process = subprocess.Popen(command, cwd=desk, env={**env, "COLUMNS": str(columns)}, stdin=subprocess.DEVNULL,
                               stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the command closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    err = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    returncode = process.wait()
    return returncode, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n"), err


def mail_round_trip(desk: Path, gitdesk: str, mailbox: Path, ticket: str) -> None:
    """Deliver the outbox to a real SMTP server on 127.0.0.1 that keeps each mail as an .eml
    file, then answer the reply as the customer's mail program would, and take the answer in."""
    import email
    import email.policy
    import socket
    import time

    from aiosmtpd.controller import Controller

    if mailbox.exists():  # the mail of an earlier tour: each tour starts its own mailbox
        import shutil

        shutil.rmtree(mailbox)
    mailbox.mkdir()

    class Keep:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # aiosmtpd calls it
            count = len(list(mailbox.glob("*.eml"))) + 1
            (mailbox / f"{count:03d}.eml").write_bytes(getattr(envelope, "original_content", b""))
            return "250 2.0.0 Ok: kept"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Controller(Keep(), hostname="127.0.0.1", port=port)
    server.start()
    try:
        os.environ.update({"GITDESK_SMTP_HOST": "127.0.0.1", "GITDESK_SMTP_PORT": str(port),
                           "GITDESK_SMTP_SECURITY": "none"})
        run(desk, [gitdesk, "mail", "send"],
            f"gitdesk mail send: the outbox goes out, exactly once, each delivery recorded in sent/ "
            f"(here to a local SMTP server on port {port})")
    finally:
        server.stop()
        for name in ("GITDESK_SMTP_HOST", "GITDESK_SMTP_PORT", "GITDESK_SMTP_SECURITY"):
            os.environ.pop(name, None)
        time.sleep(0.1)
    mails = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
             for path in sorted(mailbox.glob("*.eml"))]
    to_customer = [m for m in mails if m["X-Gitdesk-Ticket"] == ticket and m["X-Gitdesk-Event"] == "reply"]
    if not to_customer:
        return
    got = to_customer[-1]
    answer = mailbox / "answer-from-amelie.eml"
    answer.write_bytes(
        f"From: Amelie Roux <amelie.roux@example.org>\nTo: {got['Reply-To']}\nSubject: Re: {got['Subject']}\n"
        f"Message-ID: <answer-{ticket}@example.org>\nIn-Reply-To: {got['Message-ID']}\n"
        f"References: {got['Message-ID']}\n\nThank you, that is very kind!\n".encode())
    run(desk, [gitdesk, "intake", "eml", str(answer)],
        "The customer answers from her mail program: it joins the thread")


def main() -> None:
    desk = Path(sys.argv[1]).resolve()
    gitdesk = str(Path(sys.argv[2]).resolve())
    keys = json.loads((desk / ".git" / "gitdesk" / "demo-keys.json").read_text())["tickets"]
    printer = keys["081-printer-2f-offline-contracts"]
    print(f"\n=== A tour of {desk.name}: Fernhill Tea Co.'s desk, three months of history ===")
    run(desk, [gitdesk, "list"], "What is still open, oldest first")
    run(desk, [gitdesk, "list", "--unassigned"], "What nobody has taken yet: the lead's view")
    run(desk, [gitdesk, "--as", "ravi", "list", "--mine", "--sort", "priority"], "Ravi's own queue")
    run(desk, [gitdesk, "list", "--all", "--asset", "printer-2f"], "A machine that keeps failing")
    run(desk, [gitdesk, "show", printer[:13]], "The whole thread of one of them (any unique ID prefix works)")
    run(desk, ["git", "log", "--format=%h %ad %an: %s", "--date=short", "-6"],
        "Every action is one commit: the audit log")
    run(desk, [gitdesk, "log", printer[:13]], "The same ticket's timeline, read back from Git")
    run(desk, [gitdesk, "similar", "--text", "outlook keeps asking for my password"],
        "Has anyone solved this before?")
    inbox = Path(__file__).resolve().parent / "mail" / "inbox.mbox"
    run(desk, [gitdesk, "intake", "mbox", str(inbox)],
        "Mail in: new threads become tickets (routed by address), a reply joins its thread, auto-replies are skipped")
    customer = json.loads(subprocess.run([gitdesk, "list", "--requester", "amelie.roux@example.org", "--format",
                                          "json"], cwd=desk, capture_output=True, text=True,
                                         check=True).stdout)["tickets"]
    mailbox = desk.parent / (desk.name + "-mail")
    if customer:
        run(desk, [gitdesk, "--as", "lena", "reply", customer[0]["id"], "-m",
                   "So sorry! A new tin is on its way today."],
            "Every public step mails the requester: the reply waits in outbox/, in the same commit")
        run(desk, ["git", "show", "--stat", "--format=%h %s", "HEAD"], "...which a pull request would show")
        mail_round_trip(desk, gitdesk, mailbox, customer[0]["id"])
    span = ["--since", "2026-08-24", "--until", "2026-11-20"]
    run(desk, [gitdesk, "report", "assets", *span], "The case for replacing a machine: the assets report")
    run(desk, [gitdesk, "report", "training", *span], "Who keeps asking about what: the training report")
    run(desk, [gitdesk, "kb", "build"], "Resolution notes become a knowledge base in kb/ (one commit)")
    run(desk, [gitdesk, "rules"], "Rules keep the desk's promises with nobody at the keyboard")
    run(desk, [gitdesk, "rules", "run", "--dry-run"],
        "What cron or a CI schedule would do now (a dry run: nothing changes)")
    site = desk.parent / (desk.name + "-site")
    run(desk, [gitdesk, "site", "build", str(site)], "...and a static site with search, for Pages or your disk")
    waiting = json.loads(subprocess.run([gitdesk, "list", "--unassigned", "--format", "json"], cwd=desk,
                                        capture_output=True, text=True, check=True).stdout)["tickets"]
    print(f"\nThe mail the requesters got: {mailbox} (open the .eml files in any mail program)")
    print(f"The knowledge base: {desk / 'kb' / 'README.md'} (renders on any Git host)")
    print(f"The static site:    {site / 'index.html'} (open it in a browser)")
    print(f"\nThe desk is in {desk}. Keep playing:\n"
          f"  cd {desk}\n"
          f"  {gitdesk} list --all --category email --requester bernard\n"
          f"  {gitdesk} --as marta take {waiting[-1]['id'][:13] if waiting else printer[:13]}\n"
          f"  git log --stat -3\n")


if __name__ == "__main__":
    main()
