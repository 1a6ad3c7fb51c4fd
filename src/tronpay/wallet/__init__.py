"""The hot wallet as an operator sees it: balances, Stake 2.0 resources, pending unstakes,
prices, TRX held back for in-flight payouts and the payout runway (``GET /v1/wallet``,
``tronpay wallet``)."""
