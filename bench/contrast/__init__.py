"""bench_contrast.py's parts: colours on a 16-colour terminal, what one frame shows."""
