"""`state.dedupe`: the remembered form of an id is fixed, as checkpoints keep it, and
`SeenIds.admit` judges a pair against the ids remembered."""

from __future__ import annotations

from hashlib import blake2b

import pytest
from hypothesis import given
from hypothesis import strategies as st

from state.dedupe import KEY_BITS, SeenIds, event_key


@pytest.mark.parametrize(
    ("account_id", "event_id", "key"),
    [
        ("acct-1", "evt-1", 667003872319192086),
        ("a", "b", 1118235032675028289),
        ("é\x1f", "x", 421351606948638950),
    ],
)
def test_a_key_is_the_one_checkpoints_of_earlier_versions_hold(
    account_id: str, event_id: str, key: int
) -> None:
    """A change here would make a restored worker forget every id it checkpointed."""
    assert event_key(account_id, event_id) == key


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=60))
def test_a_key_is_the_top_60_bits_of_the_pairs_blake2b(account_id: str, event_id: str) -> None:
    digest = blake2b(f"{account_id}\x1f{event_id}".encode(), digest_size=8).digest()
    key = event_key(account_id, event_id)
    assert key == int.from_bytes(digest) >> 4
    assert 0 <= key < 2**KEY_BITS


HOUR = 3600 * 1_000_000


@pytest.mark.parametrize(
    ("second", "now", "volume", "admitted"),
    [
        pytest.param(("acct-1", "evt-1"), 0, True, False, id="the same pair: a duplicate"),
        pytest.param(("acct-2", "evt-1"), 0, True, True, id="the id under another account"),
        pytest.param(("acct-1", "evt-2"), 0, True, True, id="another id"),
        pytest.param(("acct-1", "evt-1"), HOUR - 1, True, False, id="within the horizon"),
        pytest.param(("acct-1", "evt-1"), HOUR, True, True, id="at the horizon: forgotten"),
        pytest.param(("acct-1", "evt-1"), 10 * HOUR, False, False, id="billing: kept by day"),
    ],
)
def test_admit_judges_a_pair_against_the_ids_remembered(
    second: tuple[str, str], now: int, volume: bool, admitted: bool
) -> None:
    seen = SeenIds(HOUR)
    assert seen.admit("acct-1", "evt-1", None, volume, 0, 0)
    assert seen.admit(*second, now, volume, now, 0) is admitted


def test_admit_remembers_the_key_checkpoints_hold() -> None:
    seen = SeenIds(HOUR)
    seen.admit("acct-1", "evt-1", None, True, 5, 0)
    seen.admit("acct-1", "bill-1", 5, False, 5, 0)
    assert seen.volume_entries(None) == [(5, event_key("acct-1", "evt-1"))]
    assert seen.billing == {event_key("acct-1", "bill-1"): 0}


def test_a_billing_id_is_forgotten_with_its_day() -> None:
    seen = SeenIds(HOUR)
    seen.admit("acct-1", "bill-1", None, False, 0, 3)
    seen.forget_billing_before(4)
    assert seen.admit("acct-1", "bill-1", 0, False, 0, 3)
