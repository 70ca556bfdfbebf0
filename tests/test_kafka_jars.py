"""ensure_kafka_jars against a stand-in ``mvn``: a transfer cut off once is retried, not fatal.

CI once went red because Maven Central reset one connection mid-download; these tests pin that
the resolution tries again (and that it still gives up, with Maven's words, when it keeps failing).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from finmesh.stack import kafka

# Fails while the counter file holds fewer than FAILS lines, then writes the broker jar into
# -DoutputDirectory as copy-dependencies would.
FAKE_MVN = """#!/bin/sh
count="$FAKE_MVN_DIR/calls"
echo x >> "$count"
n=$(wc -l < "$count")
if [ "$n" -le "$FAKE_MVN_FAILS" ]; then
  echo "[ERROR] Could not transfer artifact commons-collections:jar:3.2.2: Connection reset"
  exit 1
fi
for arg in "$@"; do
  case "$arg" in
    -DoutputDirectory=*) out="${arg#-DoutputDirectory=}" ;;
  esac
done
mkdir -p "$out"
touch "$out/kafka_2.13-9.9.9.jar"
"""


@pytest.fixture
def fake_mvn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text(FAKE_MVN)
    mvn.chmod(mvn.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_MVN_DIR", str(tmp_path))
    monkeypatch.setattr(kafka, "RESOLVE_RETRY_DELAYS", (0.0, 0.0, 0.0))
    pom = tmp_path / "pom.xml"
    pom.write_text("<project/>\n")
    return pom


def calls(tmp_path: Path) -> int:
    return len((tmp_path / "calls").read_text().splitlines())


def test_a_reset_connection_is_retried_and_the_jars_land(
    fake_mvn: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FAKE_MVN_FAILS", "2")
    libs = kafka.ensure_kafka_jars(tmp_path / "cache", pom=fake_mvn)
    assert calls(tmp_path) == 3
    assert [p.name for p in libs.iterdir()] == ["kafka_2.13-9.9.9.jar"]
    out = capsys.readouterr().out
    assert "attempt 1/4 failed" in out and "attempt 2/4 failed" in out
    assert "Connection reset" in out
    # resolved once: the marker makes the next call a no-op
    assert kafka.ensure_kafka_jars(tmp_path / "cache", pom=fake_mvn) == libs
    assert calls(tmp_path) == 3


def test_it_gives_up_with_mavens_words_when_every_attempt_fails(
    fake_mvn: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MVN_FAILS", "99")
    with pytest.raises(kafka.KafkaSetupError, match="after 4 attempts") as err:
        kafka.ensure_kafka_jars(tmp_path / "cache", pom=fake_mvn)
    assert "Connection reset" in str(err.value)
    assert calls(tmp_path) == 4
    home = tmp_path / "cache" / f"kafka-{kafka.KAFKA_VERSION}"
    assert not (home / "libs").exists()
    assert not list(home.glob("libs.*.tmp")), "a failed attempt leaves no staging directory"
