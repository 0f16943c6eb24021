# Sourced by scripts/test: starts a throwaway PostgreSQL server for the records' PostgreSQL
# tests and exports HOTLINE_TEST_POSTGRES_URL; the server and its files are removed on exit.
# A server of your own can be named instead by setting HOTLINE_TEST_POSTGRES_URL before the
# test command runs (the tests make and leave databases named hotline_test_* on it).

start_test_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$bin" ]; then
    echo "PostgreSQL is not installed (Debian's postgresql package)" >&2
    return 1
  fi
  HOTLINE_PG_DIR=$(mktemp -d /tmp/hotline-pg.XXXXXX)
  HOTLINE_PG_AS=()
  if [ "$(id -u)" -eq 0 ]; then
    # initdb refuses to run as root: the package's postgres user owns the throwaway cluster.
    chown postgres "$HOTLINE_PG_DIR"
    HOTLINE_PG_AS=(runuser -u postgres --)
  fi
  "${HOTLINE_PG_AS[@]}" "$bin/initdb" -D "$HOTLINE_PG_DIR/data" -A trust -U hotline \
    -E UTF8 --locale=C.UTF-8 >"$HOTLINE_PG_DIR/initdb.log" 2>&1 \
    || { cat "$HOTLINE_PG_DIR/initdb.log" >&2; return 1; }
  local port
  for port in $(seq 55432 55532); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
  # Durability is not under test here (the SIGKILL tests cover SQLite); fsync off keeps the
  # many small databases quick to make.
  "${HOTLINE_PG_AS[@]}" "$bin/pg_ctl" -D "$HOTLINE_PG_DIR/data" -l "$HOTLINE_PG_DIR/server.log" -w \
    -o "-p $port -k $HOTLINE_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
    start >/dev/null || { cat "$HOTLINE_PG_DIR/server.log" >&2; return 1; }
  HOTLINE_PG_BIN=$bin
  trap stop_test_postgres EXIT
  export HOTLINE_TEST_POSTGRES_URL="postgres://hotline@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') for the tests at $HOTLINE_TEST_POSTGRES_URL"
}

stop_test_postgres() {
  if [ -n "${HOTLINE_PG_DIR:-}" ]; then
    "${HOTLINE_PG_AS[@]}" "$HOTLINE_PG_BIN/pg_ctl" -D "$HOTLINE_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$HOTLINE_PG_DIR"
  fi
}
