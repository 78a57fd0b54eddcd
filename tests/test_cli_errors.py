"""The CLI as a user runs it in a shell: one clear line and the right exit code, never a traceback."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegram
from tests.palaute_process import ROOT, TOKEN_VARIABLE, palaute_command, query


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PTB_TIMEDELTA": "true", **extra}


def palaute(*args: str, config: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    command = [*palaute_command(), *args]
    if config is not None:
        command += ["--config", str(config)]
    return subprocess.run(
        command, capture_output=True, text=True, env=_env(**env), timeout=60, check=False
    )


def no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "Unclosed" not in stderr, stderr


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "palaute.toml"
    path.write_text(f'[storage]\npath = "{tmp_path / "palaute.db"}"\n', encoding="utf-8")
    return path


@pytest.fixture
def demo_config(config: Path) -> Path:
    """A database with a few days of demo answers in it."""
    # A fixed seed: a random one writes no NPS answer at all about one time in five.
    result = palaute("demo-data", "--days", "5", "--contacts", "60", "--seed", "7", config=config)
    assert result.returncode == 0, result.stderr
    return config


def test_export_into_a_pipe_closed_early_stops_quietly(demo_config: Path) -> None:
    # `palaute export | head -1`: the reader goes away after the header.
    with subprocess.Popen(
        [*palaute_command(), "export", "--config", str(demo_config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        header = process.stdout.readline()
        process.stdout.close()
        stderr = process.stderr.read().decode()
        returncode = process.wait(timeout=60)
    assert header.startswith(b"answer_id,answered_at,survey")
    no_traceback(stderr)
    assert "Task exception was never retrieved" not in stderr
    assert stderr == ""
    assert returncode == 1


def test_export_one_row_per_response_with_addresses(demo_config: Path, tmp_path: Path) -> None:
    db = tmp_path / "palaute.db"
    result = palaute(
        "export", "--layout", "responses", "--with-address", "--survey", "nps", config=demo_config
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    responses = query(
        db,
        "SELECT COUNT(DISTINCT invitation_id) FROM answers WHERE survey_id = 'nps'",
    )[0][0]
    assert len(rows) == responses > 0
    assert {"invitation_id", "contact", "nps", "why"} <= set(rows[0])
    assert "question" not in rows[0]  # one column per question instead
    # Each row carries that response's NPS score and the contact's address, for `forget`.
    by_invitation = {
        int(str(invitation)): (int(float(str(value))), f"{channel}:{address}")
        for invitation, value, channel, address in query(
            db,
            "SELECT a.invitation_id, a.value_num, c.channel, c.address FROM answers a"
            " JOIN invitations i ON i.id = a.invitation_id JOIN contacts c ON c.id = i.contact_id"
            " WHERE a.survey_id = 'nps' AND a.question_id = 'nps' AND NOT a.skipped",
        )
    }
    for row in rows:
        if row["nps"]:
            assert (int(row["nps"]), row["contact"]) == by_invitation[int(row["invitation_id"])]


def test_export_leaves_addresses_out_unless_asked(demo_config: Path) -> None:
    result = palaute("export", config=demo_config)
    assert result.returncode == 0
    header = result.stdout.splitlines()[0].split(",")
    assert "contact" not in header
    assert "telegram:" not in result.stdout and "slack:U" not in result.stdout


def test_report_on_an_unknown_survey_is_an_error(config: Path) -> None:
    result = palaute("report", "--survey", "nsp", config=config)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        'palaute report: error: --survey: unknown survey "nsp" (known: ces, csat, event, nps)'
    )


def test_web_contacts_are_named_in_help_and_errors(config: Path) -> None:
    help_text = palaute("trigger", "--help").stdout
    assert "web:anna@example.com" in help_text
    result = palaute("trigger", "nps", "--contact", "anna@example.com", config=config)
    assert result.returncode == 2
    assert "web:EMAIL_OR_PHONE" in result.stderr
    no_traceback(result.stderr)


def test_trigger_to_a_channel_that_is_not_configured_is_refused(
    config: Path, tmp_path: Path
) -> None:
    result = palaute("trigger", "nps", "--contact", "telegram:123456789", config=config)
    assert result.returncode == 2
    assert "scheduled" not in result.stdout
    assert "the telegram channel is not configured" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    db = tmp_path / "palaute.db"
    assert not db.exists() or query(db, "SELECT COUNT(*) FROM invitations")[0][0] == 0


def test_run_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = tmp_path / "palaute.toml"
        path.write_text(
            f'[storage]\npath = "{tmp_path / "palaute.db"}"\n'
            f'[server]\nhost = "127.0.0.1"\nport = {port}\n',
            encoding="utf-8",
        )
        result = palaute("run", config=path)
    assert result.returncode == 1
    no_traceback(result.stderr)
    problems = [line for line in result.stderr.splitlines() if " INFO " not in line]
    assert problems == [
        f"palaute: cannot listen on 127.0.0.1:{port}: Address already in use (is palaute "
        "already running? set [server] port to another port)"
    ]


def test_a_base_url_ending_in_bot_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "palaute.toml"
    path.write_text(
        '[telegram]\ntoken = "123:abc"\nbase_url = "http://127.0.0.1:8081/bot"\n',
        encoding="utf-8",
    )
    result = palaute("check", config=path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"{path}:3: telegram.base_url: give the Bot API server's root, without /bot (palaute "
        'adds "/bot<token>/"): "http://127.0.0.1:8081"'
    )


async def test_a_rejected_token_is_one_line(tmp_path: Path) -> None:
    async with FakeTelegram(token="123456:RIGHT") as fake:
        path = tmp_path / "palaute.toml"
        path.write_text(
            f'[storage]\npath = "{tmp_path / "palaute.db"}"\n[server]\nport = 0\n'
            f'[telegram]\ntoken = "${{{TOKEN_VARIABLE}}}"\nbase_url = "{fake.base_url}"\n',
            encoding="utf-8",
        )
        process = await asyncio.create_subprocess_exec(
            *palaute_command(), "run", "--config", str(path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=_env(**{TOKEN_VARIABLE: "123456:WRONG"}),
        )  # fmt: skip
        _stdout, stderr_bytes = await asyncio.wait_for(process.communicate(), 60)
    stderr = stderr_bytes.decode()
    assert process.returncode == 1
    no_traceback(stderr)
    problems = [line for line in stderr.splitlines() if " INFO " not in line]
    assert problems == [
        "palaute: the telegram channel could not start: Telegram rejected the bot token "
        f"([telegram] token, from @BotFather), or [telegram] base_url {fake.base_url} is no "
        "Bot API server"
    ]
    assert "WRONG" not in stderr
