"""Async client for the TRON full-node HTTP API (java-tron ``/wallet`` and ``/walletsolidity``).

Several node URLs are configured; the client tracks their health and fails over between them.
Reads back off on HTTP 429/5xx and transport errors and try the next node; a broadcast is never
retried with a delay inside the client: it is offered once to each node in health order until
one gives a definitive answer, and an unclear answer comes back as ``BroadcastKind.UNKNOWN``
(the engine rebroadcasts the same bytes later, which is idempotent).

Error tree (every error is a :class:`tronpay.tron.errors.TronError`, defined there)::

    NodeError                      base: something went wrong talking to a node
    ├── NodeUnavailable            no configured node could be reached or answered usefully
    │                              (timeouts, connection errors, 429, 5xx) -> retry later
    └── NodeRejected               a node answered and refused the request ({"Error": ...},
                                   a failed constant call, a malformed answer) -> classify

A broadcast does not raise for a refused transaction: it returns a :class:`BroadcastOutcome`
whose ``kind`` tells the engine what the refusal proves. Only reads raise.

Addresses may be given as base58 (``T...``) or hex (``41...``); requests always send the
hex form with ``"visible": false``.

Import from here; the modules behind it are private:

- ``_client``: :class:`NodeClient`, the one place that interprets status codes,
  ``Retry-After`` and JSON, over a transport;
- ``_transport``: the ``Transport`` protocol (POST JSON, get status, headers and bytes);
- ``_http``: the lean keep-alive HTTP/1.1 transport for plain ``http://`` nodes (no TLS);
- ``_httpx``: the transport over ``httpx.AsyncClient`` (TLS, proxies, injected transports);
- ``_parse``: java-tron JSON to typed results, broadcast code classification;
- ``_results``: the typed results; ``_health``: node health and failover order;
- ``_stake``: the Stake 2.0 results (stake, delegations, pending unstakes) and their parsing.
"""

from tronpay.tron.errors import NodeError, NodeRejected, NodeUnavailable
from tronpay.tron.node._client import API_KEY_HEADER, NodeClient
from tronpay.tron.node._health import NodeHealthView
from tronpay.tron.node._parse import classify_broadcast_code, decode_message
from tronpay.tron.node._results import (
    Account,
    AccountResource,
    BlockRef,
    BroadcastKind,
    BroadcastOutcome,
    ChainParameters,
    ConstantResult,
    NodeInfo,
    Transaction,
    TransactionInfo,
    TxidPresence,
)
from tronpay.tron.node._stake import (
    AccountStake,
    Delegation,
    PendingUnstake,
    Resource,
    ResourceStake,
)

__all__ = [
    "API_KEY_HEADER",
    "Account",
    "AccountResource",
    "AccountStake",
    "BlockRef",
    "BroadcastKind",
    "BroadcastOutcome",
    "ChainParameters",
    "ConstantResult",
    "Delegation",
    "NodeClient",
    "NodeError",
    "NodeHealthView",
    "NodeInfo",
    "NodeRejected",
    "NodeUnavailable",
    "PendingUnstake",
    "Resource",
    "ResourceStake",
    "Transaction",
    "TransactionInfo",
    "TxidPresence",
    "classify_broadcast_code",
    "decode_message",
]
