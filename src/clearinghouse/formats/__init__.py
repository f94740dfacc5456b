"""Pure codecs: standard documents <-> frozen records. No I/O, no database, no dedup keys."""
