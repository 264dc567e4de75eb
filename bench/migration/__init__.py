"""bench_migration.py's parts: the ways to run the migration, (a) wall time, (b) a writer."""
