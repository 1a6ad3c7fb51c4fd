"""The Dockerfile, parsed (no Docker needed): the distroless production target is hardened
and shell-free, the builder matches its Python, and the bugs of the first draft stay gone.
scripts/verify-image proves the same properties on a built and running image."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    name: str
    value: str


@dataclass(frozen=True)
class Stage:
    base: str
    name: str
    instructions: tuple[Instruction, ...]

    def all(self, name: str) -> list[str]:
        return [i.value for i in self.instructions if i.name == name]

    def one(self, name: str) -> str:
        values = self.all(name)
        assert len(values) == 1, f"{self.name}: expected one {name}, found {values}"
        return values[0]

    def env(self) -> dict[str, str]:
        pairs: dict[str, str] = {}
        for value in self.all("ENV"):
            for key, _, val in (part.partition("=") for part in value.split()):
                pairs[key] = val.strip('"')
        return pairs

    def labels(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for value in self.all("LABEL"):
            for key, val in re.findall(r'(\S+?)="([^"]*)"', value):
                found[key] = val
        return found


def _stages() -> dict[str, Stage]:
    """The stages in order, with top-level ARG defaults substituted into FROM."""
    parser = DockerfileParser(fileobj=io.BytesIO(DOCKERFILE.read_bytes()))
    args: dict[str, str] = {}
    bases: dict[str, str] = {}
    bodies: dict[str, list[Instruction]] = {}
    for item in parser.structure:
        name, value = item["instruction"], item["value"]
        if name == "COMMENT":
            continue
        if name == "ARG" and not bodies:
            key, _, default = value.partition("=")
            args[key] = default
        elif name == "FROM":
            base, _, stage = (part.strip() for part in value.partition(" AS "))
            for key, default in args.items():
                base = base.replace(f"${{{key}}}", default)
            bases[stage] = base
            bodies[stage] = []
        else:
            assert bodies, f"{name} before the first FROM"
            bodies[list(bodies)[-1]].append(Instruction(name, value))
    return {stage: Stage(bases[stage], stage, tuple(body)) for stage, body in bodies.items()}


STAGES = _stages()
RUNTIME = STAGES["distroless"]
BUILDER = STAGES["builder"]
RUNTIME_VENV = STAGES["runtime-venv"]
DEVELOPMENT = STAGES["development"]
SITE = "/opt/venv/lib/python3.13/site-packages"


def test_targets_and_the_default_is_the_distroless_one() -> None:
    # the last is the default
    assert list(STAGES) == ["builder", "runtime-venv", "development", "distroless"]
    assert BUILDER.base == "debian:13-slim"
    assert RUNTIME.base == "gcr.io/distroless/python3-debian13:nonroot"
    assert RUNTIME_VENV.base == "builder"
    assert DEVELOPMENT.base == "builder"  # keeps the sources of every package


def test_no_frontend_image_is_pulled() -> None:
    first = DOCKERFILE.read_text().splitlines()[0]
    assert not first.lower().startswith("# syntax"), "BuildKit would pull a frontend image"


def test_the_builder_uses_the_runtime_python() -> None:
    """Debian 13's python3-venv: the venv's bin/python is /usr/bin/python3.13 in both
    images, and its extension modules are cp313 like the runtime's interpreter."""
    runs = "\n".join(BUILDER.all("RUN"))
    assert "apt-get install -y --no-install-recommends binutils python3-venv" in runs
    assert "/usr/bin/python3.13 -m venv /opt/venv" in runs
    assert "--require-hashes" in runs
    assert "-r /tmp/requirements-prod.txt" in runs
    assert "--no-deps /src" in runs
    assert "-e /src" not in runs
    assert "--mount=type=cache,target=/root/.cache/pip" in runs
    assert "--find-links /wheelhouse" in runs  # the optional air-gapped wheelhouse
    staging = next(r for r in BUILDER.all("RUN") if "/staging/app/logs" in r)
    assert "install -d -o 65532 -g 65532 -m 0750 /staging/app/logs /staging/app/tmp" in staging
    assert "install -d -o 65532 -g 65532 -m 0700 /staging/app/secrets" in staging


def test_the_runtime_stage_runs_nothing_and_copies_no_secret() -> None:
    assert RUNTIME.all("RUN") == [], "distroless has no shell: a RUN cannot work"
    copies = RUNTIME.all("COPY")
    assert copies == [
        "--from=runtime-venv /opt/venv /opt/venv",
        "--from=builder /staging/app /app",
    ]
    for stage in STAGES.values():
        for copy in stage.all("COPY") + stage.all("ADD"):
            assert ":ro" not in copy
            assert "secret" not in copy.lower()


