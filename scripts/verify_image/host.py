"""The host side of scripts/verify-image: Debian packages, the cache directory and a private
Docker engine (its own socket, data root and exec root; no bridge network) that is always
stopped again."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEBIAN_PACKAGES = {
    # command that must exist -> the Debian package that provides it
    "/usr/sbin/dockerd": "docker.io",
    "/usr/bin/mmdebstrap": "mmdebstrap",
    "/usr/bin/qemu-aarch64-static": "qemu-user-static",
    "/usr/bin/docker-compose": "docker-compose",
}
DOCKER_CLIENT = "/usr/bin/docker"  # Debian's client; another one may come first on PATH
ENGINE_START_S = 60.0


def log(message: str) -> None:
    print(f"[verify-image] {message}", file=sys.stderr, flush=True)


def run(
    cmd: Sequence[str | Path],
    *,
    env: dict[str, str] | None = None,
    check: bool = True,
    capture: bool = False,
    input_bytes: bytes | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(c) for c in cmd],
        env=env,
        check=check,
        capture_output=capture,
        input=input_bytes,
        timeout=timeout,
    )


def install_debian_packages() -> None:
    """apt-get install what is missing (apt-get update once, only when needed)."""
    missing = sorted({pkg for path, pkg in DEBIAN_PACKAGES.items() if not Path(path).exists()})
    if not missing:
        return
    log(f"installing from Debian: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], env=env)


@contextlib.contextmanager
def cache_lock(cache: Path) -> Iterator[None]:
    """One verify run per cache at a time (the engine's data root lives in it)."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"another verify-image run holds {cache}/lock: waiting")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@dataclass(frozen=True)
class DockerResult:
    code: int
    out: str
    err: str


class Docker:
    """The ``docker`` client bound to our private engine."""

    def __init__(self, socket_path: Path) -> None:
        self.env = {
            **os.environ,
            "DOCKER_HOST": f"unix://{socket_path}",
            "DOCKER_BUILDKIT": "1",
        }
        self.env.pop("DOCKER_CONTEXT", None)
        self.started: list[str] = []  # containers to remove at the end

    def __call__(
        self,
        *args: str | Path,
        check: bool = True,
        input_bytes: bytes | None = None,
        timeout: float | None = 600,
    ) -> DockerResult:
        done = run(
            [DOCKER_CLIENT, *args],
            env=self.env,
            check=False,
            capture=True,
            input_bytes=input_bytes,
            timeout=timeout,
        )
        result = DockerResult(
            done.returncode,
            done.stdout.decode(errors="replace"),
            done.stderr.decode(errors="replace"),
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"docker {' '.join(map(str, args))[:200]} failed ({done.returncode}): "
                f"{result.err.strip()[-2000:]}"
            )
        return result

    def raw(self, *args: str) -> bytes:
        """The binary standard output of a docker command (``save``, ``export``)."""
        return run([DOCKER_CLIENT, *args], env=self.env, capture=True).stdout

    def stream(self, *args: str | Path) -> None:
        """Run with output shown (builds), raising on failure."""
        run([DOCKER_CLIENT, *args], env=self.env)

    def inspect(self, name: str) -> Any:
        return json.loads(self("inspect", name).out)[0]

    def run_detached(self, *args: str) -> str:
        container = self("run", "-d", *args).out.strip()
        self.started.append(container)
        return container

    def remove_started(self) -> None:
        for container in self.started:
            self("rm", "-f", "-v", container, check=False, timeout=60)
        self.started.clear()


@contextlib.contextmanager
def private_engine(cache: Path) -> Iterator[Docker]:
    """Start ``dockerd`` on a private socket with its data root in the cache (images and the
    build cache survive between runs); stop it and remove its containers on the way out, also
    on failure or SIGTERM."""
    data_root = cache / "docker-data"
    exec_root = Path(f"/run/tronpay-verify-{os.getpid()}")  # short: unix socket path limit
    exec_root.mkdir(mode=0o700, parents=True, exist_ok=True)
    socket_path = exec_root / "docker.sock"
    log_file = cache / "dockerd.log"
    cmd = [
        "/usr/sbin/dockerd",
        f"--host=unix://{socket_path}",
        f"--data-root={data_root}",
        f"--exec-root={exec_root / 'exec'}",
        f"--pidfile={exec_root / 'dockerd.pid'}",
        "--iptables=false",
        "--ip-masq=false",
        "--bridge=none",
        "--default-ulimit=nofile=20000:20000",
        "--default-ulimit=nproc=4096:4096",
    ]
    log(f"starting dockerd on {socket_path} (data root {data_root})")
    with log_file.open("ab") as sink:
        engine = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
    docker = Docker(socket_path)
    previous = signal.signal(signal.SIGTERM, _raise_exit)
    try:
        deadline = time.monotonic() + ENGINE_START_S
        while docker("version", check=False, timeout=10).code != 0:
            if engine.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not start: see {log_file}")
            time.sleep(0.5)
        # a run killed with SIGKILL may have left containers in the (private) data root
        leftovers = docker("ps", "-aq").out.split()
        if leftovers:
            docker("rm", "-f", "-v", *leftovers, check=False)
        yield docker
    finally:
        docker.remove_started()
        _stop_engine(engine)
        _unmount_below(exec_root)  # dockerd leaves its netns bind mount behind
        shutil.rmtree(exec_root, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def _unmount_below(directory: Path) -> None:
    prefix = f"{directory}/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        run(["umount", point], check=False)


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _stop_engine(engine: subprocess.Popen[bytes]) -> None:
    if engine.poll() is None:
        engine.send_signal(signal.SIGTERM)
        try:
            engine.wait(30)
        except subprocess.TimeoutExpired:
            engine.kill()
            engine.wait(10)
    log(f"dockerd stopped (exit {engine.returncode})")
