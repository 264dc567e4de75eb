-- The statement that drops an index concurrently, with its name quoted by the server.
SELECT format('DROP INDEX CONCURRENTLY IF EXISTS %s', $1::regclass)
