"""Kafka's connection settings, shared by the API and the workers."""

from __future__ import annotations

import ssl

import pytest

from matyan_models.kafka import DEFAULT_CONTROL_EVENTS_TOPIC, DEFAULT_DATA_INGESTION_TOPIC
from matyan_models.kafka_settings import DEV_KAFKA_BOOTSTRAP, KafkaSettings


def test_contract_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": "a:1,b:2",
        "KAFKA_DATA_INGESTION_TOPIC": "data",
        "KAFKA_CONTROL_EVENTS_TOPIC": "control",
        "kafka_security_protocol": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "KAFKA_SASL_USERNAME": "u",
        "KAFKA_SASL_PASSWORD": "secret",
    }.items():
        monkeypatch.setenv(name, value)
    settings = KafkaSettings()
    assert settings.kafka_data_ingestion_topic == "data"
    assert settings.kafka_control_events_topic == "control"
    assert "secret" not in repr(settings)
    assert settings.connection_kwargs() == {
        "bootstrap_servers": "a:1,b:2",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "u",
        "sasl_plain_password": "secret",
    }


def test_defaults_are_the_contract_s() -> None:
    settings = KafkaSettings(kafka_bootstrap_servers=DEV_KAFKA_BOOTSTRAP)
    assert settings.kafka_data_ingestion_topic == DEFAULT_DATA_INGESTION_TOPIC
    assert settings.kafka_control_events_topic == DEFAULT_CONTROL_EVENTS_TOPIC
    assert settings.connection_kwargs() == {"bootstrap_servers": DEV_KAFKA_BOOTSTRAP}


@pytest.mark.parametrize(("protocol", "tls"), [("SSL", True), ("sasl_ssl", True), ("SASL_PLAINTEXT", False)])
def test_tls_protocols_get_an_ssl_context(protocol: str, tls: bool) -> None:
    options = KafkaSettings(kafka_security_protocol=f" {protocol} ").connection_kwargs()
    assert options["security_protocol"] == protocol
    assert isinstance(options.get("ssl_context"), ssl.SSLContext) is tls


def test_sasl_credentials_only_as_a_pair() -> None:
    options = KafkaSettings(kafka_sasl_username="u", kafka_sasl_password="").connection_kwargs()
    assert "sasl_plain_username" not in options


def test_production_refuses_the_development_broker() -> None:
    problems = KafkaSettings(kafka_bootstrap_servers=f" {DEV_KAFKA_BOOTSTRAP} ").production_problems()
    assert problems == [f"KAFKA_BOOTSTRAP_SERVERS is the development default {DEV_KAFKA_BOOTSTRAP}"]
    assert KafkaSettings(kafka_bootstrap_servers="kafka:9092").production_problems() == []
