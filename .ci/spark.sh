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
  port="$(free_port)"
  SPARK_LOG_DIR="$SPARK_DIR/log" SPARK_PID_DIR="$SPARK_DIR" \
    "$SPARK_HOME/sbin/start-connect-server.sh" --master 'local[2]' \
    --conf spark.connect.grpc.binding.address=127.0.0.1 \
    --conf spark.connect.grpc.binding.port="$port" \
    --conf spark.ui.enabled=false \
    --conf spark.sql.warehouse.dir="$SPARK_DIR/warehouse" \
    --driver-java-options "-Dderby.system.home=$SPARK_DIR/derby" >/dev/null
  # The port opens once the server is ready (20-40 s here).
  local waited
  waited="$(wait_port "$port")" || {
    echo "warning: the Spark Connect server did not open port $port; see $SPARK_DIR/log" >&2
    return 0
  }
  export KILN_TEST_SPARK="sc://127.0.0.1:$port"
  echo "Spark Connect $SPARK_VERSION on $KILN_TEST_SPARK (ready in ${waited}s)"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until something listens on 127.0.0.1:$1 (at most 180 s).
wait_port() {
  local waited=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    sleep 1
    waited=$((waited + 1))
    [ "$waited" -ge 180 ] && return 1
  done
  echo "$waited"
}

# The distributed path: a standalone master and one worker, and a second
# Connect server whose jobs run as tasks on that worker's executor. Exports
# KILN_TEST_SPARK_CLUSTER. Needs start_spark first (Java, pyspark).
start_spark_cluster() {
  [ -n "${KILN_TEST_SPARK:-}" ] || return 0
  SPARK_CLUSTER_DIR="$(mktemp -d /tmp/kiln-spark-cluster.XXXXXX)"
  local master_port web_port connect_port
  master_port="$(free_port)"
  web_port="$(free_port)"
  "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$master_port" --webui-port "$web_port" \
    > "$SPARK_CLUSTER_DIR/master.log" 2>&1 &
  echo $! > "$SPARK_CLUSTER_DIR/master.pid"
  wait_port "$master_port" >/dev/null || { echo "warning: the Spark master did not start" >&2; return 0; }
  "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
    --host 127.0.0.1 --cores 2 --memory 2g --webui-port 0 \
    --work-dir "$SPARK_CLUSTER_DIR/work" "spark://127.0.0.1:$master_port" \
    > "$SPARK_CLUSTER_DIR/worker.log" 2>&1 &
  echo $! > "$SPARK_CLUSTER_DIR/worker.pid"
  connect_port="$(free_port)"
  SPARK_LOG_DIR="$SPARK_CLUSTER_DIR/log" SPARK_PID_DIR="$SPARK_CLUSTER_DIR" \
    "$SPARK_HOME/sbin/start-connect-server.sh" --master "spark://127.0.0.1:$master_port" \
    --conf spark.connect.grpc.binding.address=127.0.0.1 \
    --conf spark.connect.grpc.binding.port="$connect_port" \
    --conf spark.ui.enabled=false \
    --conf spark.executor.memory=1g \
    --conf spark.driver.host=127.0.0.1 --conf spark.driver.bindAddress=127.0.0.1 \
    --conf spark.sql.warehouse.dir="$SPARK_CLUSTER_DIR/warehouse" \
    --driver-java-options "-Dderby.system.home=$SPARK_CLUSTER_DIR/derby" >/dev/null
  local waited
  waited="$(wait_port "$connect_port")" || { echo "warning: the cluster's Connect server did not start; see $SPARK_CLUSTER_DIR" >&2; return 0; }
  export KILN_TEST_SPARK_CLUSTER="sc://127.0.0.1:$connect_port"
  echo "Spark standalone cluster (master, one worker) behind $KILN_TEST_SPARK_CLUSTER (ready in ${waited}s)"
}

stop_spark() {
  if [ -n "${SPARK_DIR:-}" ]; then
    SPARK_PID_DIR="$SPARK_DIR" "$SPARK_HOME/sbin/stop-connect-server.sh" >/dev/null 2>&1 || true
    rm -rf "$SPARK_DIR"
  fi
  if [ -n "${SPARK_CLUSTER_DIR:-}" ]; then
    SPARK_PID_DIR="$SPARK_CLUSTER_DIR" "$SPARK_HOME/sbin/stop-connect-server.sh" >/dev/null 2>&1 || true
    for pid in worker master; do
      [ -f "$SPARK_CLUSTER_DIR/$pid.pid" ] && kill "$(cat "$SPARK_CLUSTER_DIR/$pid.pid")" 2>/dev/null || true
    done
    rm -rf "$SPARK_CLUSTER_DIR"
  fi
}
