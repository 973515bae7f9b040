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


def test_a_hundred_thousand_ids_minted_in_the_same_second_do_not_collide() -> None:
    # The worst case for a time-prefixed ID: everything in one time bucket,
    # as on clones importing at once. 40 random bits keep it collision-free.
    batch = {ids.mint("GD", T0) for _ in range(100_000)}
    assert len(batch) == 100_000


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
