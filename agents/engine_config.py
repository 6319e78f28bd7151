"""The engine's parameters from the settings: the one place a shell turns `Settings` into
an `EngineConfig`, so the replay and the worker cannot compute with different ones."""

from __future__ import annotations

from models.settings import Settings
from state.alerts import AlertRules
from state.config import EngineConfig


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        window_days=settings.window_days,
        nps_window_days=settings.nps_window_days,
        lateness_days=settings.lateness_days,
        lapse_grace_days=settings.lapse_grace_days,
        fx_rates=settings.fx_rates,
        reporting_currency=settings.reporting_currency,
        max_future_seconds=settings.max_future_seconds,
        dedupe_hours=settings.dedupe_hours,
        history_days=settings.history_days,
        alert_rules=AlertRules(
            churned_critical_mrr=settings.alert_churned_critical_mrr,
            downgrade_ratio=settings.alert_downgrade_ratio,
            usage_drop_days=settings.alert_usage_drop_days,
            churn_rate_high=settings.alert_churn_rate_high,
            churn_rate_rearm=settings.alert_churn_rate_rearm,
            nps_low=settings.alert_nps_low,
            nps_rearm=settings.alert_nps_rearm,
        ),
    )
