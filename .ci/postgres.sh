# Starts a throwaway PostgreSQL cluster on 127.0.0.1 and exports its URL as
# KILN_TEST_POSTGRES; the cluster is stopped and removed when the shell exits.
# Sourced by .ci/run.

pg_bin_dir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

start_postgres() {
  if [ -z "$(pg_bin_dir)" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y --no-install-recommends postgresql \
      || { apt-get update && apt-get install -y --no-install-recommends postgresql; }) >/dev/null 2>&1 || true
  fi
  local bin
  bin="$(pg_bin_dir)"
  if [ -z "$bin" ]; then
    echo "warning: PostgreSQL is not installed; its tests will not run" >&2
    return 0
  fi
  PG_DIR="$(mktemp -d /tmp/kiln-pg.XXXXXX)"
  # initdb refuses to run as root: the cluster belongs to the postgres user.
  local as=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$PG_DIR"
    as=(runuser -u postgres --)
  fi
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres -A trust >/dev/null
  # Trust on loopback, except one role that must give its password (the
  # wrong-password test connects as it).
  "${as[@]}" sh -c "printf '%s\n' \
    'local all all trust' \
    'host all kiln_password_user 127.0.0.1/32 scram-sha-256' \
    'host all all 127.0.0.1/32 trust' \
    'host all all ::1/128 trust' > '$PG_DIR/data/pg_hba.conf'"
  # TLS with a throwaway authority, for the sslmode tests.
  local ssl_opts=""
  if command -v openssl >/dev/null 2>&1; then
    (
      cd "$PG_DIR"
      openssl req -new -x509 -days 2 -nodes -subj "/CN=kiln test CA" -keyout ca.key -out ca.crt
      openssl req -new -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr
      printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > server.ext
      openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out server.crt
      chmod 600 server.key
      [ "$(id -u)" = 0 ] && chown postgres server.key server.crt
    ) >/dev/null 2>&1 && {
      ssl_opts="-c ssl=on -c ssl_cert_file=$PG_DIR/server.crt -c ssl_key_file=$PG_DIR/server.key"
      export KILN_TEST_POSTGRES_CA="$PG_DIR/ca.crt"
    }
  fi
  "${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 $ssl_opts" start >/dev/null
  PG_STOP=("${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -m fast stop)

  export KILN_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on $KILN_TEST_POSTGRES"
}

stop_postgres() {
  [ -n "${PG_DIR:-}" ] || return 0
  "${PG_STOP[@]}" >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
