-- Whether this session's connection is encrypted, and with which TLS version.
SELECT s.ssl, s.version
  FROM pg_stat_ssl s
 WHERE s.pid = pg_backend_pid()
