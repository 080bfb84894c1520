"""The HTTP API: thin routes over the store, the queue and the labeler."""
