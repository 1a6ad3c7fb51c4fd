"""Domain-free helpers: money (assets, base units, decimal strings), ids, the clock and UTC
normaliser, IN-list chunking, pagination cursors, private files and secret strength.
Imports no domain package."""
