"""The canonical vulnerability: identity, status and the id counter."""
