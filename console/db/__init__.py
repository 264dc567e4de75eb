"""All database access: connections with one job each, and SQL loaded by name from queries/."""
