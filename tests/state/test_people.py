"""`state.people`: one string per (account_id, user_id), whatever characters the ids hold."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from state.config import EngineConfig
from state.engine import Engine
from state.people import account_of, person_key, person_prefix
from tests.support.streams import active, feed

_IDS = st.text(min_size=1, max_size=12)


@given(_IDS, _IDS, _IDS, _IDS)
def test_two_pairs_share_a_key_only_when_they_are_the_same_pair(
    account: str, user: str, other_account: str, other_user: str
) -> None:
    same_key = person_key(account, user) == person_key(other_account, other_user)
    assert same_key == ((account, user) == (other_account, other_user))


@given(_IDS, _IDS)
def test_a_key_is_its_accounts_prefix_and_the_user_and_names_its_account(
    account: str, user: str
) -> None:
    key = person_key(account, user)
    assert key == person_prefix(account) + user
    assert account_of(key) == account


def test_the_engine_keys_its_users_as_person_key_does() -> None:
    """The engine builds activity keys from the prefix it keeps on the account."""
    engine = Engine(EngineConfig(fx_rates={"USD": Decimal(1)}))
    feed(engine, [active("a:1", "u", 0), active("a:1", "v", 0), active("b", "u", 1)])
    assert set(engine.activity.active) == {
        person_key("a:1", "u"),
        person_key("a:1", "v"),
        person_key("b", "u"),
    }
    assert engine.ledger.accounts["a:1"].person_prefix == person_prefix("a:1")
