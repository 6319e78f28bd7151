"""Every engine parameter comes from its setting, and nothing else reaches the engine."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from agents.engine_config import engine_config
from models.settings import Settings
from state.alerts import AlertRules
from state.config import EngineConfig


def test_every_parameter_is_taken_from_its_setting() -> None:
    settings = Settings(
        window_days=7, nps_window_days=28, lateness_days=3, lapse_grace_days=5,
        fx_rates={"USD": 1, "EUR": "1.08"},
        alert_churned_critical_mrr=Decimal(900), alert_downgrade_ratio=Decimal("0.3"),
        alert_usage_drop_days=9, alert_churn_rate_high=Decimal(7),
        alert_churn_rate_rearm=Decimal(6),
        alert_nps_low=Decimal(-5), alert_nps_rearm=Decimal(2),
    )  # fmt: skip
    assert engine_config(settings) == EngineConfig(
        window_days=7, nps_window_days=28, lateness_days=3, lapse_grace_days=5,
        fx_rates={"USD": Decimal(1), "EUR": Decimal("1.08")},
        alert_rules=AlertRules(
            churned_critical_mrr=Decimal(900), downgrade_ratio=Decimal("0.3"), usage_drop_days=9,
            churn_rate_high=Decimal(7), churn_rate_rearm=Decimal(6), nps_low=Decimal(-5),
            nps_rearm=Decimal(2),
        ),
    )  # fmt: skip


def test_defaults_agree() -> None:
    assert engine_config(Settings()) == EngineConfig()


def test_the_config_holds_metric_parameters_only() -> None:
    names = {f.name for f in dataclasses.fields(EngineConfig)}
    assert not names & {"redis_url", "kafka_sasl_password", "data_dir", "kafka_bootstrap_servers"}
