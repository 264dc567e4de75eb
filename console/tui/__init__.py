"""The Textual face of the console: it presents and drives console.core, nothing more.

No SQL and no database driver here: every database call goes through ConsoleService.
"""
