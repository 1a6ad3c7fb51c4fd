"""Red-team review: POST /v1/batches has no mandatory idempotency.

``batches/endpoints.py::create_batch`` takes ``Idempotency-Key`` as optional and batch items
need no ``reference``. A client whose first POST timed out after the commit (the normal reason
to retry) posts the same file again and gets a second batch: every payout of the file is
queued, signed and paid twice. ``POST /v1/payouts`` requires the key for exactly this reason;
the bulk endpoint, where a replay costs the most, does not.

Real parts: the app over httpx.ASGITransport on SQLite and PostgreSQL, real JWTs.
"""

from __future__ import annotations

import httpx

from api.conftest import ADDR_A

CSV = f"to,amount,asset\n{ADDR_A},10.5,USDT\n{ADDR_A},7,USDT\n".encode()


async def test_retried_batch_upload_does_not_pay_twice(client: httpx.AsyncClient) -> None:
    headers = {"content-type": "text/csv"}
    first = await client.post("/v1/batches", content=CSV, headers=headers)
    # the client's read timed out after the commit; it sends the same upload again
    second = await client.post("/v1/batches", content=CSV, headers=headers)
    if first.status_code != 201:  # the fix "key mandatory" refuses both posts
        assert first.json()["code"] == "idempotency_key_missing", first.text
        assert second.status_code == first.status_code
        return
    queued = (await client.get("/v1/payouts", params={"to": ADDR_A, "limit": 100})).json()
    created = [p for p in queued["items"] if p["status"] == "queued"]
    assert second.status_code != 201 or len(created) == 2, (
        f"two batches {first.json()['id']} and {second.json()['id']}: "
        f"{len(created)} queued payouts for a 2-row file"
    )
