"""`migration-console history [--json]`: history.toml's migrations, runs and the
operators' actions, as tables."""

from __future__ import annotations

from console.cli.context import Context
from console.cli.jsonout import print_json
from console.core.durations import duration
from console.errors import ExitCode


async def command(ctx: Context) -> int:
    from console.core import export
    from console.core.history import HistoryStore, actions

    data = HistoryStore(ctx.history_path).load()
    if ctx.json:
        print_json(export.history(data))
        return ExitCode.OK
    from console.cli.render import escape, out, table

    t = table(
        "date", "migration", "status", "executed by", "result", "notes", title="Migration history"
    )
    for m in data.migrations:
        t.add_row(
            str(m.date),
            escape(m.migration),
            m.status,
            escape(m.executed_by or "-"),
            escape(m.result or "-"),
            escape(m.notes),
        )
    out.print(t)
    if data.runs:
        t = table("started (UTC)", "migration", "action", "status", "duration", "by", title="Runs")
        for r in data.runs:
            t.add_row(
                f"{r.started_at:%Y-%m-%d %H:%M:%S}" if r.started_at else "-",
                escape(r.migration),
                r.action,
                r.status,
                duration(r.duration_s or 0.0),
                escape(r.executed_by),
            )
        out.print(t)
    done = actions(data)
    if done:
        t = table("when (UTC)", "what", "pid", "by", "migration", "session", title="Actions")
        for a in done:
            t.add_row(
                f"{a.at:%Y-%m-%d %H:%M:%S}" if a.at else "-",
                escape(a.what),
                "-" if a.pid is None else str(a.pid),
                escape(a.by or "-"),
                escape(a.migration or "-"),
                escape(a.detail or "-"),
            )
        out.print(t)
    return ExitCode.OK
