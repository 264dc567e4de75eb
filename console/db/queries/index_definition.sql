SELECT pg_get_indexdef(to_regclass($1)) AS definition
