"""Entrypoints that run background work in their own processes (Celery workers)."""
