"""palaute on a SQLite file does not load the PostgreSQL driver (asyncpg costs ~3.6 MB of RSS
and 60 modules at start; bench/README.md section 7)."""

from __future__ import annotations

import subprocess
import sys


def test_the_bot_on_sqlite_runs_without_loading_asyncpg() -> None:
    probe = (
        "import sys\n"
        "import bot.app\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'asyncpg'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
