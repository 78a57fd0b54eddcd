"""The test cluster helper says what is missing instead of letting PostgreSQL tests skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import postgres_cluster


def test_without_postgresql_the_message_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(postgres_cluster, "BIN_DIRS", (str(tmp_path / "*" / "bin"),))
    with pytest.raises(postgres_cluster.ClusterError) as raised:
        postgres_cluster.start()
    assert str(raised.value) == (
        "PostgreSQL's initdb and pg_ctl were not found: install Debian's PostgreSQL "
        "(`apt-get install postgresql`, as .ci/run does), or set PALAUTE_TEST_POSTGRES_URL to "
        "a server where the tests may create databases"
    )


def test_a_started_cluster_is_gone_after_stop() -> None:
    cluster = postgres_cluster.start()
    try:
        assert (cluster.folder / "data" / "postmaster.pid").exists()
        assert cluster.url.startswith("postgresql://palaute_test:")
    finally:
        postgres_cluster.stop(cluster.folder)
    assert not cluster.folder.exists()
