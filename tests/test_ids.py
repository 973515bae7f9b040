"""IDs: unique across clones by construction, sorted by time, typed by prefix."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gitdesk import ids
from gitdesk.errors import AmbiguousId, NotFound, ValidationError

T0 = datetime(2026, 11, 20, 9, 14, tzinfo=timezone.utc)


def test_ids_look_like_the_spec_and_sort_by_creation_time() -> None:
    minted = [ids.mint("GD", T0 + timedelta(seconds=2 * n)) for n in range(50)]
    assert all(ids.is_valid(i, "GD") for i in minted)
    assert minted == sorted(minted)
    assert minted[0].startswith("GD-01")
    assert len(minted[0]) == len("GD-") + 18


def test_ids_minted_in_the_same_second_on_different_clones_do_not_collide() -> None:
    # The worst case for a time-prefixed ID: clones that know nothing of each other
    # minting in one time bucket (imports at once). A fresh slot draws 39 random bits,
    # so 20,000 such IDs collide with a chance of 1 in 2,700 (100,000 did in 1 run in
    # 110); within one clone, mint continues from the slot's largest and never collides.
    batch = {ids.mint("GD", T0) for _ in range(20_000)}
    assert len(batch) == 20_000


def test_ids_minted_in_the_same_second_as_existing_ones_still_sort_after_them() -> None:
    minted: list[str] = []
    for _ in range(200):
        minted.append(ids.mint("GD", T0, minted))
    assert minted == sorted(minted) and len(set(minted)) == 200


def test_prefix_resolution_is_forgiving_about_case_and_confusable_letters() -> None:
    known = ["GD-01JD8X4K0000000001", "GD-01JD8X4K1000000000", "GD-01JD9AAAAAAAAAAAAA"]
    assert ids.resolve_prefix("gd-01jd9", "GD", known) == "GD-01JD9AAAAAAAAAAAAA"
    assert ids.resolve_prefix("01JD8X4KO", "GD", known) == "GD-01JD8X4K0000000001", "O reads as 0"
    assert ids.resolve_prefix("01jd8x4kl", "GD", known) == "GD-01JD8X4K1000000000", "l reads as 1"
    with pytest.raises(AmbiguousId, match="matches 2 tickets: GD-01JD8X4K0000000001, GD-01JD8X4K1000000000"):
        ids.resolve_prefix("GD-01JD8", "GD", known)
    with pytest.raises(NotFound):
        ids.resolve_prefix("GD-7", "GD", known)


@pytest.mark.parametrize("typed", ["", "-", "--all", "GD-01/../x", "XX-01JD", "GD-01JD8X4K00000000001X", "GD-01 J"])
def test_what_is_not_an_id_is_refused(typed: str) -> None:
    with pytest.raises(ValidationError):
        ids.normalise(typed, "GD")


def test_tickets_made_in_the_same_second_sort_in_creation_order_even_in_a_folder_named_like_a_pattern(
        tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # `new` asks Git's index for the IDs of its second instead of listing the folder; the
    # desk's folder name is a path, never a pattern.
    from conftest import git, make_desk

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    desk = make_desk(repo / "it [desk]*?", monkeypatch, own_repository=False)
    desk.at("2026-11-20T09:14:00Z")
    made = [desk.new(f"Ticket {n}") for n in range(4)]
    assert made == sorted(made) and len(set(made)) == 4
    listed = [line.split()[0] for line in desk.run("list").stdout.splitlines()[1:]]
    assert listed == made


def test_on_a_running_clock_tickets_of_one_second_differ_by_their_millisecond(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Created times are whole seconds; an ID keeps the millisecond, so tickets made one after
    another differ early in their ID, not only in its last characters."""
    from datetime import datetime, timedelta, timezone

    from gitdesk import clock

    monkeypatch.delenv("GITDESK_NOW", raising=False)
    for _ in range(5):  # a second may turn between the two readings
        second = clock.now()
        precise = clock.within_second(second)
        if precise.replace(microsecond=0) == second:
            break
    assert precise.replace(microsecond=0) == second
    old = datetime(2020, 1, 1, tzinfo=timezone.utc)
    assert clock.within_second(old) == old, "a moment that is not now keeps its whole second"
    passed = clock.now() - timedelta(seconds=2)  # read before a wait for the desk lock
    assert clock.within_second(passed) == passed + timedelta(milliseconds=999), \
        "the second's last millisecond: after the IDs minted earlier in it, never before them"
    monkeypatch.setenv("GITDESK_NOW", "2026-11-20T09:14:00Z")
    assert clock.within_second(clock.now()) == clock.now(), "a fixed clock stays fixed"
