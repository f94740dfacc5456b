"""The HTTP API: FastAPI routers that authenticate, parse, call the pipeline and render."""
