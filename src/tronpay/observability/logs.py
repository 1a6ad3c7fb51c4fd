"""Structured logging for every tronpay process (``serve``, ``serve --no-engine``, ``worker``).

One line per event, JSON in production: ``{"event": "payout.transition", "level": "info",
"timestamp": "2026-01-31T12:00:00.000000Z", "request_id": "req_...", ...}``. Event names are
dotted; timestamps ISO 8601 in UTC. structlog renders through the standard library's
logging, so uvicorn's own lines (``uvicorn.error``, and ``http.access`` when
``TRONPAY_LOG_ACCESS`` is on) come out in the same format and the same places. In development
the lines are rendered for humans instead (structlog's console renderer);
``TRONPAY_LOG_FORMAT=json`` or ``console`` decides explicitly.

``TRONPAY_LOG_FILE`` adds a size-rotated file (JSON always), e.g. ``/app/logs/tronpay.log``.

Cost: the engine writes a line per payout per transition, so tronpay's own lines take a short
path. The structlog chain redacts and stamps the event once, a ``_RecordSink`` hands it to the
standard library's logger of that name as one ``LogRecord`` (no caller lookup, no second
record), and each handler's formatter renders the event dict directly, JSON once for every
handler that wants JSON. The standard library still routes the record, so handlers that a host
or a test adds to the root logger see tronpay's lines too. Foreign lines (uvicorn) go through
structlog's ``ProcessorFormatter`` as before.

Nothing secret is logged: values under secret-sounding keys (``authorization``, ``token``,
``password``, ``private_key``, ...) are replaced, and bearer tokens or JWTs inside any string
value are cut out, whatever code logged them.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from functools import lru_cache
from typing import Any, Final, TextIO

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
# Set on the records ``_RecordSink`` makes: their ``msg`` is the finished event dict.
_EVENT_RECORD: Final = "_tronpay_event"


@lru_cache(maxsize=4096)  # event keys are names in the code: a small, fixed set
def _secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or lowered.endswith(_SECRET_SUFFIXES)


def _scrub(value: str) -> str:
    """``value`` with bearer tokens and JWTs cut out (called only when it may hold one)."""
    value = _BEARER.sub("Bearer " + REDACTED, value)
    return _JWT.sub(REDACTED, value)


def redact_secrets(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Replace values under secret keys; cut bearer tokens and JWTs out of strings."""
    for key, value in event_dict.items():
        if _secret_key(key):
            event_dict[key] = REDACTED
        elif isinstance(value, str) and ("eyJ" in value or "earer" in value):
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


class _RecordSink:
    """structlog's logger: hands each finished event dict to the standard library's logger of
    that name as one record (``Logger.handle``: its filters, then every handler up to the
    root), as ``Logger.info`` would, minus the caller lookup (no line shows file or line)."""

    __slots__ = ("_logger",)

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def _emit(self, level: int, event_dict: EventDict) -> None:
        logger = self._logger
        if not logger.isEnabledFor(level):  # a level set on this logger by the host
            return
        record = logging.LogRecord(logger.name, level, "", 0, event_dict, None, None)
        record.__dict__[_EVENT_RECORD] = True
        logger.handle(record)

    def debug(self, event_dict: EventDict) -> None:
        self._emit(logging.DEBUG, event_dict)

    def info(self, event_dict: EventDict) -> None:
        self._emit(logging.INFO, event_dict)

    def warning(self, event_dict: EventDict) -> None:
        self._emit(logging.WARNING, event_dict)

    def error(self, event_dict: EventDict) -> None:
        self._emit(logging.ERROR, event_dict)

    def critical(self, event_dict: EventDict) -> None:
        self._emit(logging.CRITICAL, event_dict)

    warn = warning
    exception = error
    fatal = critical
    msg = info


def _sink_factory(*args: Any) -> _RecordSink:
    name = args[0] if args and isinstance(args[0], str) else "tronpay"
    return _RecordSink(name)


def _to_sink(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> Any:
    """The chain's last step: the event dict, whole, as the sink's one argument."""
    return (event_dict,), {}


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """Renders tronpay's records (already stamped and redacted) straight from their event dict,
    once per rendering kind per record; anything else through ``ProcessorFormatter``."""

    def __init__(self, renderer: Processor, pre_chain: list[Processor], *, kind: str) -> None:
        super().__init__(
            foreign_pre_chain=[*pre_chain, _foreign_event],
            pass_foreign_args=True,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,  # a foreign record's traceback, as text
                redact_secrets,
                renderer,
            ],
        )
        self._render = renderer
        self._slot = f"_tronpay_line_{kind}"
        self._copy = kind != "json"  # the console renderer pops keys from the dict it gets

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__
        event: object = record.msg
        if not fields.get(_EVENT_RECORD) or not isinstance(event, dict):
            return super().format(record)
        line = fields.get(self._slot)
        if line is None:
            event_dict: EventDict = dict(event) if self._copy else event
            line = fields[self._slot] = str(self._render(None, "", event_dict))
        return str(line)


def _formatter(renderer: Processor, pre_chain: list[Processor], *, kind: str) -> logging.Formatter:
    return _Formatter(renderer, pre_chain, kind=kind)


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
    as_json = resolve_format(settings, out) is LogFormat.JSON
    renderer: Processor = json_renderer if as_json else structlog.dev.ConsoleRenderer(colors=False)
    handlers: list[logging.Handler] = []
    console = logging.StreamHandler(out)
    console.setFormatter(_formatter(renderer, pre_chain, kind="json" if as_json else "console"))
    handlers.append(console)
    if settings.log_file is not None:
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            settings.log_file,
            maxBytes=settings.log_file_max_bytes,
            backupCount=settings.log_file_backups,
            encoding="utf-8",
        )
        rotating.setFormatter(_formatter(json_renderer, pre_chain, kind="json"))
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
            redact_secrets,
            _to_sink,
        ],
        logger_factory=_sink_factory,
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
