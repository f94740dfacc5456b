"""Submissions (raw documents, content-addressed) and the findings read from them."""
