"""``tronpay serve --no-engine`` as a real process: every line it writes, uvicorn's start-up,
access and shutdown lines included, is one JSON object with a dotted event and a UTC
timestamp, and the log file option writes the same lines."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from api.servers import running_server


def test_every_line_of_serve_is_json_uvicorn_included(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "tronpay.log"
    with running_server(
        tmp_path,
        TRONPAY_LOG_FORMAT="json",
        TRONPAY_LOG_ACCESS="true",
        TRONPAY_LOG_FILE=str(log_file),
    ) as server:
        answer = httpx.get(f"{server.url}/health", headers={"X-Request-ID": "probe-7"})
        assert answer.headers["x-request-id"] == "probe-7"
        metrics = httpx.get(f"{server.url}/metrics")
        assert metrics.status_code == 200
    text = (tmp_path / "serve.log").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    events = [line["event"] for line in lines]
    assert all("." in event for event in events), events
    assert all(line["timestamp"].endswith("Z") for line in lines)
    assert "app.started" in events
    assert "uvicorn.error" in events  # uvicorn's "Started server process", "Application startup"
    access = [line for line in lines if line["event"] == "http.access"]
    assert {"/health", "/metrics"} <= {line["path"] for line in access}
    assert all(line["status"] == 200 for line in access if line["path"] == "/health")
    # the same lines in the file (the console copy is JSON here too)
    in_file = [json.loads(line)["event"] for line in log_file.read_text().splitlines()]
    assert "app.started" in in_file
    assert "http.access" in in_file
