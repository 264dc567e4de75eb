-- statement_timeout for the current transaction only (SET LOCAL), as a parameter.
SELECT set_config('statement_timeout', $1::text, true)
