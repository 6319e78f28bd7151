"""A user (or a survey respondent), `(account_id, user_id)`, as one string.

One string instead of a tuple of two halves a user's memory (a tuple and two strings
become one string) and is the key a checkpoint writes. The account id's length comes
first, so no two pairs give the same key whatever characters the ids hold.
"""

from __future__ import annotations

Person = str


def person_prefix(account_id: str) -> str:
    """What every person key of the account begins with: the account's users' keys are then
    one concatenation each (the engine keeps it on the `Account`, formatted once)."""
    return f"{len(account_id)}:{account_id}"


def person_key(account_id: str, user_id: str) -> Person:
    return person_prefix(account_id) + user_id


def account_of(person: Person) -> str:
    length, _, rest = person.partition(":")
    return rest[: int(length)]
