"""The console's core: migration files, planning, running, verifying, history.

Nothing in this package (or in ``console.db``) imports Textual; the TUI and the
CLI are thin faces over it. ``tests/unit/test_import_hygiene.py`` enforces that.
"""
