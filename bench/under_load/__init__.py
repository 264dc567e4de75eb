"""bench_load.py's parts: the sessions that make the load, (1) the CLI, (2) the core
call in-process, (3) the TUI."""
