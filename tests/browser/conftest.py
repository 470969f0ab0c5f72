"""Real-browser tests: Playwright (``pytest-playwright``'s ``page`` fixture) drives Debian's Chromium
(``apt-get install chromium``; no browser is downloaded). Where no Chromium is found the tests are skipped
with :data:`NO_BROWSER`, and the session's summary says so in plain words (``tests/conftest.py``)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

#: where Chromium is looked for, in this order, after ``AGELAB_CHROMIUM``
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
NO_BROWSER = (
    "browser tests did not run: no Chromium found (apt-get install chromium, or set AGELAB_CHROMIUM to a "
    "Chrome/Chromium executable)"
)


def chromium_executable() -> str | None:
    given = os.environ.get("AGELAB_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments, pointed at the system's Chromium."""
    executable = chromium_executable()
    if executable is None:
        pytest.skip(NO_BROWSER)
    return {**browser_type_launch_args, "executable_path": executable}


@pytest.fixture(scope="session", autouse=True)
def _patient_expectations():
    """Playwright's 5 s default for ``expect`` is tight for pages served on 2 loaded cores."""
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}}


def _free_port() -> int:
    """A port nothing listens on, below 49152 (kedro-viz refuses the ephemeral range)."""
    generator = random.Random()
    for _ in range(200):
        port = generator.randrange(20_000, 49_000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free TCP port between 20000 and 49000")


@pytest.fixture(scope="session")
def free_port():
    """``free_port()``: a TCP port on 127.0.0.1 nothing listens on."""
    return _free_port


@pytest.fixture(scope="session")
def serve():
    """``with serve(command, ready_url, cwd=..., log=...):`` a web server for the tests inside."""
    return _serving


@contextmanager
def _serving(
    command: list[str], ready_url: str, *, cwd: Path, log: Path, timeout: float = 120, env: dict | None = None
) -> Iterator[None]:
    """Run a web server (its own process group, so a child server process it starts goes too) until
    ``ready_url`` answers 200; stop the whole group afterwards."""
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1", **(env or {})}
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                pytest.fail(f"{command[0]} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{ready_url} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=10)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
