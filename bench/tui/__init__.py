"""bench_tui.py's parts: its children and their terminal, (1) start-up, (2) and (3)
streaming, (4) an hour at the dashboard. Each part has a parent side (spawns and
reports) and, in ``*_child`` modules, what runs in the child process."""
