"""A real annserver process for the tests: the built annserver.dll run with `dotnet` on free loopback ports, with its
data and import folders in a temporary directory. The generated protobuf modules are made first (generate.py)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = PACKAGE_ROOT.parent.parent
sys.path.insert(0, str(PACKAGE_ROOT))

import generate  # noqa: E402  (clients/python/generate.py)

generate.generate()


def _server_dll() -> Path:
    """ANNSERVER_DLL when set (the .NET test that runs this suite sets it), else the newest build under
    src/AnnServer/bin, else one made now with `dotnet build`."""
    given = os.environ.get("ANNSERVER_DLL")
    if given:
        return Path(given)
    built = sorted(REPOSITORY.glob("src/AnnServer/bin/*/net*/annserver.dll"), key=lambda p: p.stat().st_mtime)
    if not built:
        subprocess.run(["dotnet", "build", str(REPOSITORY / "src" / "AnnServer"), "-v", "q"], check=True)
        built = sorted(REPOSITORY.glob("src/AnnServer/bin/*/net*/annserver.dll"), key=lambda p: p.stat().st_mtime)
    return built[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, folder: Path, *extra_arguments: str, port: int = 0) -> None:
        self.port = port or _free_port()
        self.metrics_port = _free_port()
        self.data_dir = folder / "data"
        self.import_dir = folder / "imports"
        self.import_dir.mkdir(parents=True)
        self.log_path = folder / "server.log"
        self._log = open(self.log_path, "wb")
        command = [os.environ.get("DOTNET_HOST_PATH", "dotnet"), str(_server_dll()), "--host", "127.0.0.1",
                   "--port", str(self.port), "--metrics-port", str(self.metrics_port), "--http-port", "0", "--data-dir", str(self.data_dir),
                   "--import-dir", str(self.import_dir), "--max-k", "200", *extra_arguments]
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "Logging__Console__FormatterName": "simple",
                                             "Logging__Console__FormatterOptions__ColorBehavior": "Disabled"})
        self._wait_until_serving(60.0)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_until_serving(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"annserver exited with {self.process.returncode} before serving:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass  # not listening yet
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"annserver was not serving within {seconds} s:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("annserver"))
    yield running
    running.stop()


@pytest.fixture()
def client(server: Server) -> Iterator["annserver.Client"]:  # type: ignore[name-defined]  # noqa: F821
    import annserver

    with annserver.Client(server.address, timeout=30.0) as connected:
        yield connected


class NatsServer:
    """One nats-server with JetStream (Debian's nats-server), for a one-node cluster."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        if not Path(binary).exists():
            pytest.skip("the cluster test needs Debian's nats-server (apt-get install -y nats-server; .ci/run does)")
        self.port = _free_port()
        self.monitor_port = _free_port()
        self._log = open(folder / "nats.log", "wb")
        self.process = subprocess.Popen(
            [binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor_port), "-sd", str(folder / "js")],
            stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true",
                                            timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nats-server was not healthy within 30 s:\n{(folder / 'nats.log').read_text()}")

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture(scope="session")
def cluster_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An annserver node in cluster mode over its own nats-server."""
    folder = tmp_path_factory.mktemp("cluster")
    nats = NatsServer(folder)
    try:
        port = _free_port()
        node = Server(folder, "--cluster-nats", nats.url, "--node-id", "py-node-1",
                      "--advertise-address", f"http://127.0.0.1:{port}", "--stream-replicas", "1",
                      port=port)
    except BaseException:
        nats.stop()
        raise
    yield node
    node.stop()
    nats.stop()


API_KEYS = {"read": "py-reader-key-0123456789", "admin": "py-admin-key-0123456789"}


@pytest.fixture(scope="session")
def secured_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with a read key and an admin key (API_KEYS); the server keeps their SHA-256."""
    import hashlib

    entries = ";".join(f"{role}:{hashlib.sha256(key.encode()).hexdigest()}:{role}-test" for role, key in API_KEYS.items())
    running = Server(tmp_path_factory.mktemp("secured"), "--api-keys", entries)
    yield running
    running.stop()


_names = iter(range(1_000_000))


@pytest.fixture()
def name() -> str:
    """A collection name no other test uses."""
    return f"c{next(_names)}"
