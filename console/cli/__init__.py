"""The command-line face: main (the entry), arguments, the context each command is
given, one module per command under commands/, following and launching runs, printing."""
