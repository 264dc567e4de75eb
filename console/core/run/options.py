"""How a run waits: timeouts, retries and the wait policy (docs/lock-policy.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# What a run does when a concurrent statement has waited --max-wait for other
# transactions: a face that can ask the operator ("ask"), or give up ("fail").
ASK, FAIL = "ask", "fail"
# The first polls of a statement come quickly, so that a short wait is seen too.
FIRST_POLLS_S = (0.02, 0.05, 0.1, 0.2, 0.35)
REMIND_S = 30.0  # a wait that goes on is reported again this often


@dataclass(frozen=True)
class RunOptions:
    """Timeouts and retries. Defaults are documented in the README."""

    lock_timeout_s: float = 5.0  # how long a statement may wait to take a table lock
    lock_retries: int = 5  # extra attempts after a lock timeout or deadlock
    backoff_s: float = 2.0  # first pause between attempts, doubled each time
    backoff_max_s: float = 30.0
    statement_timeout_s: float = 0.0  # 0 = no limit (index builds can take hours)
    # How long a concurrent statement may wait for other transactions before the
    # operator is asked (TUI) or the run gives up (CLI); None = no limit.
    max_wait_s: float | None = None
    progress_interval_s: float = 0.5

    @property
    def attempts(self) -> int:
        return 1 + max(0, self.lock_retries)

    def backoff(self, attempt: int) -> float:
        return float(min(self.backoff_s * 2 ** (attempt - 1), self.backoff_max_s))

    def poll_delays(self) -> Iterator[float]:
        """Pauses between a statement's polls: quick at first, then every interval."""
        before = 0.0
        for at in FIRST_POLLS_S:
            if at >= self.progress_interval_s:
                break
            yield at - before
            before = at
        while True:
            yield self.progress_interval_s
