"""`state.dedupe.event_key`: the remembered form of an id is fixed, as checkpoints keep it."""

from __future__ import annotations

from hashlib import blake2b

import pytest
from hypothesis import given
from hypothesis import strategies as st

from state.dedupe import KEY_BITS, event_key


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
