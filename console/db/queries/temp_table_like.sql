-- A temporary empty copy of a table's columns, to let the server normalise an
-- index definition for comparison. The identifier is quoted by the server.
SELECT format('CREATE TEMPORARY TABLE %I (LIKE %s) ON COMMIT DROP', $1::text, $2::regclass)
