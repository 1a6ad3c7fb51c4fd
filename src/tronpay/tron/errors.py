"""Protocol errors. ``TronError`` is the root of everything ``tronpay.tron`` raises on purpose.

Errors about caller-supplied values (addresses, amounts, raw_data) also subclass ``ValueError``
so that validation layers (pydantic validators, CLI parsing) treat them as bad input.

The tree (every class is a :class:`tronpay.errors.TronpayError`)::

    TronError
    ├── InvalidAddressError        not a TRON address (also ValueError)
    ├── EncodeError                cannot encode a transaction (also ValueError)
    ├── DecodeError                not a canonical encoding we support (also ValueError)
    ├── SignatureError             malformed signature or key (also ValueError)
    └── NodeError                  something went wrong talking to a node (``tron.node``)
        ├── NodeUnavailable        no configured node could be reached or answered usefully
        │                          (timeouts, connection errors, 429, 5xx) -> retry later
        └── NodeRejected           a node answered and refused the request ({"Error": ...},
                                   a failed constant call, a malformed answer) -> classify
"""

from __future__ import annotations

from typing import ClassVar, Literal

from tronpay.errors import TronpayError

AddressProblem = Literal["empty", "alphabet", "length", "checksum", "prefix"]


class TronError(TronpayError):
    """Root of the TRON protocol errors."""

    code: ClassVar[str] = "tron_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "TRON protocol error"


class InvalidAddressError(TronError, ValueError):
    """The text is not a valid TRON address; ``reason`` says why in one stable word."""

    code: ClassVar[str] = "invalid_address"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "Invalid TRON address"

    _MESSAGES: ClassVar[dict[str, str]] = {
        "empty": "the address is empty",
        "alphabet": "the address contains characters outside the base58 / hex alphabet",
        "length": "the address has the wrong length (a TRON address is 21 bytes, 34 base58 chars)",
        "checksum": "the address checksum does not match (typo?)",
        "prefix": "the address does not start with the TRON mainnet prefix 0x41 ('T...')",
    }

    def __init__(self, reason: AddressProblem) -> None:
        self.reason: AddressProblem = reason
        super().__init__(f"invalid TRON address: {self._MESSAGES[reason]}", reason=reason)


class EncodeError(TronError, ValueError):
    """A raw_data dict or builder argument cannot be encoded into a transaction."""

    code: ClassVar[str] = "tron_encode_error"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "Cannot encode TRON transaction"


class DecodeError(TronError, ValueError):
    """Bytes are not a well-formed, canonical encoding of a message we support."""

    code: ClassVar[str] = "tron_decode_error"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "Cannot decode TRON data"


class SignatureError(TronError, ValueError):
    """A signature or a private key is malformed, or does not recover to a public key."""

    code: ClassVar[str] = "tron_signature_error"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "Invalid signature"


class NodeError(TronError):
    """Base of every node-client error."""

    code: ClassVar[str] = "node_error"
    status: ClassVar[int] = 502
    title: ClassVar[str] = "TRON node error"


class NodeUnavailable(NodeError):
    """No configured node could be reached or gave a usable answer (retry later)."""

    code: ClassVar[str] = "node_unavailable"
    status: ClassVar[int] = 503
    title: ClassVar[str] = "No TRON node is reachable"


class NodeRejected(NodeError):
    """A node answered and refused the request, or answered something we cannot parse."""

    code: ClassVar[str] = "node_rejected"
    status: ClassVar[int] = 502
    title: ClassVar[str] = "The TRON node rejected the request"
