"""One MLflow SQLite store shared by several runs at once (a team box, two terminals).

MLflow creates and migrates a SQLite store's schema (alembic) the first time a process connects to it. Two
processes connecting to a *new* store at the same moment both migrate it and both fail
(``OperationalError: table _alembic_tmp_tags already exists`` / ``CommandError: Online migration expected to
match one row``), so two ``kedro run``s started together on a fresh ``mlflow.db`` both stop before their first
node. Once the schema exists, SQLite's own locking serialises their writes.

:func:`prepare_sqlite_store` connects under an exclusive lock file beside the store (``<store>.lock``,
``fcntl.flock``, released when the process ends even if it is killed), so exactly one process migrates and
the others find the schema made. Other tracking URIs (a server, ``databricks``) are left alone.
"""

from __future__ import annotations

from pathlib import Path

SQLITE_PREFIX = "sqlite:///"


def sqlite_store_path(tracking_uri: str, project_path: Path) -> Path | None:
    """The file of a ``sqlite:///`` tracking URI (a relative one is relative to ``project_path``, as
    kedro-mlflow reads it); ``None`` for any other URI or an in-memory store."""
    if not tracking_uri.startswith(SQLITE_PREFIX):
        return None
    location = tracking_uri[len(SQLITE_PREFIX) :].split("?", 1)[0]
    if not location or location == ":memory:":
        return None
    path = Path(location)
    return path if path.is_absolute() else Path(project_path) / path


def prepare_sqlite_store(tracking_uri: str, project_path: Path) -> Path | None:
    """Create or migrate the SQLite store of ``tracking_uri`` while holding ``<store>.lock``; returns the
    store's path (``None`` where the URI is not a SQLite file and nothing was done)."""
    path = sqlite_store_path(tracking_uri, project_path)
    if path is None:
        return None
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, MLflow's own behaviour
        return path
    from mlflow.tracking import MlflowClient

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            MlflowClient(tracking_uri=f"{SQLITE_PREFIX}{path}").search_experiments(max_results=1)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path
