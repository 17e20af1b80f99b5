"""Pure rules and values, one module per area; no I/O here."""
