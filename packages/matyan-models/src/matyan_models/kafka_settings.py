"""How every process of the stack reaches Kafka: the broker, the two topics and the security options.

The API publishes control events and ``delete_run`` messages, the workers consume both topics, and the
frontier publishes ingestion: they all read these variables under the same names, the connection half of
the contract whose messages :mod:`matyan_models.kafka` defines. No prefix, case-insensitive, ``.env``
read, unknown variables ignored.
"""

from __future__ import annotations

import ssl
from typing import Any, Final

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from matyan_models.kafka import DEFAULT_CONTROL_EVENTS_TOPIC, DEFAULT_DATA_INGESTION_TOPIC

__all__ = ["DEV_KAFKA_BOOTSTRAP", "KafkaSettings"]

DEV_KAFKA_BOOTSTRAP: Final = "localhost:9092"
_TLS_PROTOCOLS: Final = ("SSL", "SASL_SSL")


class KafkaSettings(BaseSettings):
    """``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_*_TOPIC``, ``KAFKA_SECURITY_PROTOCOL`` and ``KAFKA_SASL_*``."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    kafka_bootstrap_servers: str = DEV_KAFKA_BOOTSTRAP
    kafka_data_ingestion_topic: str = DEFAULT_DATA_INGESTION_TOPIC
    kafka_control_events_topic: str = DEFAULT_CONTROL_EVENTS_TOPIC
    kafka_security_protocol: str = ""
    kafka_sasl_mechanism: str = ""
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = Field(default="", repr=False)

    def connection_kwargs(self) -> dict[str, Any]:
        """aiokafka client options: the bootstrap servers plus the security options that are set.

        SASL credentials are passed only as a pair; a TLS protocol gets the system's default trust store,
        an explicit SSL context being what aiokafka requires for TLS.
        """
        options: dict[str, Any] = {"bootstrap_servers": self.kafka_bootstrap_servers}
        protocol = self.kafka_security_protocol.strip()
        if protocol:
            options["security_protocol"] = protocol
            if protocol.upper() in _TLS_PROTOCOLS:
                options["ssl_context"] = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        mechanism = self.kafka_sasl_mechanism.strip()
        if mechanism:
            options["sasl_mechanism"] = mechanism
        if self.kafka_sasl_username and self.kafka_sasl_password:
            options["sasl_plain_username"] = self.kafka_sasl_username
            options["sasl_plain_password"] = self.kafka_sasl_password
        return options

    def production_problems(self) -> list[str]:
        """The development defaults production mode refuses, each naming its variable."""
        if self.kafka_bootstrap_servers.strip() == DEV_KAFKA_BOOTSTRAP:
            return [f"KAFKA_BOOTSTRAP_SERVERS is the development default {DEV_KAFKA_BOOTSTRAP}"]
        return []
