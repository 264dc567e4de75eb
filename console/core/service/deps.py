"""The modules the service's parts stand on, imported when first used: the console draws
its first frame before it needs the SQL parser, the database driver or the history writer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.lazy import lazy

if TYPE_CHECKING:
    import asyncpg as pg

    from console.core import checklist, measure, migration_file, model, plan, status, waits
    from console.core import doctor as doctor
    from console.core import history as hist
    from console.core import verify as verify_
    from console.core.run import control, process, recovery, remote
    from console.db import activity, catalog
    from console.db import connect as db
else:
    checklist = lazy("console.core.checklist")
    measure = lazy("console.core.measure")
    waits = lazy("console.core.waits")
    doctor = lazy("console.core.doctor")
    hist = lazy("console.core.history")
    migration_file = lazy("console.core.migration_file")
    plan = lazy("console.core.plan")
    model = lazy("console.core.model")
    control = lazy("console.core.run.control")
    recovery = lazy("console.core.run.recovery")
    process = lazy("console.core.run.process")
    remote = lazy("console.core.run.remote")
    status = lazy("console.core.status")
    verify_ = lazy("console.core.verify")
    activity = lazy("console.db.activity")
    catalog = lazy("console.db.catalog")
    db = lazy("console.db.connect")
    pg = lazy("asyncpg")

__all__ = [
    "activity",
    "catalog",
    "checklist",
    "control",
    "db",
    "doctor",
    "hist",
    "measure",
    "migration_file",
    "model",
    "pg",
    "plan",
    "process",
    "recovery",
    "remote",
    "status",
    "verify_",
    "waits",
]
