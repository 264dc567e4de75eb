"""The Textual face of the console: it presents and drives console.core, nothing more.

No SQL and no asyncpg here: every database call goes through ConsoleService.
"""
