"""bench_monitor.py's parts: the background load, (1) one monitor refresh, (2) from
waiting to the console naming the blocker."""
