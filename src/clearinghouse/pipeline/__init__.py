"""The one place that knows the whole sequence across domains (intake -> dedup -> …)."""
