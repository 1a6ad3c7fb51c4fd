"""Pure TRON protocol code: addresses, hashing, ABI call data, the protobuf transaction codec,
builders, keys and signatures. No I/O here (except the node client package ``node``)."""
