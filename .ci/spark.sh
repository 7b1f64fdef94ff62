# Starts a Spark Connect server (PyPI's pyspark carries its jars; Java 17
# runs it) on 127.0.0.1 with a fresh warehouse, and exports its address as
# KILN_TEST_SPARK. Sourced by .ci/run; stop_spark stops it.

SPARK_VERSION=4.3.0
SPARK_VENV="$HOME/.cache/kiln-spark/venv"

start_spark() {
  if ! command -v java >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y --no-install-recommends openjdk-17-jre-headless \
      || { apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless; }) >/dev/null 2>&1 || true
  fi
  if ! command -v java >/dev/null 2>&1; then
    echo "warning: Java is not installed; the Spark tests will not run" >&2
    return 0
  fi
  if [ ! -x "$SPARK_VENV/bin/python" ] || ! "$SPARK_VENV/bin/pip" show pyspark 2>/dev/null | grep -q "^Version: $SPARK_VERSION$"; then
    python3 -m venv "$SPARK_VENV" && "$SPARK_VENV/bin/pip" install -q "pyspark==$SPARK_VERSION" >/dev/null 2>&1 \
      || { echo "warning: could not install pyspark $SPARK_VERSION; the Spark tests will not run" >&2; return 0; }
  fi
  export SPARK_HOME
  SPARK_HOME="$("$SPARK_VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
  SPARK_DIR="$(mktemp -d /tmp/kiln-spark.XXXXXX)"
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  SPARK_LOG_DIR="$SPARK_DIR/log" SPARK_PID_DIR="$SPARK_DIR" \
    "$SPARK_HOME/sbin/start-connect-server.sh" --master 'local[2]' \
    --conf spark.connect.grpc.binding.address=127.0.0.1 \
    --conf spark.connect.grpc.binding.port="$port" \
    --conf spark.ui.enabled=false \
    --conf spark.sql.warehouse.dir="$SPARK_DIR/warehouse" \
    --driver-java-options "-Dderby.system.home=$SPARK_DIR/derby" >/dev/null
  # The port opens once the server is ready (20-40 s here).
  local waited=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    sleep 1
    waited=$((waited + 1))
    if [ "$waited" -ge 180 ]; then
      echo "warning: the Spark Connect server did not open port $port; see $SPARK_DIR/log" >&2
      return 0
    fi
  done
  export KILN_TEST_SPARK="sc://127.0.0.1:$port"
  echo "Spark Connect $SPARK_VERSION on $KILN_TEST_SPARK (ready in ${waited}s)"
}

stop_spark() {
  if [ -n "${SPARK_DIR:-}" ]; then
    SPARK_PID_DIR="$SPARK_DIR" "$SPARK_HOME/sbin/stop-connect-server.sh" >/dev/null 2>&1 || true
    rm -rf "$SPARK_DIR"
  fi
}
