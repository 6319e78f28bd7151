"""One account as the read model shows it (`growth:account:{id}`, `replay --accounts`).

The worker's Redis hash and the replay's account file are both this function of
the engine's state, so the read model cannot say anything the engine does not hold.
"""

from __future__ import annotations

from models.outputs import AccountView, SubscriptionView
from state.clock import day_to_date, iso_utc
from state.engine import Engine
from state.risk import open_rules


def account_view(engine: Engine, account_id: str) -> AccountView | None:
    """The account's row, or None for an account the engine has never seen."""
    account = engine.ledger.accounts.get(account_id)
    if account is None:
        return None
    paying = account.mrr > 0
    return AccountView.model_construct(
        mrr=account.mrr,
        currency=engine.config.reporting_currency,
        status=account.status.value,
        plan=account.plan,
        last_active=None if account.last_active is None else iso_utc(account.last_active),
        last_score=account.last_score,
        churn_risk=open_rules(account.open_alerts),
        paying_since=(
            day_to_date(account.streak_start).isoformat()
            if paying and account.streak_start is not None
            else None
        ),
        subscriptions=[
            SubscriptionView.model_construct(
                id=sid,
                plan=sub.plan,
                mrr=sub.monthly,
                quantity=sub.quantity,
                paid_through=None if sub.paid_through is None else iso_utc(sub.paid_through),
                scheduled_end=(
                    None if sub.cancel_effective_at is None else iso_utc(sub.cancel_effective_at)
                ),
            )
            for sid, sub in sorted(account.subscriptions.items())
        ],
    )
