"""One MLflow SQLite store shared by several runs at once (a team box, two terminals).

MLflow creates and migrates a SQLite store's schema (alembic) the first time a process connects to it. Two
processes connecting to a *new* store at the same moment both migrate it and both fail
(``OperationalError: table _alembic_tmp_tags already exists`` / ``CommandError: Online migration expected to
match one row``), so two ``kedro run``s started together on a fresh ``mlflow.db`` both stop before their first
node; and kedro-mlflow creates the run's experiment with a look-up then a create, which two processes can
interleave. Once the schema and the experiment exist, SQLite's own locking serialises the writes.

:func:`prepare_sqlite_store` connects and makes the experiment under an exclusive lock file beside the store
(``<store>.lock``, ``fcntl.flock``, released when the process ends even if it is killed), so exactly one
process migrates and creates, and the others find both made. The lock file is created writable by everyone
(a store shared by several users); where it cannot be opened at all the store is prepared without it, as
MLflow would. Other tracking URIs (a server, ``databricks``) are left alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

SQLITE_PREFIX = "sqlite:///"


def sqlite_store_path(tracking_uri: str) -> Path | None:
    """The file of a ``sqlite:///`` tracking URI, a relative one taken from the working folder as MLflow's
    SQLAlchemy store opens it; ``None`` for any other URI or an in-memory store."""
    if not tracking_uri.startswith(SQLITE_PREFIX):
        return None
    location = tracking_uri[len(SQLITE_PREFIX) :].split("?", 1)[0]
    if not location or location == ":memory:":
        return None
    return Path(location).absolute()


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created mode 0666 if missing); no lock where the file
    cannot be opened (another user's read-only folder) or on a system without ``fcntl``."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o666)  # the umask would take write away from the other users of a team store
    except OSError:
        try:
            fd = os.open(lock_path, os.O_RDONLY)  # flock works on a file opened for reading
        except OSError as exc:
            logger.debug("no lock for the MLflow store (%s): %s", lock_path, exc)
            yield
            return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def prepare_sqlite_store(tracking_uri: str, experiment_name: str | None = None) -> Path | None:
    """Create or migrate the SQLite store of ``tracking_uri`` and make ``experiment_name`` in it while
    holding ``<store>.lock``; returns the store's path (``None`` where the URI is not a SQLite file and
    nothing was done)."""
    path = sqlite_store_path(tracking_uri)
    if path is None:
        return None
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    path.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(path.with_name(path.name + ".lock")):
        client = MlflowClient(tracking_uri=f"{SQLITE_PREFIX}{path}")
        client.search_experiments(max_results=1)
        if experiment_name and client.get_experiment_by_name(experiment_name) is None:
            try:
                client.create_experiment(experiment_name)
            except MlflowException as exc:  # made meanwhile by a process that did not take the lock
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
    return path
