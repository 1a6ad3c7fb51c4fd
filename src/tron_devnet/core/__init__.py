"""The devnet chain without HTTP: ``chain.Chain`` and everything it is made of.

Modules, from the bottom up: ``crypto`` (hashes, addresses, signatures), ``wire`` (the protobuf
wire format), ``proto`` (java-tron's messages), ``state`` and ``staking`` (accounts, resources),
``token`` (the TRC20 contract), ``execution`` (one contract against a state), ``types`` and
``records`` (what the chain keeps), ``admission`` (decoding a broadcast), ``message_json`` and
``render`` (java-tron's JSON), ``chain_core`` (blocks, admission order, solidification),
``building``, ``control`` and ``export`` (node-built transactions, admin changes, the state
document) and ``chain`` (the node the HTTP layer calls). Nothing here imports ``tronpay``,
Starlette or uvicorn.
"""
