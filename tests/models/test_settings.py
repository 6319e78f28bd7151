"""The reporting currency and its rates (docs/DECISIONS.md 50): money is in the reporting
currency, so rates are values in it and its own rate is 1; settings that cannot be right are
refused before anything is computed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from models.settings import Settings

README_RATES = '{"USD":1,"EUR":1.08,"GBP":1.27}'


def test_the_default_rates_are_the_reporting_currency_alone() -> None:
    assert Settings().fx_rates == {"USD": Decimal(1)}
    assert Settings(reporting_currency="EUR").fx_rates == {"EUR": Decimal(1)}


def test_the_reporting_currency_is_added_with_rate_1() -> None:
    rates = Settings(fx_rates={"EUR": Decimal("1.08")}).fx_rates
    assert rates == {"EUR": Decimal("1.08"), "USD": Decimal(1)}


def test_rates_in_another_currency_than_the_reporting_one_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GROWTH_REPORTING_CURRENCY", "EUR")
    monkeypatch.setenv("GROWTH_FX_RATES", README_RATES)
    with pytest.raises(ValidationError) as error:
        Settings()
    message = error.value.errors()[0]["msg"]
    assert "GROWTH_FX_RATES gives EUR, the reporting currency" in message
    assert "rate 1.08" in message and "EUR must be 1" in message


def test_rates_in_the_reporting_currency_are_kept() -> None:
    rates = {"EUR": Decimal(1), "USD": Decimal("0.9259"), "GBP": Decimal("1.1759")}
    assert Settings(reporting_currency="EUR", fx_rates=rates).fx_rates == rates
    assert Settings(reporting_currency="EUR", fx_rates={"EUR": "1.000"}).fx_rates["EUR"] == 1
