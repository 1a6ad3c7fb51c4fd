"""scripts/verify-image: build the real Dockerfile and prove the image's properties.

Run through the ``scripts/verify-image`` wrapper (as root, on Debian). Steps:

1. install what is missing from Debian (docker.io, mmdebstrap, qemu-user-static);
2. hadolint the Dockerfile (no warning allowed);
3. download the cp313 wheels on the host (pip in a build container cannot verify the
   index's TLS here) and start a private dockerd (own socket and data root, no bridge);
4. build local stand-ins for debian:13-slim and python3-debian13:nonroot (cached);
5. build the ``distroless`` and ``development`` targets of the real Dockerfile;
6. run the image as production would, an API and a separate ``tronpay worker`` container,
   against a tron_devnet and a PostgreSQL database on the host, and check every property;
7. check arm64 under qemu-user-static.

One line per property, PASS or FAIL; the exit status is 1 when any fails.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import structlog
from arm64 import check_arm64, prepare_site
from bases import ensure_builder_base, ensure_runtime_base, ensure_wheelhouse
from checks import Result
from host import Docker, cache_lock, install_debian_packages, log, private_engine
from scenario import DEV_IMAGE, IMAGE, free_port, run_scenario

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = Path(os.environ.get("TRONPAY_VERIFY_CACHE", "/var/cache/tronpay-verify"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="cache directory")
    parser.add_argument("--no-arm64", action="store_true", help="skip the emulated arm64 check")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("scripts/verify-image runs as root (it starts its own dockerd)")
    started = time.monotonic()
    # the in-process tron_devnet logs every block otherwise
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    install_debian_packages()
    results: list[Result] = [hadolint(), compose_config()]
    with cache_lock(args.cache):
        results += guarded(
            "build and run the image", lambda: build_and_run(args.cache, not args.no_arm64)
        )
    print("\nverify-image results", flush=True)
    for result in results:
        print(result.line(), flush=True)
    failed = [r for r in results if r.fails_run]
    missed = [r for r in results if not r.ok and not r.fails_run]
    print(
        f"{len(results) - len(failed) - len(missed)} passed, {len(failed)} failed, "
        f"{len(missed)} target(s) missed, in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return 1 if failed else 0


def guarded(name: str, step: Callable[[], list[Result]]) -> list[Result]:
    """A step that breaks (a failed download, a docker error) is a failed property too: the
    results so far are still printed, and the engine is already stopped by then."""
    try:
        return step()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return [Result(name, False, f"{type(exc).__name__}: {str(exc)[-1500:]}")]


def hadolint() -> Result:
    done = subprocess.run(
        [ROOT / ".venv/bin/hadolint", "--failure-threshold", "warning", ROOT / "Dockerfile"],
        capture_output=True,
        text=True,
        check=False,
    )
    output = (done.stdout + done.stderr).strip()
    return Result("hadolint", done.returncode == 0 and not output, output or "no finding")


def compose_config() -> Result:
    """compose.yaml is valid for Docker Compose (with the settings it demands)."""
    env = {
        **os.environ,
        "TRONPAY_NETWORK": "nile",
        "TRONPAY_JWT_AUDIENCE": "tronpay",
        "TRONPAY_JWT_ISSUER": "https://auth.example.com/",
    }
    done = subprocess.run(
        ["/usr/bin/docker-compose", "-f", ROOT / "compose.yaml", "--profile", "devnet", "config"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    detail = done.stderr.strip()[-1500:] if done.returncode else "valid, with the devnet profile"
    return Result("docker-compose config", done.returncode == 0, detail)


def build_and_run(cache: Path, arm64: bool) -> list[Result]:
    results: list[Result] = []
    wheels = ensure_wheelhouse(
        cache, ROOT, ["requirements-prod.txt", "requirements-dev.txt"], "x86_64"
    )
    with private_engine(cache) as docker, staged_wheelhouse(wheels):
        bases = f"{ensure_builder_base(docker, cache)}, {ensure_runtime_base(docker, cache)}"
        results.append(Result("stand-in base images", True, bases))
        for target, tag in (("distroless", IMAGE), ("development", DEV_IMAGE)):
            results.append(build(docker, target, tag))
        if not results[-2].ok:
            return results
        results += run_scenario(docker)
        results.append(operator_check(docker))
        arm64_site = prepare_site(cache, ROOT, docker) if arm64 else None
    # the engine is stopped by now: emulation gets the whole machine
    if arm64_site is not None:
        results += guarded("arm64", lambda: check_arm64(cache, arm64_site))
    return results


def operator_check(docker: Docker) -> Result:
    """scripts/verify-distroless.sh, the operator's check, against the built image."""
    env = {
        **docker.env,
        "PATH": f"/usr/bin:{os.environ.get('PATH', '')}",  # Debian's docker client first
        "VERIFY_NETWORK": "host",
        "VERIFY_PORT": str(free_port()),
    }
    done = subprocess.run(
        ["bash", ROOT / "scripts/verify-distroless.sh", IMAGE],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    detail = "; ".join(lines) if done.returncode == 0 else done.stdout[-1500:] + done.stderr[-500:]
    return Result("scripts/verify-distroless.sh", done.returncode == 0, detail)


def build(docker: Docker, target: str, tag: str) -> Result:
    revision = subprocess.run(
        ["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    started = time.monotonic()
    log(f"building the {target} target as {tag}")
    try:
        docker.stream(
            "build",
            "--network=host",
            "--progress=plain",
            f"--target={target}",
            "--build-arg=USE_WHEELHOUSE=1",
            f"--build-arg=REVISION={revision or 'unknown'}",
            f"--build-arg=CREATED={datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
            "-t",
            tag,
            ROOT,
        )
    except subprocess.CalledProcessError as exc:
        return Result(f"build {target}", False, f"docker build failed ({exc.returncode})")
    return Result(f"build {target}", True, f"{tag} in {time.monotonic() - started:.0f} s")


@contextlib.contextmanager
def staged_wheelhouse(wheels: Path) -> Iterator[None]:
    """Put the host's wheels into the build context's wheelhouse/ for the build only."""
    target = ROOT / "wheelhouse"
    target.mkdir(exist_ok=True)
    staged = []
    for wheel in wheels.glob("*.whl"):
        link = target / wheel.name
        if not link.exists():
            try:
                os.link(wheel, link)
            except OSError:
                shutil.copy2(wheel, link)
            staged.append(link)
    try:
        yield
    finally:
        for link in staged:
            link.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
