"""The webhook verification code of the docs, run against messages signed by tronpay's own
signer: the Python snippet in-process, the Node.js one with ``node`` (when it is installed)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tronpay.webhooks.signing import new_secret, signature_header

ROOT = Path(__file__).resolve().parent
DOCS = ROOT.parent / "docs"
PAGES = [DOCS / "api.md", DOCS / "webhooks.md"]
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)

Verify = Callable[[str, dict[str, str], bytes], bool]


def _snippet(page: Path, language: str) -> str:
    blocks = [
        code
        for lang, code in _BLOCK.findall(page.read_text(encoding="utf-8"))
        if lang == language and "webhook-signature" in code
    ]
    assert len(blocks) == 1, f"{page.name}: expected one {language} verification snippet"
    return blocks[0]


def _python_verify(page: Path) -> Verify:
    namespace: dict[str, object] = {}
    exec(compile(_snippet(page, "python"), str(page), "exec"), namespace)  # noqa: S102 - our doc
    functions = [value for name, value in namespace.items() if name.startswith("verify")]
    assert len(functions) == 1
    function = functions[0]
    assert callable(function)
    return lambda secret, headers, body: bool(function(secret, headers, body))


def _cases() -> list[tuple[str, str, dict[str, str], bytes, bool]]:
    """(name, secret, headers, body, expected) for messages signed like the delivery worker."""
    secret, old, stranger = new_secret(), new_secret(), new_secret()
    body = json.dumps(
        {"type": "payout.finalized", "timestamp": "2026-12-03T10:00:00Z", "data": {"id": "po_1"}},
        separators=(",", ":"),
    ).encode()
    now = int(time.time())

    def headers(secrets: list[str], stamp: int, msg_id: str = "ev_01JE2S7X6Q") -> dict[str, str]:
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature_header(secrets, msg_id, stamp, body),
        }

    signed = headers([secret], now)
    return [
        ("valid", secret, signed, body, True),
        ("rotation: new and old secret", secret, headers([secret, old], now), body, True),
        ("rotation: receiver still on the old one", old, headers([secret, old], now), body, True),
        ("another endpoint's secret", stranger, signed, body, False),
        ("body changed", secret, signed, body.replace(b"po_1", b"po_2"), False),
        ("id changed", secret, {**signed, "webhook-id": "ev_other"}, body, False),
        ("timestamp changed", secret, {**signed, "webhook-timestamp": str(now + 1)}, body, False),
        ("replayed an hour later", secret, headers([secret], now - 3600), body, False),
        ("no v1 signature", secret, {**signed, "webhook-signature": "v2,abc"}, body, False),
    ]


# The messages are signed when a test runs, not when the module is collected: a long suite
# would otherwise age them past the snippets' five-minute tolerance.
CASE_NAMES = [case[0] for case in _cases()]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
@pytest.mark.parametrize("index", range(len(CASE_NAMES)), ids=CASE_NAMES)
def test_python_snippet_verifies_our_signatures(page: Path, index: int) -> None:
    name, secret, headers, body, expected = _cases()[index]
    assert _python_verify(page)(secret, headers, body) is expected, name


_NODE_HARNESS = """
const snippet = require(process.argv[2]);
const verify = snippet.verifyWebhook || snippet.verify;
const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
const results = cases.map((c) => verify(c.secret, c.headers, Buffer.from(c.body, "base64")));
console.log(JSON.stringify(results));
"""


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_javascript_snippet_verifies_our_signatures(page: Path, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the Python snippet is tested without it")
    code = _snippet(page, "javascript")
    cases = _cases()
    if "module.exports" not in code:
        code += "\nmodule.exports = { verify };\n"
    (tmp_path / "snippet.js").write_text(code, encoding="utf-8")
    (tmp_path / "harness.js").write_text(_NODE_HARNESS, encoding="utf-8")
    payload = [
        {"secret": secret, "headers": headers, "body": base64.b64encode(body).decode()}
        for _, secret, headers, body, _ in cases
    ]
    result = subprocess.run(
        [node, str(tmp_path / "harness.js"), str(tmp_path / "snippet.js")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(result.stdout) == [expected for *_, expected in cases]
