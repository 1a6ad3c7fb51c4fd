"""Structured logging for every tronpay process (``serve``, ``serve --no-engine``, ``worker``).

One line per event, JSON in production: ``{"event": "payout.transition", "level": "info",
"timestamp": "2026-01-31T12:00:00.000000Z", "request_id": "req_...", ...}``. Event names are
dotted; timestamps ISO 8601 in UTC. structlog renders through the standard library's
logging, so uvicorn's own lines (``uvicorn.error``, and ``http.access`` when
``TRONPAY_LOG_ACCESS`` is on) come out in the same format and the same places. In development
the lines are rendered for humans instead (structlog's console renderer);
``TRONPAY_LOG_FORMAT=json`` or ``console`` decides explicitly.

``TRONPAY_LOG_FILE`` adds a size-rotated file (JSON always), e.g. ``/app/logs/tronpay.log``.

Nothing secret is logged: values under secret-sounding keys (``authorization``, ``token``,
``password``, ``private_key``, ...) are replaced, and bearer tokens or JWTs inside any string
value are cut out, whatever code logged them.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from typing import Final, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from tronpay.config import LogFormat, Settings

REDACTED: Final = "[redacted]"
_SECRET_KEYS: Final = frozenset(
    {
        "authorization",
        "token",
        "access_token",
        "bearer",
        "secret",
        "password",
        "passphrase",
        "private_key",
        "key_hex",
        "api_key",
        "cookie",
        "signature_secret",
    }
)
_SECRET_SUFFIXES: Final = ("_token", "_secret", "_password", "_passphrase", "_private_key")
_BEARER: Final = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_JWT: Final = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_OURS: Final = "_tronpay_handler"


def _secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or lowered.endswith(_SECRET_SUFFIXES)


def _scrub(value: str) -> str:
    if "eyJ" in value or "earer" in value:
        value = _BEARER.sub("Bearer " + REDACTED, value)
        value = _JWT.sub(REDACTED, value)
    return value


def redact_secrets(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Replace values under secret keys; cut bearer tokens and JWTs out of strings."""
    for key, value in event_dict.items():
        if _secret_key(key):
            event_dict[key] = REDACTED
        elif isinstance(value, str):
            event_dict[key] = _scrub(value)
    return event_dict


def _foreign_event(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """A line from the standard library (uvicorn): the logger's name as a dotted event, the
    text as ``message``; uvicorn's access lines as ``http.access`` with their fields."""
    record = event_dict.get("_record")
    args = event_dict.pop("positional_args", None)
    if not isinstance(record, logging.LogRecord):
        return event_dict
    if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
        client, method, path, version, status = args
        event_dict.pop("event", None)
        event_dict.update(
            event="http.access",
            client=client,
            method=method,
            path=path,
            http_version=version,
            status=status,
        )
        return event_dict
    event_dict["message"] = event_dict.pop("event", "")
    event_dict["event"] = record.name
    return event_dict


def resolve_format(settings: Settings, stream: TextIO) -> LogFormat:
    """``TRONPAY_LOG_FORMAT`` when set; otherwise lines for humans in development (on a
    terminal or not: ``serve --devnet`` piped to a file stays readable) and JSON in production,
    where a collector reads them. ``stream`` is kept for callers that pass it."""
    if settings.log_format is not None:
        return settings.log_format
    if not settings.log_json or not settings.is_production:
        return LogFormat.CONSOLE
    return LogFormat.JSON


def _level(settings: Settings) -> int:
    return logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)


def _formatter(renderer: Processor, pre_chain: list[Processor]) -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*pre_chain, _foreign_event],
        pass_foreign_args=True,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # a foreign record's traceback, as text
            redact_secrets,
            renderer,
        ],
    )


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> None:
    """Route structlog and the standard library (uvicorn) to one handler on stderr, plus the
    rotating file when ``TRONPAY_LOG_FILE`` is set. Safe to call again (replaces ours)."""
    out = stream if stream is not None else sys.stderr
    level = _level(settings)
    pre_chain: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    json_renderer: Processor = structlog.processors.JSONRenderer()
    renderer: Processor = (
        json_renderer
        if resolve_format(settings, out) is LogFormat.JSON
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    handlers: list[logging.Handler] = []
    console = logging.StreamHandler(out)
    console.setFormatter(_formatter(renderer, pre_chain))
    handlers.append(console)
    if settings.log_file is not None:
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            settings.log_file,
            maxBytes=settings.log_file_max_bytes,
            backupCount=settings.log_file_backups,
            encoding="utf-8",
        )
        rotating.setFormatter(_formatter(json_renderer, pre_chain))
        handlers.append(rotating)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        setattr(handler, _OURS, True)
        root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)  # the root's level (uvicorn may set its own)
    structlog.configure(
        processors=[
            *pre_chain,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )


def reset_logging() -> None:
    """Undo ``configure_logging`` (tests)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
        old.close()
    structlog.reset_defaults()


__all__ = ["REDACTED", "configure_logging", "redact_secrets", "reset_logging", "resolve_format"]
