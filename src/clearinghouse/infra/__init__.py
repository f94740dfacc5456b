"""Infrastructure: settings, database engine and migrations, content-addressed blobs, logging."""
