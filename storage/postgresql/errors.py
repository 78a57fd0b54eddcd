"""asyncpg's failures as `StorageError`s that say what is wrong, never with the password."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import asyncpg

from storage.database import StorageError


@dataclass(frozen=True)
class Target:
    """Where a `postgresql://` URL points, for messages: no password in any field."""

    host: str
    port: int
    user: str
    database: str
    password: str | None

    @property
    def label(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


def target_of(url: str) -> Target:
    """The parts of a `postgresql://` URL (libpq's defaults for what it leaves out)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise StorageError("a PostgreSQL URL starts with postgresql://")
    try:
        port = parts.port or 5432
    except ValueError as error:
        raise StorageError(f"the PostgreSQL URL has a bad port ({error})") from None
    user = unquote(parts.username or "") or "postgres"
    database = unquote(parts.path.lstrip("/")) or user
    password = unquote(parts.password) if parts.password is not None else None
    return Target(parts.hostname or "localhost", port, user, database, password)


def describe_connect_error(error: BaseException, target: Target) -> str:
    if isinstance(error, asyncpg.InvalidPasswordError):
        return (
            f"the PostgreSQL server at {target.server} refused the password of user "
            f"{target.user} (check the password in [storage] url)"
        )
    if isinstance(error, asyncpg.InvalidCatalogNameError):
        return (
            f"the database {target.database} does not exist on the PostgreSQL server at "
            f"{target.server} (create it: createdb {target.database})"
        )
    if isinstance(error, asyncpg.InvalidAuthorizationSpecificationError):
        return (
            f"the PostgreSQL server at {target.server} does not let user {target.user} in to "
            f"{target.database} (is the role there, and does pg_hba.conf allow it?)"
        )
    if isinstance(error, socket.gaierror):
        return f"cannot find the PostgreSQL server's host {target.host} (is the name right?)"
    if isinstance(error, TimeoutError):
        return f"the PostgreSQL server at {target.server} did not answer in time"
    if isinstance(error, OSError):
        return (
            f"cannot connect to the PostgreSQL server at {target.server} (is it running, and "
            "does it accept connections from here?)"
        )
    return describe_error(error, target)


def describe_error(error: BaseException, target: Target) -> str:
    if isinstance(error, asyncpg.DiskFullError):
        return f"the disk of the PostgreSQL server holding {target.label} is full"
    if isinstance(error, asyncpg.ReadOnlySQLTransactionError):
        return f"the database {target.label} is read-only (a standby?)"
    if isinstance(error, asyncpg.InsufficientPrivilegeError):
        return f"user {target.user} may not do this in {target.label}: {_message(error, target)}"
    if isinstance(error, (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError)):
        return f"lost the connection to the PostgreSQL server at {target.server}"
    if isinstance(error, asyncpg.CannotConnectNowError):
        return f"the PostgreSQL server at {target.server} is starting up or shutting down"
    if isinstance(error, asyncpg.TooManyConnectionsError):
        return f"the PostgreSQL server at {target.server} has no connection to spare"
    return f"database error on {target.label}: {_message(error, target)}"


def _message(error: BaseException, target: Target) -> str:
    text = str(error)
    if target.password:  # a driver message that quotes a connection string
        text = text.replace(target.password, "[secret]")
    return text


def connect_failure(error: BaseException, target: Target) -> StorageError:
    return StorageError(describe_connect_error(error, target))


def failure(error: BaseException, target: Target) -> StorageError:
    return StorageError(describe_error(error, target))
