"""The command-line face: argument parsing, one module per group of commands, printing."""
