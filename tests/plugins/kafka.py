"""A real Kafka broker for the test suite, started once per session on free ports.

Fixtures:

- ``kafka_broker`` (session): a :class:`KafkaTestBroker` with every contract topic (and its
  ``.dlq``) created; ``.bootstrap_servers``, ``.stop()`` and ``.start()`` (same ports, same
  data), ``.create_topics(...)``.
- ``kafka_bootstrap_servers`` (function): the bootstrap string, after making sure the broker is
  up (a test that stopped it and failed half-way does not break the next ones).
- ``kafka_group_id`` (function): a consumer group id no other test uses.
- ``kafka_topic`` (function): a fresh topic (with its ``.dlq``) for tests that must not see
  other tests' messages.

The jars are cached in ``<repo>/.finmesh/cache`` (shared with ``make up``; only the cache is
shared, never the broker or its data).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest

from finmesh.config import REPO_ROOT, TOPIC_PARTITIONS, all_topics
from finmesh.kafka import dlq_topic
from finmesh.stack.kafka import KafkaBroker, create_topics, ensure_kafka_jars
from finmesh.stack.procs import free_ports

JAR_CACHE = REPO_ROOT / ".finmesh" / "cache"


class KafkaTestBroker:
    """The session's broker, with test conveniences."""

    def __init__(self, broker: KafkaBroker) -> None:
        self.broker = broker

    @property
    def bootstrap_servers(self) -> str:
        return self.broker.bootstrap_servers

    @property
    def running(self) -> bool:
        return self.broker.is_running()

    def start(self, timeout: float = 60.0) -> None:
        """Start (same ports, same data) and wait until it answers."""
        self.broker.start()
        self.broker.wait_ready(timeout)

    def stop(self) -> None:
        self.broker.stop()

    def ensure_running(self) -> None:
        if not self.running:
            self.start()

    def create_topics(self, *topics: str, partitions: int = TOPIC_PARTITIONS) -> None:
        create_topics(self.bootstrap_servers, topics, partitions)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaTestBroker]:
    libs = ensure_kafka_jars(JAR_CACHE)
    port, controller_port = free_ports(2)
    broker = KafkaTestBroker(
        KafkaBroker(
            libs, tmp_path_factory.mktemp("kafka"), port=port, controller_port=controller_port
        )
    )
    try:
        broker.start()
        broker.create_topics(*all_topics())
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def kafka_bootstrap_servers(kafka_broker: KafkaTestBroker) -> str:
    kafka_broker.ensure_running()
    return kafka_broker.bootstrap_servers


def _slug(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name)[:60]


@pytest.fixture
def kafka_group_id(request: pytest.FixtureRequest) -> str:
    return f"test-{_slug(request)}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def kafka_topic(
    request: pytest.FixtureRequest, kafka_broker: KafkaTestBroker, kafka_bootstrap_servers: str
) -> str:
    topic = f"test.{_slug(request)}.{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topics(topic, dlq_topic(topic))
    return topic
