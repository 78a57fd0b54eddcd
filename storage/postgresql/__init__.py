"""The PostgreSQL backend (asyncpg): chosen by a `postgresql://` URL in `[storage] url`."""
