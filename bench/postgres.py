"""A throw-away PostgreSQL server for the tests and the benchmark, started from the binaries.

initdb and postgres refuse to run as root, so as root they run as the `postgres` user (Debian's
package creates it). The server lives in a temporary folder, listens on a free port of
127.0.0.1, trades durability for speed (fsync off), and is removed at the end of the session.
Each test gets a database of its own.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_HINT = "sudo apt-get install postgresql"
START_SECONDS = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def find_binaries() -> Path | None:
    """The folder with initdb and postgres, if PostgreSQL is installed."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).parent))
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One PostgreSQL server for the test session."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="complaints-pg-"))
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._names = itertools.count(1)
        self._user = "postgres" if os.geteuid() == 0 else None

    def _as_server_user(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", self._user, "--", *command] if self._user else command

    def start(self) -> None:
        """initdb, then the server; waits until it accepts connections."""
        data, sockets = self.root / "data", self.root / "sockets"
        sockets.mkdir()
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            for path in (self.root, sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            self._as_server_user(
                [
                    str(self.binaries / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                ]
            ),
            check=True,
            capture_output=True,
        )
        self._process = subprocess.Popen(
            self._as_server_user(
                [
                    str(self.binaries / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    str(sockets),
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=300",
                ]
            ),
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "server.log").open("wb"),
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self._process.poll() is not None:
                    break
                time.sleep(0.1)
        log = (self.root / "server.log").read_text(errors="replace")
        raise RuntimeError(f"PostgreSQL did not start:\n{log[-2000:]}")

    def url(self, database: str = "postgres") -> str:
        """The DATABASE_URL of a database on this server."""
        return f"postgresql://postgres:test-password@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Creates an empty database; returns its DATABASE_URL."""
        name = f"test_{next(self._names)}"
        self._psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drops a database made by new_database (closing any connection still open to it)."""
        name = url.rsplit("/", 1)[1]
        if not name.startswith("test_") or not name[5:].isdigit():
            raise ValueError(f"{url!r} is not a database of new_database")
        self._psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _psql(self, sql: str) -> None:
        subprocess.run(
            [
                str(self.binaries / "psql") if (self.binaries / "psql").exists() else "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-q",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
        )

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the server so far: the postmaster, every backend and
        worker process it runs now, and those that have exited (from /proc)."""
        if self._process is None:
            return 0.0
        stats: dict[int, tuple[int, list[str]]] = {}  # pid: (parent pid, fields after the name)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # exited meanwhile
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            stats[int(entry.name)] = (int(fields[1]), fields)
        ticks = 0
        tree = {self._process.pid}
        # Parents come before their children in no guaranteed order: widen until it is stable.
        while True:
            grown = {pid for pid, (parent, _) in stats.items() if parent in tree} - tree
            if not grown:
                break
            tree |= grown
        for pid in tree:
            if pid in stats:
                fields = stats[pid][1]
                # utime, stime, and cutime, cstime: the children it has waited for.
                ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))
        return ticks / CLOCK_TICKS

    def stop(self) -> None:
        """Stops the server and removes its folder."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
