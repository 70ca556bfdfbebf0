"""Fixtures for the whole suite: real PostgreSQL, Kafka and the mesh behind Envoy.

Each is session-scoped and started on free ports in a temporary directory, never touching the
`make up` stack or its data.
"""

pytest_plugins = [
    "tests.plugins.postgres",
    "tests.plugins.kafka",
    "tests.plugins.mesh",
]
