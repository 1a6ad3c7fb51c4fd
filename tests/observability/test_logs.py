"""Structured logs: JSON lines with dotted events and UTC timestamps, uvicorn's lines in the
same format, secrets cut out, the console format, the rotating file."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from tronpay.config import LogFormat, Settings
from tronpay.observability.logs import REDACTED, configure_logging, reset_logging, resolve_format

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    reset_logging()


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def test_our_lines_are_json_with_dotted_events_and_utc_timestamps() -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=out)
    structlog.contextvars.bind_contextvars(request_id="req-1")
    try:
        structlog.get_logger("t").info("payout.created", payout_id="po_1", amount="1.5")
        structlog.get_logger("t").debug("payout.noise")  # below the level: dropped
    finally:
        structlog.contextvars.clear_contextvars()
    [line] = _lines(out)
    assert line["event"] == "payout.created"
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")
    assert line["request_id"] == "req-1"
    assert line["payout_id"] == "po_1"


def test_secrets_never_reach_a_line() -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=out)
    log = structlog.get_logger("t")
    log.warning(
        "auth.debug",
        authorization=f"Bearer {JWT}",
        token=JWT,
        private_key="11" * 32,
        node_api_token="abc",
        detail=f"header was Bearer {JWT} and raw {JWT}",
    )
    logging.getLogger("some.library").warning("sent Authorization: Bearer %s", JWT)
    text = out.getvalue()
    assert JWT not in text
    assert "11" * 32 not in text
    ours, foreign = _lines(out)
    assert ours["authorization"] == ours["token"] == ours["private_key"] == REDACTED
    assert ours["node_api_token"] == REDACTED
    assert ours["detail"] == f"header was Bearer {REDACTED} and raw {REDACTED}"
    assert foreign["event"] == "some.library"
    assert REDACTED in foreign["message"]


def test_uvicorn_lines_come_out_in_the_same_format() -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=out)
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", "/v1/payouts", "1.1", 200
    )
    error, access = _lines(out)
    assert error["event"] == "uvicorn.error"
    assert error["message"] == "Started server process [42]"
    assert error["timestamp"].endswith("Z")
    assert access["event"] == "http.access"
    assert access["method"] == "GET"
    assert access["path"] == "/v1/payouts"
    assert access["status"] == 200


def test_the_console_format_is_for_humans() -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="console"), stream=out)
    structlog.get_logger("t").info("engine.start", hot_wallet="T...")
    text = out.getvalue()
    assert "engine.start" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_the_format_defaults() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve_format(Settings(env="development"), Tty()) is LogFormat.CONSOLE
    # Development is for humans, on a terminal or piped; production is JSON for collectors.
    assert resolve_format(Settings(env="development"), io.StringIO()) is LogFormat.CONSOLE
    assert resolve_format(Settings(env="production"), io.StringIO()) is LogFormat.JSON
    assert resolve_format(Settings(env="development", log_format="json"), Tty()) is LogFormat.JSON
    assert resolve_format(Settings(env="production"), Tty()) is LogFormat.JSON
    assert resolve_format(Settings(log_json=False), io.StringIO()) is LogFormat.CONSOLE


def test_the_log_file_rotates(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "tronpay.log"
    settings = Settings(
        log_format="console", log_file=path, log_file_max_bytes=2048, log_file_backups=2
    )
    configure_logging(settings, stream=io.StringIO())
    log = structlog.get_logger("t")
    for n in range(200):
        log.info("payout.created", n=n, filler="x" * 40)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["tronpay.log", "tronpay.log.1", "tronpay.log.2"]
    for name in files:
        for line in (path.parent / name).read_text().splitlines():
            assert json.loads(line)["event"] == "payout.created"  # JSON in the file always
    last = json.loads(path.read_text().splitlines()[-1])
    assert last["n"] == 199


def test_a_foreign_traceback_is_text_in_the_line() -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=out)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    [line] = _lines(out)
    assert line["event"] == "uvicorn.error"
    assert line["level"] == "error"
    assert "ValueError: boom" in line["exception"]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_our_lines_still_reach_handlers_a_host_adds_to_the_root() -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=out)
    extra = _Collect()
    logging.getLogger().addHandler(extra)
    try:
        structlog.get_logger("tronpay.payouts.states").info(
            "payout.transition", payout_id="po_1", token=JWT
        )
    finally:
        logging.getLogger().removeHandler(extra)
    [record] = extra.records
    assert record.name == "tronpay.payouts.states"
    assert record.levelno == logging.INFO
    assert isinstance(record.msg, dict)
    assert record.msg["event"] == "payout.transition"
    assert record.msg["token"] == REDACTED  # redacted before any handler sees it
    [line] = _lines(out)
    assert line["payout_id"] == "po_1"
    assert line["token"] == REDACTED


def test_one_event_is_json_in_the_file_and_text_on_the_console(tmp_path: Path) -> None:
    path = tmp_path / "tronpay.log"
    console = io.StringIO()
    configure_logging(Settings(log_format="console", log_file=path), stream=console)
    log = structlog.get_logger("t")
    log.warning("engine.attempt.expired", txid="ab" * 32, outcome="rebroadcast")
    try:
        raise RuntimeError("node went away")
    except RuntimeError:
        log.exception("engine.tick.failed", tick="submit")
    first, second = (json.loads(line) for line in path.read_text().splitlines())
    assert first["event"] == "engine.attempt.expired"
    assert first["level"] == "warning"
    assert first["txid"] == "ab" * 32
    assert first["timestamp"].endswith("Z")
    assert second["level"] == "error"
    assert "RuntimeError: node went away" in second["exception"]
    text = console.getvalue()
    assert "engine.attempt.expired" in text
    assert "outcome=rebroadcast" in text
    assert "RuntimeError: node went away" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_a_level_set_on_one_logger_still_quiets_it() -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=out)
    noisy = logging.getLogger("tronpay.noisy")
    noisy.setLevel(logging.WARNING)
    try:
        structlog.get_logger("tronpay.noisy").info("noisy.chatter")
        structlog.get_logger("tronpay.noisy").warning("noisy.problem")
        structlog.get_logger("tronpay.quiet").info("quiet.news")
    finally:
        noisy.setLevel(logging.NOTSET)
    assert [line["event"] for line in _lines(out)] == ["noisy.problem", "quiet.news"]
