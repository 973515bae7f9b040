"""How good is `gitdesk similar`? A relevance check over the example desk.

The example desk's stories mark repeat problems by hand: each later ticket
names its earlier twin (`twin_of`). For every such pair, the check asks for
the three resolved tickets most similar to the later one and counts how
often the earlier twin is among them. Target: 90 %.

Usage: python bench/relevance.py [DESK]   (builds bench/out/example-desk when not given)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from gitdesk.desk import Desk  # noqa: E402
from gitdesk.knowledge import search  # noqa: E402


def example_desk() -> Path:
    path = HERE / "out" / "example-desk"
    keys = path / ".git" / "gitdesk" / "demo-keys.json"
    if not keys.exists():
        subprocess.run([sys.executable, str(ROOT / "example-repo" / "replay.py"), str(path)], check=True,
                       stdout=subprocess.DEVNULL)
    return path


def measure(path: Path, top: int = 3) -> tuple[int, int, list[str]]:
    keys = json.loads((path / ".git" / "gitdesk" / "demo-keys.json").read_text())
    desk = Desk.open(path, explicit=True)
    found, misses = 0, []
    for later, earlier in sorted(keys["twins"].items()):
        ticket = desk.load(later).ticket
        ids = [item.ticket.id for item in search.similar(desk, ticket=ticket, limit=top)]
        if earlier in ids:
            found += 1
        else:
            misses.append(f"{later} ({ticket.title}) -> expected {earlier} ({desk.load(earlier).ticket.title}); "
                          f"got {', '.join(ids) or 'nothing'}")
    return found, len(keys["twins"]), misses


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else example_desk()
    found, total, misses = measure(path)
    print(f"similar: earlier twin in the top 3 for {found} of {total} repeat problems "
          f"({100 * found / total:.0f} %; target 90 %)")
    for miss in misses:
        print("  missed:", miss)


if __name__ == "__main__":
    main()
