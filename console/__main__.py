from console.cli.main import entry

entry()
