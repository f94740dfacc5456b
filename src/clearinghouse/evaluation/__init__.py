"""Frontier-model assessment: task suites, model agents, grading, statistics and designation."""
