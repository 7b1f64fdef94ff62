# Shared by the refresh scripts: `prepare VENV PROJECT_DIR ADAPTER_PACKAGE`
# makes (once) a virtualenv with dbt-core 1.11 and the adapter, copies the
# project into a temporary directory removed at exit, and enters the copy.
prepare() {
  local venv=$1 project=$2 adapter=$3
  if [ ! -x "$venv/bin/dbt" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "dbt-core>=1.11,<1.12" "$adapter"
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -r "$project" "$work/p"
  cd "$work/p"
  rm -rf target *.duckdb *.duckdb.wal
  export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=False
}
