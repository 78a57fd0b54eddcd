"""Choosing PostgreSQL in the config, and the commands that say which database is in use."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.cli import main
from bot.config import ConfigError, parse_config
from storage.database import migrations

NEWEST = migrations()[-1][0]


def test_a_postgresql_url_from_the_environment_selects_postgresql() -> None:
    url = "postgresql://palaute:s%40cret-pw@db.example:5432/palaute"
    config = parse_config('[storage]\nurl = "${DATABASE_URL}"\n', environ={"DATABASE_URL": url})
    assert config.storage.location == url
    assert url not in repr(config)
    assert {url, "s%40cret-pw", "s@cret-pw"} <= set(config.secrets())


def test_without_a_url_the_sqlite_file_stays_the_default() -> None:
    config = parse_config('[storage]\npath = "team.db"\n', environ={})
    assert (config.storage.url, config.storage.location) == (None, "team.db")


def test_an_unset_variable_is_named_with_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[storage]\npath = "x.db"\nurl = "${DATABASE_URL}"\n', environ={})
    assert caught.value.lines == [
        "<config>:3: storage.url: environment variable DATABASE_URL is not set"
    ]


def test_a_url_of_another_database_is_refused_without_repeating_it() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[storage]\nurl = "mysql://root:hunter22@db/palaute"\n', environ={})
    (line,) = caught.value.lines
    assert line.startswith("<config>:2: storage.url: must be a PostgreSQL URL such as")
    assert "hunter22" not in line


def _config(tmp_path: Path, storage: str) -> Path:
    path = tmp_path / "palaute.toml"
    path.write_text(f"[storage]\n{storage}\n", encoding="utf-8")
    return path


def test_check_and_migrate_on_postgresql(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    config = str(_config(tmp_path, 'url = "${DATABASE_URL}"'))
    parts = urlsplit(postgres_url)
    where = f"PostgreSQL at postgresql://{parts.username}@{parts.hostname}:{parts.port}{parts.path}"

    assert main(["check", "--config", config]) == 0
    assert (
        f"Database: {where}: connected, schema version 0 of {NEWEST} (`palaute migrate` brings "
        "it up to date)"
    ) in capsys.readouterr().out.splitlines()
    assert main(["migrate", "--config", config]) == 0
    assert capsys.readouterr().out == f"{where}: schema version 0 → {NEWEST}\n"
    assert main(["migrate", "--config", config]) == 0
    assert capsys.readouterr().out == f"{where}: schema version {NEWEST}, up to date\n"
    assert main(["check", "--config", config]) == 0
    out, err = capsys.readouterr()
    assert f"Database: {where}: connected, schema version {NEWEST}, up to date" in out.splitlines()
    assert parts.password and parts.password not in out + err


def test_check_says_when_postgresql_refuses(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    parts = urlsplit(postgres_url)
    netloc = f"{parts.username}:not-the-password-42@{parts.hostname}:{parts.port}"
    monkeypatch.setenv("DATABASE_URL", urlunsplit((parts.scheme, netloc, parts.path, "", "")))
    config = str(_config(tmp_path, 'url = "${DATABASE_URL}"'))
    assert main(["check", "--config", config]) == 1
    out, err = capsys.readouterr()
    assert (
        f"refused the password of user {parts.username} (check the password in [storage] url)"
    ) in out
    assert "not-the-password-42" not in out + err
    assert main(["migrate", "--config", config]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("palaute: the PostgreSQL server at ") and "Traceback" not in err
    assert "not-the-password-42" not in out + err


def test_check_without_the_variable_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = str(_config(tmp_path, 'url = "${DATABASE_URL}"'))
    assert main(["check", "--config", config]) == 0
    assert (
        "Database: PostgreSQL (storage.url: environment variable DATABASE_URL is not set here, "
        "so it was not tried)"
    ) in capsys.readouterr().out.splitlines()


def test_check_and_migrate_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "team.db"
    config = str(_config(tmp_path, f'path = "{database}"'))
    assert main(["check", "--config", config]) == 0
    assert (
        f"Database: SQLite file {database} (not made yet: `palaute migrate` or `palaute run` "
        "makes it)"
    ) in capsys.readouterr().out.splitlines()
    assert not database.exists()
    assert main(["migrate", "--config", config]) == 0
    assert capsys.readouterr().out == f"SQLite file {database}: schema version 0 → {NEWEST}\n"
    assert main(["check", "--config", config]) == 0
    assert (
        f"Database: SQLite file {database}: opened, schema version {NEWEST}, up to date"
    ) in capsys.readouterr().out.splitlines()


def test_commands_use_postgresql_and_never_fall_back_to_a_sqlite_file(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    config = str(_config(tmp_path, 'url = "${DATABASE_URL}"'))
    assert main(["trigger", "nps", "--contact", "web:anna@example.com", "--config", config]) == 0
    capsys.readouterr()
    assert main(["status", "--config", config]) == 0
    assert capsys.readouterr().out.startswith("Invitations: 1 ")
    monkeypatch.setenv("DATABASE_URL", "postgresql://palaute:pw-123456@127.0.0.1:1/palaute")
    assert main(["status", "--config", config]) == 1
    err = capsys.readouterr().err
    assert err == (
        "palaute: cannot connect to the PostgreSQL server at 127.0.0.1:1 (is it running, and "
        "does it accept connections from here?)\n"
    )
    assert list(tmp_path.iterdir()) == [tmp_path / "palaute.toml"]  # no palaute.db made
