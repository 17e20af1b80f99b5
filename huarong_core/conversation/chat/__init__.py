"""Chat routes, one module per area; every module here is imported on first use."""
