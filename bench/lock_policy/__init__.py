"""bench_lock_policy.py's parts: the two consoles, their runner processes, (a) an old
snapshot during the builds, (b) what the runner process costs."""
