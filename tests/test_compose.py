"""docker-compose.yml against the Compose Specification's JSON Schema, plus what the stack needs.

No Docker engine runs where this project is developed, so the compose file is checked by a
tool instead: it is loaded with PyYAML (anchors and `<<` merges resolved, as Compose does)
and validated with `jsonschema` against the official schema, vendored as
`tests/data/compose-spec.json` (source, commit and licence in `tests/data/README.md`). A
broken copy must fail the same validation, so the check is known to bite. Then plain
assertions of what the stack needs to work, which the schema cannot know: the dashboard
reachable from the host, Kafka's log dir in a named volume next to the worker's checkpoint
store, the demo's currencies.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from agents.demo import DEMO_FX_RATES

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = ROOT / "tests" / "data" / "compose-spec.json"
WEB_PORT = 6066  # growthstream worker's default --web-port

Compose = dict[str, Any]


def load_compose() -> Compose:
    compose: Compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return compose


def compose_validator() -> jsonschema.Draft7Validator:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["title"] == "Compose Specification"
    assert "draft-07" in schema["$schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def validate(compose: Compose) -> None:
    """Raises `jsonschema.ValidationError` (the most relevant error) when `compose` is invalid."""
    error = jsonschema.exceptions.best_match(compose_validator().iter_errors(compose))
    if error is not None:
        raise error


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping (Compose allows a mapping or `KEY=VALUE` items)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def volume_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of a service's volumes, short (`src:dst[:mode]`) or long syntax."""
    mounts: list[tuple[str, str]] = []
    for item in service.get("volumes") or []:
        if isinstance(item, str):
            source, target = item.split(":")[:2]
            mounts.append((source, target))
        else:
            mounts.append((str(item.get("source", "")), str(item["target"])))
    return mounts


def published_ports(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(host ip, published, target) of a service's ports, short or long syntax."""
    ports: list[tuple[str, str, str]] = []
    for item in service.get("ports") or []:
        if isinstance(item, dict):
            ports.append(
                (str(item.get("host_ip", "")), str(item.get("published", "")), str(item["target"]))
            )
            continue
        parts = str(item).split(":")
        if len(parts) == 3:
            ports.append((parts[0], parts[1], parts[2]))
        elif len(parts) == 2:
            ports.append(("", parts[0], parts[1]))
        else:
            ports.append(("", "", parts[0]))
    return ports


def named_volume(source: str) -> bool:
    """A volume source that names a volume (not a bind mount of a path)."""
    return bool(source) and not source.startswith(("/", ".", "~", "$"))


# -- the schema ----------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    validate(load_compose())


def _misspelt_key(compose: Compose) -> None:
    worker = compose["services"]["worker"]
    worker["enviroment"] = worker.pop("environment")


def _ports_not_a_list(compose: Compose) -> None:
    compose["services"]["worker"]["ports"] = "127.0.0.1:6066:6066"


def _unknown_depends_on_condition(compose: Compose) -> None:
    compose["services"]["worker"]["depends_on"]["kafka"]["condition"] = "service_ready"


def _fx_rates_as_a_yaml_mapping(compose: Compose) -> None:
    # an environment value must be a scalar: the rates go in as one JSON string
    compose["services"]["worker"]["environment"]["GROWTH_FX_RATES"] = {"USD": 1, "EUR": 1.08}


def _unknown_top_level_key(compose: Compose) -> None:
    compose["service"] = compose.pop("services")


def _volume_declared_as_a_list(compose: Compose) -> None:
    compose["volumes"] = list(compose["volumes"])


# name -> (the mistake, where the validator must point)
BREAKAGES: dict[str, tuple[Callable[[Compose], None], list[str]]] = {
    "misspelt service key": (_misspelt_key, ["services", "worker"]),
    "ports not a list": (_ports_not_a_list, ["services", "worker", "ports"]),
    "unknown depends_on condition": (
        _unknown_depends_on_condition,
        ["services", "worker", "depends_on", "kafka", "condition"],
    ),
    "fx rates as a YAML mapping": (
        _fx_rates_as_a_yaml_mapping,
        ["services", "worker", "environment", "GROWTH_FX_RATES"],
    ),
    "unknown top-level key": (_unknown_top_level_key, []),
    "volumes declared as a list": (_volume_declared_as_a_list, ["volumes"]),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_the_validator_rejects_a_broken_copy(breakage: str) -> None:
    broken = copy.deepcopy(load_compose())
    mistake, where = BREAKAGES[breakage]
    mistake(broken)
    with pytest.raises(jsonschema.ValidationError) as raised:
        validate(broken)
    assert list(raised.value.absolute_path) == where, raised.value.message


# -- what the stack needs --------------------------------------------------------------


def test_every_service_has_an_image_or_a_build() -> None:
    services = load_compose()["services"]
    assert set(services) == {"kafka", "redis", "worker", "producer"}
    for name, service in services.items():
        assert service.get("image") or service.get("build"), name
    assert services["kafka"]["image"] == "apache/kafka:3.9.1"


def test_the_worker_serves_the_dashboard_to_the_host() -> None:
    worker = load_compose()["services"]["worker"]
    assert environment(worker)["GROWTH_WEB_HOST"] == "0.0.0.0"
    assert ("127.0.0.1", str(WEB_PORT), str(WEB_PORT)) in published_ports(worker)
    command = [str(part) for part in worker["command"]]
    assert command[0] == "worker"
    if "--web-port" in command:  # the published port is the one the worker listens on
        assert command[command.index("--web-port") + 1] == str(WEB_PORT)


def test_kafka_keeps_its_log_dir_in_a_named_volume() -> None:
    kafka = load_compose()["services"]["kafka"]
    log_dirs = environment(kafka)["KAFKA_LOG_DIRS"]
    assert ("kafka-data", log_dirs) in volume_mounts(kafka)
    assert log_dirs == "/var/lib/kafka/data"  # the image's declared data volume
    assert environment(kafka)["CLUSTER_ID"]  # fixed, so a kept volume matches on restart


def test_the_worker_keeps_its_checkpoints_in_a_named_volume() -> None:
    worker = load_compose()["services"]["worker"]
    assert ("worker-data", "/var/lib/growthstream") in volume_mounts(worker)


def test_every_named_volume_is_declared() -> None:
    compose = load_compose()
    declared = set(compose.get("volumes") or {})
    assert {"kafka-data", "worker-data"} <= declared
    for name, service in compose["services"].items():
        for source, _ in volume_mounts(service):
            if named_volume(source):
                assert source in declared, (name, source)


@pytest.mark.parametrize("service", ["worker", "producer"])
def test_fx_rates_cover_the_demo_currencies(service: str) -> None:
    env = environment(load_compose()["services"][service])
    rates = json.loads(env["GROWTH_FX_RATES"], parse_float=Decimal, parse_int=Decimal)
    assert {"USD", "EUR", "GBP"} <= set(rates)
    assert rates == DEMO_FX_RATES


def test_worker_and_producer_share_the_growth_environment() -> None:
    compose = load_compose()
    shared: dict[str, Any] = compose["x-growth-env"]
    assert "GROWTH_FX_RATES" in shared
    for name in ("worker", "producer"):
        env = environment(compose["services"][name])
        assert {key: env[key] for key in shared} == {k: str(v) for k, v in shared.items()}, name
    assert environment(compose["services"]["worker"])["GROWTH_KAFKA_BOOTSTRAP_SERVERS"] == (
        "kafka:9092"
    )
