"""Integration tests of scan coordination against real servers on 127.0.0.1."""
