"""``python -m console.core.run``: the runner process the TUI spawns (request on stdin)."""

from __future__ import annotations

import json
import sys

from console.core.run.process import Given, from_spec, runner_main

if __name__ == "__main__":
    settings, request, wake, closes = from_spec(json.loads(sys.stdin.read()))
    sys.stdin.close()
    sys.exit(runner_main(settings, request, wake, Given(closes=closes)))
