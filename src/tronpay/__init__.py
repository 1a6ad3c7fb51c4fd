"""tronpay: the TRON Payment System API."""

__version__ = "0.1.0"
