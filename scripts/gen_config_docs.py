"""Write docs/configuration.md and .env.example from the settings models.

    .venv/bin/python scripts/gen_config_docs.py          # write both files
    .venv/bin/python scripts/gen_config_docs.py --check  # exit 1 when either is stale

Every field of ``tronpay.config.Settings`` (``TRONPAY_*``) and of
``tronpay.engine.config.EngineConfig`` (``TRONPAY_ENGINE_*``) becomes one row: its variable
name (and aliases), type, default and ``Field(description=...)``. The policy overrides
(``TRONPAY_POLICY_<FIELD>_<ASSET>``) follow from ``tronpay.policy.config``. Fields are grouped
by name (``GROUPS``); a field no group claims lands in "Other". tests/test_config_docs.py
regenerates both texts in memory and fails when the files differ.
"""

from __future__ import annotations

import argparse
import enum
import sys
import textwrap
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from tronpay.config import Settings
from tronpay.engine.config import EngineConfig
from tronpay.policy.config import ASSET_DECIMALS, ENV_PREFIX, LIMIT_FIELDS

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"
ENV_EXAMPLE = ROOT / ".env.example"
COMMAND = ".venv/bin/python scripts/gen_config_docs.py"

# (title, field-name prefixes or exact names, what the group is for). First match wins.
GROUPS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "Service",
        ("env", "service_name", "host", "port", "data_dir", "devnet_host"),
        "mode, listen address and the data directory",
    ),
    ("Database", ("database_", "db_"), "where payouts, attempts and the audit log live"),
    ("Network and nodes", ("network", "node_", "token_contract"), "which TRON nodes to use"),
    ("Hot wallet", ("hot_wallet_", "keystore_"), "the key that signs payouts (secret files)"),
    ("Wallet", ("wallet_",), "hot wallet thresholds and upkeep"),
    ("Authentication", ("jwt_",), "bearer token verification (docs/security.md)"),
    ("Policy", ("policy_",), "payout limits (docs/security.md, section 3)"),
    (
        "HTTP server and API limits",
        ("http_", "max_", "idempotency_", "ready_"),
        "the server's own protections and request limits (docs/security.md, section 6)",
    ),
    ("Webhooks", ("webhook_",), "event delivery (docs/webhooks.md)"),
    ("Logging", ("log_",), "structured logs (docs/operations.md)"),
    ("Metrics", ("metrics_",), "Prometheus metrics (docs/operations.md)"),
)
OTHER = ("Other", (), "settings no group above claims")


@dataclass(frozen=True, slots=True)
class Setting:
    """One environment variable as documented."""

    name: str
    aliases: tuple[str, ...]
    type: str
    default: str  # "" = unset
    description: str
    group: str


def _env_names(model: type[BaseSettings], field_name: str, info: FieldInfo) -> list[str]:
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        names = [choice for choice in alias.choices if isinstance(choice, str)]
        if any(name.isupper() for name in names):
            return [name for name in names if name.isupper()]
    prefix = str(model.model_config.get("env_prefix", ""))
    return [f"{prefix}{field_name}".upper()]


def _type_name(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        parts = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return " | ".join(_type_name(part) for part in parts)
    if origin is list:
        return "list (comma-separated)"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " | ".join(f"`{member.value}`" for member in annotation)
    names = {int: "integer", float: "number", bool: "boolean", str: "string", Path: "path"}
    if isinstance(annotation, type) and annotation in names:
        return names[annotation]
    return str(annotation)


def _bounds(info: FieldInfo) -> str:
    marks: list[str] = []
    for meta in info.metadata:
        for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(meta, attr, None)
            if value is not None:
                marks.append(f"{sign} {_value(value)}")
    return "".join(f", {mark}" for mark in marks)


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list | tuple):
        return ",".join(_value(item) for item in value)
    return str(value)


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return _value(info.default_factory())  # type: ignore[call-arg]
    if info.default is PydanticUndefined:
        return ""
    return _value(info.default)


def _group(field_name: str) -> str:
    for title, names, _ in GROUPS:
        for name in names:
            if field_name == name or (name.endswith("_") and field_name.startswith(name)):
                return title
    return OTHER[0]


def model_settings(model: type[BaseSettings], group: str | None = None) -> Iterator[Setting]:
    for field_name, info in model.model_fields.items():
        names = _env_names(model, field_name, info)
        yield Setting(
            name=names[0],
            aliases=tuple(names[1:]),
            type=_type_name(info.annotation) + _bounds(info),
            default=_default(info),
            description=(info.description or "").strip(),
            group=group or _group(field_name),
        )


