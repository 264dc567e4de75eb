"""Running migrations: the lock policy, the runner, its process, and recovery.

options   RunOptions: timeouts, retries, --max-wait
policy    the wait policy for one statement (docs/lock-policy.md)
retry     how a statement ends badly; the one retry loop
watch     the monitor session, reconnected when lost
keeper    the run lock, taken again when its session is lost; messages to the run
invalid   INVALID indexes left by concurrent builds
runner    MigrationRunner: one section, statement by statement
sinks     history.toml and the event log
execute   RunRequest and execute_run: the one way to run
process   the runner process; following its event log
recovery  runs whose runner went away: adopt, resume, mark
"""

from console.core.run.execute import RunRequest, execute_run, exit_code
from console.core.run.options import RunOptions
from console.core.run.runner import MigrationRunner

__all__ = ["MigrationRunner", "RunOptions", "RunRequest", "execute_run", "exit_code"]
