"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary folder, a free port on
loopback, stopped and removed afterwards.

Standard library only, so that `.ci/run` can start one with the system Python before the venv
exists (`python3 tests/postgres_cluster.py start` prints its URL and folder; `stop FOLDER` ends
it), and the session fixture in tests/conftest.py can start one for a local run.

initdb and postgres refuse to run as root: as root the cluster runs as an unprivileged system
user (`postgres` when Debian's package made it, else `nobody`), through `runuser`.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "palaute_test"
BIN_DIRS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin")
HOW_TO_INSTALL = (
    "install Debian's PostgreSQL (`apt-get install postgresql`, as .ci/run does), or set "
    "PALAUTE_TEST_POSTGRES_URL to a server where the tests may create databases"
)


class ClusterError(RuntimeError):
    """PostgreSQL cannot be started here; the message says what is missing."""


@dataclass(frozen=True)
class Cluster:
    folder: Path
    url: str
    """postgresql://user:password@127.0.0.1:port/postgres (the maintenance database)."""


def find_bin_dir() -> Path:
    """The folder holding initdb and pg_ctl (PATH first, then Debian's versioned folders)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    candidates = sorted(
        (Path(found) for pattern in BIN_DIRS for found in glob.glob(pattern)),
        key=lambda path: _version_of(path),
        reverse=True,
    )
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise ClusterError(f"PostgreSQL's initdb and pg_ctl were not found: {HOW_TO_INSTALL}")


def _version_of(bin_dir: Path) -> int:
    version = bin_dir.parent.name
    return int(version) if version.isdigit() else 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as() -> str | None:
    """The unprivileged user to run the cluster as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise ClusterError(
        "running as root, and neither a `postgres` nor a `nobody` user exists to run "
        "PostgreSQL as (initdb refuses root): create one with `useradd --system postgres`"
    )


def _command(user: str | None, *argv: str) -> list[str]:
    if user is None:
        return list(argv)
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ClusterError("running as root, and `runuser` is missing to drop to a plain user")
    return [runuser, "-u", user, "--", *argv]


def _run(user: str | None, *argv: str) -> None:
    result = subprocess.run(
        _command(user, *argv), capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise ClusterError(f"{Path(argv[0]).name} failed: {output}")


def start() -> Cluster:
    """initdb, then start the server on a free loopback port; its logs go to FOLDER/server.log."""
    bin_dir = find_bin_dir()
    user = _run_as()
    folder = Path(tempfile.mkdtemp(prefix="palaute-pg-"))
    try:
        data = folder / "data"
        password = secrets.token_hex(16)
        password_file = folder / "password"
        password_file.write_text(password + "\n")
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
            os.chown(password_file, entry.pw_uid, entry.pw_gid)
        os.chmod(folder, 0o700)
        # Passwords over TCP (scram), as a real server asks: the tests of a wrong password
        # need a server that checks one.
        _run(user, str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER,
             "--pwfile", str(password_file), "--auth-local=trust", "--auth-host=scram-sha-256",
             "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        port = _free_port()
        # Durability off: a test cluster is thrown away, and fsync would dominate the suite.
        options = (
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        _run(user, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
             "-l", str(folder / "server.log"), "-w", "-t", "60", "start")  # fmt: skip
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Cluster(folder, f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{port}/postgres")


def stop(folder: Path) -> None:
    """Stop the server at once (nothing in it is kept) and remove its folder."""
    data = folder / "data"
    if (data / "postmaster.pid").exists():
        try:
            _run(_run_as(), str(find_bin_dir() / "pg_ctl"), "-D", str(data), "-m", "immediate",
                 "-w", "stop")  # fmt: skip
        except ClusterError as error:
            print(f"stopping the test PostgreSQL cluster: {error}", file=sys.stderr)
    shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"] and len(argv) == 1:
        try:
            cluster = start()
        except ClusterError as error:
            print(f"cannot start PostgreSQL: {error}", file=sys.stderr)
            return 1
        print(cluster.url)
        print(cluster.folder)
        return 0
    if argv[:1] == ["stop"] and len(argv) == 2:
        stop(Path(argv[1]))
        return 0
    print("usage: postgres_cluster.py start | stop FOLDER", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