def policy_settings() -> Iterator[Setting]:
    for name in LIMIT_FIELDS:
        for asset in ASSET_DECIMALS:
            yield Setting(
                name=f"{ENV_PREFIX}{name.upper()}_{asset}",
                aliases=(),
                type="decimal string",
                default="",
                description=(
                    f"overrides `[limits.{asset}] {name}` of the policy file "
                    "(an empty value removes the limit)"
                ),
                group="Policy overrides",
            )
    yield Setting(
        name=f"{ENV_PREFIX}DENY_LIST",
        aliases=(),
        type="list (comma-separated)",
        default="",
        description="addresses added to the policy file's deny list",
        group="Policy overrides",
    )
    yield Setting(
        name=f"{ENV_PREFIX}ALLOW_LIST",
        aliases=(),
        type="list (comma-separated)",
        default="",
        description="replaces the policy file's allow list (only these destinations)",
        group="Policy overrides",
    )


CLIENT = (
    Setting(
        name="TRONPAY_API_URL",
        aliases=(),
        type="string",
        default="http://127.0.0.1:8090",
        description="the service the `tronpay payouts|batches|wallet` commands call",
        group="Command line client",
    ),
    Setting(
        name="TRONPAY_TOKEN",
        aliases=(),
        type="string",
        default="",
        description="the bearer token those commands send (see `tronpay token`)",
        group="Command line client",
    ),
)


def all_settings() -> list[Setting]:
    return [
        *model_settings(Settings),
        *model_settings(EngineConfig, group="Engine"),
        *policy_settings(),
        *CLIENT,
    ]


def undocumented() -> list[str]:
    """Variables whose field has no description (tests/test_config_docs.py lists them)."""
    return [setting.name for setting in all_settings() if not setting.description]


def _group_order() -> list[tuple[str, str]]:
    groups = [(title, purpose) for title, _, purpose in GROUPS]
    policy = next(index for index, (title, _) in enumerate(groups) if title == "Policy")
    groups.insert(policy + 1, ("Policy overrides", "`TRONPAY_POLICY_*`, applied after the file"))
    return [
        *groups,
        ("Engine", "the payout engine (`tronpay serve`, `tronpay worker`; docs/engine.md)"),
        ("Command line client", "read by the `tronpay` commands that call the API"),
        (OTHER[0], OTHER[2]),
    ]


def _grouped(settings: Iterable[Setting]) -> Iterator[tuple[str, str, list[Setting]]]:
    items = list(settings)
    for title, purpose in _group_order():
        members = [setting for setting in items if setting.group == title]
        if members:
            yield title, purpose, members


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(settings: list[Setting]) -> str:
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from the settings models by scripts/gen_config_docs.py: do not edit.",
        f"     Regenerate with `{COMMAND}`. -->",
        "",
        "tronpay reads its configuration from environment variables only (no file is read",
        "implicitly). Secrets are never values: the `*_FILE` variables name files, which must be",
        "private (mode 0600/0400, or 0440 for a Kubernetes secret volume; docs/security.md,",
        "section 5). [`.env.example`](../.env.example) lists every variable with its default,",
        "commented out; load it with `set -a; . ./.env; set +a` or Compose's `env_file:`.",
        "",
        "A default left empty means unset. Lists are comma- or space-separated. The policy file",
        "itself (limits, allow and deny lists) is documented in `configs/policy.example.toml`.",
        "",
    ]
    for title, purpose, members in _grouped(settings):
        lines += [f"## {title}", ""]
        if purpose:
            lines += [purpose[0].upper() + purpose[1:] + ".", ""]
        lines += ["| variable | type | default | description |", "|---|---|---|---|"]
        for setting in members:
            name = f"`{setting.name}`"
            if setting.aliases:
                name += " (also " + ", ".join(f"`{alias}`" for alias in setting.aliases) + ")"
            default = f"`{setting.default}`" if setting.default else ""
            lines.append(
                f"| {name} | {_cell(setting.type)} | {default} | {_cell(setting.description)} |"
            )
        lines.append("")
    return "\n".join(lines)


def render_env(settings: list[Setting]) -> str:
    lines = [
        "# tronpay configuration: every variable with its default, commented out.",
        f"# Generated by scripts/gen_config_docs.py ({COMMAND}); do not edit.",
        "# The meaning of each is in docs/configuration.md. Copy to .env (ignored by git),",
        "# uncomment what you change, and load it with `set -a; . ./.env; set +a` or env_file:.",
    ]
    for title, _, members in _grouped(settings):
        lines += ["", f"# --- {title} " + "-" * max(3, 80 - len(title) - 7)]
        for setting in members:
            lines += textwrap.wrap(
                setting.description or "(no description)",
                width=98,
                initial_indent="# ",
                subsequent_indent="#   ",
            )
            lines.append(f"# {setting.name}={setting.default}")
    return "\n".join(lines) + "\n"


def render() -> dict[Path, str]:
    """The generated files and their full text."""
    settings = all_settings()
    return {DOC: render_markdown(settings), ENV_EXAMPLE: render_env(settings)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a file is stale")
    args = parser.parse_args(argv)
    missing = undocumented()
    if missing:
        print("settings without Field(description=...): " + ", ".join(missing), file=sys.stderr)
    stale = False
    for path, text in render().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale = True
        if not args.check:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
        else:
            print(f"stale: {path.relative_to(ROOT)} (run {COMMAND})", file=sys.stderr)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
