"""The migration console: run PostgreSQL schema migrations safely and see what they do."""

__version__ = "0.1.0"
