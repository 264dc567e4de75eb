"""`migration-console blockers [MIGRATION | --pid PID] [--json]`: the lock tree around a
migration's session or any session, else every session that waits."""

from __future__ import annotations

from console.cli.context import Context
from console.cli.jsonout import print_json
from console.core.durations import duration
from console.errors import ExitCode
from console.glyphs import G


async def command(ctx: Context) -> int:
    from console.core import export, waits

    s = ctx.settings
    report = await waits.report_for(s, ctx.pid, ctx.migration)
    root = report.root_pid
    rows = report.sessions
    if ctx.json:
        print_json(export.blockers(s.display, report))
        return ExitCode.OK
    from console.cli.render import escape, out, table

    if ctx.migration and root is None:
        out.print(f"No running session of {escape(ctx.migration)} (it is not running now).")
    if not rows:
        out.print("No other non-idle sessions.")
        return ExitCode.OK
    depth = {n.session.pid: n.depth for n in report.tree}
    ordered = [n.session for n in report.tree] + [r for r in rows if r.pid not in depth]
    t = table("tree", "pid", "state", "age", "xact", "wait", "blocked by", "application", "query")
    for r in ordered:
        wait = f"{r.wait_event_type}:{r.wait_event}" if r.wait_event_type else "-"
        d = depth.get(r.pid)
        tree = (
            ""
            if d is None
            else (f"{G.root} root" if d == 0 else (f"{G.above}{-d}" if d < 0 else f"{G.below}{d}"))
        )
        t.add_row(
            tree,
            str(r.pid),
            r.state or "hidden",
            duration(r.age_s or 0.0),
            duration(r.xact_age_s) if r.xact_age_s is not None else "-",
            escape(wait),
            ", ".join(map(str, r.blocked_by)) or "-",
            escape(r.application_name or "-"),
            escape(" ".join(r.query.split())[:80]),
        )
    out.print(t)
    if report.reason:
        out.print(f"[bold]{escape(report.reason)}[/]")
    by_pid = {r.pid: r for r in rows}
    for r in rows:
        if r.blocked_by and r.pid != report.root_pid:
            out.print(
                f"[bold]pid {r.pid}[/] waits for "
                + ", ".join(
                    escape(waits.describe(by_pid[b]) if b in by_pid else f"pid {b} (not visible)")
                    for b in r.blocked_by
                )
            )
    return ExitCode.OK