def test_the_runtime_venv_is_bytecode_only_except_the_application() -> None:
    """Third-party packages ship sourceless, deterministic .pyc (the image's size target);
    tronpay and tron_devnet keep their sources, and the slimmed venv must still import."""
    (run,) = RUNTIME_VENV.all("RUN")
    assert f"site={SITE}" in run
    compile_line = "python -m compileall -q -b -j 0 --invalidation-mode unchecked-hash"
    assert compile_line in run
    assert '-x "^$site/(tronpay|tron_devnet)/"' in run
    delete = run.rindex("-name '*.py'")  # the sources go once they are compiled
    assert run.index(compile_line) < delete
    ours = '-not -path "$site/tronpay/*" -not -path "$site/tron_devnet/*" -delete'
    assert run[delete:].index(ours) < run[delete:].index("&&")
    assert "import tronpay.cli, tronpay.app, alembic.command" in run[delete:]
    assert "/opt/venv/bin/tronpay --help" in run[delete:]
    for unused in ("dialects/mssql", "dialects/mysql", "dialects/oracle", "testing"):
        assert f'"$site"/sqlalchemy/{unused}' in run
    assert "postgresql" not in run
    assert "sqlite" not in run
    for kept in ("Hash", "Util", "Random"):  # pycryptodomex: Keccak and what it imports
        assert f"Cryptodome/{kept}" not in run
    assert "pygments" not in run  # rich's tracebacks load every lexer


def test_runtime_user_workdir_env_and_volumes() -> None:
    assert RUNTIME.one("USER") == "65532:65532"
    assert RUNTIME.one("WORKDIR") == "/app"
    env = RUNTIME.env()
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["SERVICE_NAME"] == "tron-payment-service"
    assert env["SERVICE_PORT"] == "8090"
    assert env["LUCID_ENV"] == "production"
    assert env["TMPDIR"] == "/app/tmp"
    assert env["TRONPAY_HOST"] == "0.0.0.0"  # noqa: S104 - the container listens on all
    assert env["PATH"].split(":")[0] == "/opt/venv/bin"
    assert json.loads(RUNTIME.one("VOLUME")) == ["/app/logs", "/app/tmp", "/app/secrets"]
    assert RUNTIME.one("EXPOSE") == "8090"


def test_runtime_labels() -> None:
    labels = RUNTIME.labels()
    for key in ("title", "description", "version", "source", "licenses", "created", "revision"):
        assert labels.get(f"org.opencontainers.image.{key}"), key
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    assert labels["org.opencontainers.image.created"] == "${CREATED}"
    assert labels["org.opencontainers.image.revision"] == "${REVISION}"
    assert {k: v for k, v in labels.items() if k.startswith("security.")} == {
        "security.distroless": "true",
        "security.nonroot": "true",
        "security.readonly": "true",
        "security.plane": "wallet",
        "security.isolation": "payment-only",
    }


def test_entrypoint_command_and_health_check_need_no_shell() -> None:
    entrypoint = json.loads(RUNTIME.one("ENTRYPOINT"))
    assert entrypoint == ["/opt/venv/bin/tronpay"]
    assert json.loads(RUNTIME.one("CMD")) == ["serve"]
    health = RUNTIME.one("HEALTHCHECK")
    options, _, command = health.partition("CMD")
    assert options.split() == [
        "--interval=30s",
        "--timeout=10s",
        "--start-period=40s",
        "--retries=3",
    ]
    argv = json.loads(command)  # exec form: a JSON array, not a string for /bin/sh
    assert argv[0] == "/opt/venv/bin/python"
    assert "/health" in argv[-1]


def test_development_target() -> None:
    assert DEVELOPMENT.one("EXPOSE").split() == ["8090", "8091"]
    cmd = json.loads(DEVELOPMENT.one("CMD"))
    assert cmd == ["tronpay", "serve", "--devnet", "--reload"]
    env = DEVELOPMENT.env()
    assert env["TRONPAY_LOG_LEVEL"] == "debug"
    assert env["TRONPAY_DEVNET_HOST"] == "0.0.0.0"  # noqa: S104


@pytest.mark.parametrize(
    "excluded",
    [".git", ".venv", "**/secrets", "**/*.key", "**/__pycache__", ".tronpay", "**/*.db"],
)
def test_dockerignore_keeps_secrets_and_local_state_out(excluded: str) -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "**"  # everything is out unless named
    assert excluded in lines
    for needed in ("!src/", "!configs/", "!requirements-prod.txt", "!wheelhouse/"):
        assert needed in lines
    assert lines.index(excluded) > lines.index("!src/")  # applied after the re-inclusions
