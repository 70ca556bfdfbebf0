"""The container topology stays in step with `make up`: the compose file's Envoy config is the
one our generator makes and Envoy accepts it; compose has every component of the stack."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from finmesh import auth
from finmesh.config import REPO_ROOT, TOPICS
from finmesh.stack import envoy


def test_compose_envoy_config_is_generated_and_valid(tmp_path: Path) -> None:
    committed = json.loads((REPO_ROOT / "deploy/envoy/envoy.compose.json").read_text())
    assert committed == envoy.render(envoy.compose_settings()), "run `make gen`"
    # Envoy needs the files the container mounts; point them at local copies and validate.
    keys = auth.generate_keys(tmp_path / "keys")
    text = json.dumps(committed)
    text = text.replace("/etc/envoy/finmesh.binpb", str(envoy.DESCRIPTOR_SET))
    text = text.replace("/etc/finmesh/keys/jwks.json", str(keys / auth.JWKS_FILE))
    path = tmp_path / "envoy.json"
    path.write_text(text)
    envoy.validate(path)


def test_compose_has_the_whole_topology() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in (
        "postgres",
        "kafka",
        "kafka-ui",
        "envoy",
        "expense-svc",
        "expense-relay",
        "ml-svc",
        "insight-svc",
    ):
        assert name in services, name
    assert services["expense-relay"]["command"] == ["python", "-m", "expense_svc.relay"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["envoy"]["image"].startswith("envoyproxy/envoy:")
    ui_ports = " ".join(str(p) for p in services["kafka-ui"]["ports"])
    assert "8085" in ui_ports
    init = json.dumps(services["kafka-init"])
    for topic in TOPICS:
        assert topic in init, topic
    assert "$$base.dlq" in init
