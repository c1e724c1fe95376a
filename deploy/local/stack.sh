#!/usr/bin/env bash
# The local development stack, without Docker: PostgreSQL (the machine's, or Debian's package),
# Apache Kafka (single KRaft node, jars from Maven Central), Apicurio Registry 3 (its
# Confluent-compatible API, from its Maven Central distribution, storing in PostgreSQL), then the
# project's own services. Everything it creates lives under <repo>/.stack/ (data, logs, run, opt,
# conf); Maven's own cache (~/.m2) keeps the downloads across `clean`.
#
#   deploy/local/stack.sh up       install what is missing, start what is not running (idempotent)
#   deploy/local/stack.sh down     stop what `up` started, keep the data
#   deploy/local/stack.sh clean    down, then delete the local data (.stack/ and our databases)
#   deploy/local/stack.sh status   one line per component
#   deploy/local/stack.sh stop-services   stop the collector and processors only (make bench)
#   deploy/local/stack.sh test-tools      install what the tests need beyond the stack (make test)
#
# Configuration: the contract's environment variables (DATABASE_URL, KAFKA_BROKERS,
# SCHEMA_REGISTRY_URL, COLLECTOR_PORT, LOG_LEVEL) with the contract's defaults; they are exported
# to the services unchanged. Other knobs: APICURIO_VERSION, APICURIO_JAVA (a java binary >= 21).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
STACK_DIR=$REPO_ROOT/.stack
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$SCRIPT_DIR/lib.sh"
cd "$REPO_ROOT"

export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cdp}
export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}
export SCHEMA_REGISTRY_URL=${SCHEMA_REGISTRY_URL:-http://127.0.0.1:8081/apis/ccompat/v7}
export LOG_LEVEL=${LOG_LEVEL:-info}

# 3.3.x is the newest Apicurio Registry on Maven Central here; 3.0.15+ fixed PUT /config/{subject}
# for new subjects, and 3.3 is built for Java 21 (class file 65), so it needs a newer java than
# Debian 12's default 17.
APICURIO_VERSION=${APICURIO_VERSION:-3.3.3}
APICURIO_DB=apicurio
MAVEN_REPO=${MAVEN_REPO:-$HOME/.m2/repository}
KAFKA_POM=$SCRIPT_DIR/kafka/pom.xml
SERVICES_FILE=$SCRIPT_DIR/services.txt

KAFKA_LIBS=$STACK_DIR/opt/kafka-libs
KAFKA_CONF=$STACK_DIR/conf/kafka
KAFKA_DATA=$STACK_DIR/data/kafka
KAFKA_CLUSTER_ID_FILE=$STACK_DIR/data/kafka-cluster-id
APICURIO_HOME=$STACK_DIR/opt/apicurio-$APICURIO_VERSION
PG_OURS_FILE=$STACK_DIR/run/postgresql.ours
BUILD_STAMP=$STACK_DIR/run/build.stamp
DEV_WRITE_KEY_FILE=$STACK_DIR/dev-write-key
BUILD_WARNING=

# ---------------------------------------------------------------------------------------------
# Where things listen, derived from the contract's variables. A component whose host is not this
# machine is somebody else's: we check that it answers, we never start or stop it.

is_local_host() { [[ $1 == 127.0.0.1 || $1 == localhost || $1 == ::1 || $1 == "[::1]" ]]; }

parse_database_url() {
  # postgres[ql]://[user[:password]@]host[:port]/database[?params]  (no percent-decoding)
  local re='^postgres(ql)?://(([^:@/]+)(:([^@/]*))?@)?([^:/?]+)(:([0-9]+))?/([^?]+)'
  [[ $DATABASE_URL =~ $re ]] || die "DATABASE_URL is not postgres://user@host:port/db: $DATABASE_URL"
  PG_USER=${BASH_REMATCH[3]:-postgres}
  PG_PASSWORD=${BASH_REMATCH[5]:-}
  PG_HOST=${BASH_REMATCH[6]}
  PG_PORT=${BASH_REMATCH[8]:-5432}
  PG_DB=${BASH_REMATCH[9]}
}

parse_endpoints() {
  parse_database_url
  local first=${KAFKA_BROKERS%%,*}
  KAFKA_HOST=${first%:*}
  KAFKA_PORT=${first##*:}
  [[ $KAFKA_PORT =~ ^[0-9]+$ ]] || die "KAFKA_BROKERS is not host:port[,host:port...]: $KAFKA_BROKERS"
  # The KRaft controller listens on the next port (9093 by default); nothing outside uses it.
  KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))

  local re='^https?://([^:/]+)(:([0-9]+))?(/.*)?$'
  [[ $SCHEMA_REGISTRY_URL =~ $re ]] || die "SCHEMA_REGISTRY_URL is not http://host:port/...: $SCHEMA_REGISTRY_URL"
  REGISTRY_HOST=${BASH_REMATCH[1]}
  REGISTRY_PORT=${BASH_REMATCH[3]:-80}
  # Quarkus serves health and metrics on a separate management interface (build-time enabled in
  # Apicurio, default 0.0.0.0:9000). Keep it on loopback, next to the API and away from the
  # 9101-9110 range our processors use.
  REGISTRY_MGMT_PORT=$((REGISTRY_PORT + 1))
  REGISTRY_BASE=http://$REGISTRY_HOST:$REGISTRY_PORT
}

# ---------------------------------------------------------------------------------------------
# The summary table. `up` records one row per component as it goes; `status` builds it afresh.

ROWS=()
add_row() { ROWS+=("$(printf '%-16s %-26s %-8s %-26s %s' "$@")"); }
print_table() {
  printf '\n%-16s %-26s %-8s %-26s %s\n' COMPONENT STATE PID LISTENS LOG
  local r
  for r in "${ROWS[@]}"; do printf '%s\n' "$r"; done
}

# Fails if a port we are about to bind is taken by a process that is not ours: starting anyway
# would only produce a confusing "address in use" deep in a log, or a false "ready".
require_free_port() {
  local name=$1 host=$2 port=$3
  if port_open "$host" "$port"; then
    die "$name: port $host:$port is already in use by another process (see: ss -ltnp 'sport = :$port'); stop it or change the configuration"
  fi
}

# ---------------------------------------------------------------------------------------------
# Step 1: prerequisites

java_major() {
  "$1" -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit }'
}

java_at_least() { # java_at_least <java binary> <major>
  local m
  m=$(java_major "$1")
  [[ $m =~ ^[0-9]+$ ]] && ((m >= $2))
}

ensure_tool() { # ensure_tool <command> <debian package>
  if command -v "$1" >/dev/null; then
    info "$1: already installed"
  else
    apt_install "$2"
    command -v "$1" >/dev/null || die "$1 still missing after installing $2"
  fi
}

ensure_node_modules() {
  command -v node >/dev/null || die "node (>= 20) is required: install Node.js 20 first"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  ((major >= 20)) || die "node >= 20 is required, found $(node --version)"
  if [[ ! -f package.json ]]; then
    info "node_modules: no package.json yet, skipped"
  elif [[ ! -f package-lock.json ]]; then
    info "node_modules: no package-lock.json, running npm install"
    npm install --no-audit --no-fund
  elif [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    # npm ci writes node_modules/.package-lock.json, so this runs again only when the lock changes.
    info "node_modules: missing or older than package-lock.json, running npm ci"
    npm ci --no-audit --no-fund
  else
    info "node_modules: already installed"
  fi
}

ensure_prerequisites() {
  step "1/7 Prerequisites"
  ensure_node_modules
  if command -v java >/dev/null; then
    info "java: already installed ($(java_major java))"
  else
    apt_install openjdk-17-jre-headless
  fi
  ensure_tool mvn maven
  ensure_tool psql postgresql-client
  ensure_tool pg_isready postgresql-client
  ensure_tool curl curl
}

# ---------------------------------------------------------------------------------------------
# Step 2: PostgreSQL

psql_admin() { # psql as the DATABASE_URL user against the maintenance database, never prompting
  PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 psql -X -w -q -v ON_ERROR_STOP=1 \
    -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres "$@"
}

pg_accepting() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2; }

# The version of the Debian cluster "main" (e.g. 15), if there is one.
debian_pg_version() {
  local d
  for d in /etc/postgresql/*/main; do
    [[ -d $d ]] && basename "$(dirname "$d")"
  done | sort -n | tail -n 1
}

start_debian_postgres() {
  local ver
  ver=$(debian_pg_version)
  if [[ -z $ver ]]; then
    info "no PostgreSQL cluster on this machine: installing Debian's postgresql"
    apt_install postgresql
    ver=$(debian_pg_version)
    [[ -n $ver ]] || die "postgresql installed but no cluster found under /etc/postgresql"
  fi
  # The package may have started it already (where services are allowed to start).
  if ! pg_accepting; then
    info "starting Debian cluster $ver/main"
    # --skip-systemctl-redirect: run pg_ctl directly; there is no systemd in containers and CI.
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  fi
  mkdir -p "$STACK_DIR/run"
  printf '%s\n' "$ver" >"$PG_OURS_FILE"
  local i
  for ((i = 0; i < 60; i++)); do
    pg_accepting && return 0
    sleep 0.5
  done
  die "postgresql: cluster $ver/main started but $PG_HOST:$PG_PORT does not accept connections (log: /var/log/postgresql/postgresql-$ver-main.log)"
}

# LOCAL DEVELOPMENT ONLY: lets the DATABASE_URL user connect over TCP on loopback without a
# password ("trust"), as the contract's default DATABASE_URL has none. Only ever done to a Debian
# cluster on this machine, only when the connection fails otherwise.
ensure_pg_trust() {
  psql_admin -c 'select 1' >/dev/null 2>&1 && return 0
  local ver hba
  ver=$(debian_pg_version)
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  if ! is_local_host "$PG_HOST" || [[ -z $ver || ! -w $hba ]]; then
    die "postgresql: cannot connect as $PG_USER to $PG_HOST:$PG_PORT: $(psql_admin -c 'select 1' 2>&1 | head -n 1)"
  fi
  info "allowing $PG_USER to connect over loopback TCP without a password (local development only): $hba"
  # pg_hba.conf is read top to bottom, first match wins: put our lines first.
  local tmp
  tmp=$(mktemp)
  {
    printf '# Added by deploy/local/stack.sh: LOCAL DEVELOPMENT ONLY, never on a shared server.\n'
    printf 'host all %s 127.0.0.1/32 trust\n' "$PG_USER"
    printf 'host all %s ::1/128 trust\n' "$PG_USER"
    cat "$hba"
  } >"$tmp"
  cat "$tmp" >"$hba" # keep the file's owner and mode
  rm -f "$tmp"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
  sleep 0.5
  psql_admin -c 'select 1' >/dev/null || die "postgresql: still cannot connect as $PG_USER after allowing trust"
}

ensure_database() {
  local db=$1
  if [[ $(psql_admin -tAc "select 1 from pg_database where datname = '$db'") == 1 ]]; then
    info "database $db: already exists"
  else
    psql_admin -c "create database \"$db\""
    info "database $db: created"
  fi
}

ensure_postgres() {
  step "2/7 PostgreSQL ($PG_HOST:$PG_PORT)"
  local state
  if pg_accepting; then
    state="already running"
    [[ -f $PG_OURS_FILE ]] || state="already running (not ours)"
    info "$state"
  elif is_local_host "$PG_HOST"; then
    start_debian_postgres
    state=started
  else
    die "postgresql: $PG_HOST:$PG_PORT (from DATABASE_URL) does not accept connections"
  fi
  ensure_pg_trust
  ensure_database "$PG_DB"
  ensure_database "$APICURIO_DB"
  # Tables the processors churn (customers, order_state, consumer_offsets) rely on it; the outbox
  # relays vacuum their own queue table.
  if [[ $(psql_admin -Atc 'SHOW autovacuum' 2>/dev/null) == off ]]; then
    info "warning: autovacuum is off on this server; tables the pipeline updates bloat without it"
    info "         (turn it on: ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf();)"
  fi
  add_row postgresql "$state" - "$PG_HOST:$PG_PORT" "$(pg_log_hint)"
}

pg_log_hint() {
  local ver
  ver=$(debian_pg_version)
  if [[ -n $ver && -f /var/log/postgresql/postgresql-$ver-main.log ]]; then
    printf '%s' "/var/log/postgresql/postgresql-$ver-main.log"
  else
    printf -- '-'
  fi
}

# ---------------------------------------------------------------------------------------------
# Step 3: Kafka

# run_mvn <component> <maven args...>: Maven quietly, its output in .stack/logs/maven.log (even -q
# prints colour codes), shown only when it fails.
run_mvn() {
  local component=$1
  shift
  mkdir -p "$STACK_DIR/logs"
  # One knob for where Maven keeps artifacts: MAVEN_REPO (default ~/.m2/repository), which is
  # also where the registry archive is looked for.
  if ! mvn -q -B "-Dmaven.repo.local=$MAVEN_REPO" "$@" >"$STACK_DIR/logs/maven.log" 2>&1; then
    printf 'ERROR: %s: mvn %s failed (log: %s)\n' "$component" "$*" "$(rel "$STACK_DIR/logs/maven.log")" >&2
    tail -n 30 "$STACK_DIR/logs/maven.log" >&2
    exit 1
  fi
}

ensure_kafka_libs() {
  # The stamp is the POM's checksum: editing the POM (a version bump) re-collects the jars.
  local want have=""
  want=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)
  [[ -f $KAFKA_LIBS/.pom.sha256 ]] && have=$(<"$KAFKA_LIBS/.pom.sha256")
  if [[ $want == "$have" ]]; then
    info "kafka jars: already installed ($(rel "$KAFKA_LIBS"))"
    return 0
  fi
  info "kafka jars: collecting with Maven into $(rel "$KAFKA_LIBS") (first time downloads ~56 MB into ~/.m2)"
  rm -rf "$KAFKA_LIBS.tmp"
  run_mvn kafka -f "$KAFKA_POM" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_LIBS.tmp"
  printf '%s\n' "$want" >"$KAFKA_LIBS.tmp/.pom.sha256"
  rm -rf "$KAFKA_LIBS"
  mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
}

write_kafka_config() {
  mkdir -p "$KAFKA_CONF" "$KAFKA_DATA" "$STACK_DIR/logs"
  # Written at every start, so edits here apply at the next start. Absolute paths because
  # StorageTool reads this file too and takes no overrides.
  cat >"$KAFKA_CONF/server.properties" <<EOF
# Generated by deploy/local/stack.sh: edit that, not this.
# One node that is both broker and KRaft controller; local development only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA

# A single node can only keep one copy of anything.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# No 3 s wait before the first rebalance of a consumer group, and a single-partition offsets
# topic: consumer groups (and tests) get going at once.
group.initial.rebalance.delay.ms=0
offsets.topic.num.partitions=1

# Topics are created explicitly by the bootstrap (with their partitions); a typo in a topic name
# must fail, not create a new topic.
auto.create.topics.enable=false
num.partitions=6
log.retention.hours=168
log.segment.bytes=268435456
EOF
  # Everything to stdout, which the process helper appends to .stack/logs/kafka.log: one log,
  # rotated at each start. INFO, except the loggers that write several lines per partition
  # whenever a topic is created (tests create many): those only from WARN. Consumer-group
  # rebalances (kafka.coordinator.group) stay at INFO, they are what one looks for.
  cat >"$KAFKA_CONF/log4j.properties" <<'EOF'
# Generated by deploy/local/stack.sh: edit that, not this.
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.network.RequestChannel$=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.kafka.log=WARN
log4j.logger.kafka.cluster.Partition=WARN
log4j.logger.kafka.server.ReplicaFetcherManager=WARN
log4j.logger.kafka.server.ReplicaAlterLogDirsManager=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.org.apache.kafka.controller.ReplicationControlManager=WARN
EOF
}

kafka_java_cmd() { # common JVM settings (what bin/kafka-run-class.sh uses), then the arguments
  printf '%s\0' java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    "-Dlog4j.configuration=file:$KAFKA_CONF/log4j.properties" "-Dkafka.logs.dir=$STACK_DIR/logs" \
    -cp "$KAFKA_LIBS/*" "$@"
}

format_kafka_storage() {
  local -a cmd
  if [[ -f $KAFKA_DATA/meta.properties ]]; then
    info "kafka storage: already formatted"
    return 0
  fi
  # The cluster id is generated once and kept next to the data it belongs to.
  if [[ ! -s $KAFKA_CLUSTER_ID_FILE ]]; then
    mapfile -d '' -t cmd < <(kafka_java_cmd kafka.tools.StorageTool random-uuid)
    "${cmd[@]}" 2>/dev/null | tail -n 1 >"$KAFKA_CLUSTER_ID_FILE"
  fi
  info "kafka storage: formatting $(rel "$KAFKA_DATA") (cluster id $(<"$KAFKA_CLUSTER_ID_FILE"))"
  mapfile -d '' -t cmd < <(kafka_java_cmd kafka.tools.StorageTool format \
    -t "$(<"$KAFKA_CLUSTER_ID_FILE")" -c "$KAFKA_CONF/server.properties" --ignore-formatted)
  "${cmd[@]}" >"$STACK_DIR/logs/kafka-format.log" 2>&1 ||
    die "kafka: storage format failed (log: $(rel "$STACK_DIR/logs/kafka-format.log"))"
}

ensure_kafka() {
  step "3/7 Kafka ($KAFKA_HOST:$KAFKA_PORT)"
  if ! is_local_host "$KAFKA_HOST"; then
    port_open "$KAFKA_HOST" "$KAFKA_PORT" || die "kafka: $KAFKA_HOST:$KAFKA_PORT (from KAFKA_BROKERS) does not answer"
    info "external broker, answering"
    add_row kafka "external" - "$KAFKA_HOST:$KAFKA_PORT" -
    return 0
  fi
  local state pid
  local -a cmd
  if proc_running kafka; then
    state="already running"
    info "$state"
  else
    require_free_port kafka "$KAFKA_HOST" "$KAFKA_PORT"
    require_free_port kafka 127.0.0.1 "$KAFKA_CONTROLLER_PORT"
    ensure_kafka_libs
    write_kafka_config
    format_kafka_storage
    mapfile -d '' -t cmd < <(kafka_java_cmd kafka.Kafka "$KAFKA_CONF/server.properties")
    proc_start kafka "${cmd[@]}"
    state=started
    info "started, waiting for it to be ready"
  fi
  # Both: the port answers early, before the broker has caught up with the metadata log.
  wait_port kafka "$KAFKA_HOST" "$KAFKA_PORT" 90
  wait_log kafka "Kafka Server started" 90
  pid=$(proc_pid kafka)
  info "ready (pid $pid)"
  add_row kafka "$state" "$pid" "$KAFKA_HOST:$KAFKA_PORT" "$(rel "$(log_file kafka)")"
}

# ---------------------------------------------------------------------------------------------
# Step 4: schema registry (Apicurio Registry 3, Confluent-compatible API under /apis/ccompat/v7)

apicurio_min_java() { [[ $APICURIO_VERSION == 3.0.* ]] && echo 17 || echo 21; }

# A java binary new enough for the registry: APICURIO_JAVA, else JAVA_HOME, the default java, or
# any JDK under /usr/lib/jvm; else Debian's openjdk-21/25 where the release has one.
find_registry_java() {
  local min j pkg
  min=$(apicurio_min_java)
  for j in ${APICURIO_JAVA:-} ${JAVA_HOME:+$JAVA_HOME/bin/java} "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
    [[ -n $j && -x $j ]] || continue
    if java_at_least "$j" "$min"; then
      printf '%s' "$j"
      return 0
    fi
  done
  for pkg in openjdk-21-jre-headless openjdk-25-jre-headless; do
    [[ -n $APT_UPDATED ]] || { apt-get update -qq >/dev/null 2>&1 && APT_UPDATED=1; } || true
    if apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      apt_install "$pkg" >&2
      find_registry_java_installed "$min" && return 0
    fi
  done
  return 1
}

find_registry_java_installed() {
  local j
  for j in /usr/lib/jvm/*/bin/java; do
    if [[ -x $j ]] && java_at_least "$j" "$1"; then
      printf '%s' "$j"
      return 0
    fi
  done
  return 1
}

# The runnable jar: quarkus-run.jar (fast-jar layout, 3.1+) or *-runner.jar (3.0.x).
apicurio_jar() {
  local j
  for j in "$APICURIO_HOME/quarkus-run.jar" "$APICURIO_HOME"/*-runner.jar; do
    [[ -f $j ]] && { printf '%s' "$j"; return 0; }
  done
  return 1
}

ensure_apicurio_installed() {
  if apicurio_jar >/dev/null; then
    info "apicurio $APICURIO_VERSION: already installed ($(rel "$APICURIO_HOME"))"
    return 0
  fi
  local tgz=$MAVEN_REPO/io/apicurio/apicurio-registry-app/$APICURIO_VERSION/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz
  if [[ ! -f $tgz ]]; then
    info "apicurio $APICURIO_VERSION: downloading with Maven (~160 MB, once, into ~/.m2)"
    # -Dtransitive=false: only the archive. Its parent POM (io.apicurio:apicurio-registry) is not
    # on Maven Central, so resolving the artifact's POM fails otherwise.
    run_mvn schema-registry dependency:get -Dtransitive=false \
      "-Dartifact=io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all"
  fi
  info "apicurio $APICURIO_VERSION: unpacking into $(rel "$APICURIO_HOME")"
  local tmp=$APICURIO_HOME.tmp jar
  rm -rf "$tmp"
  mkdir -p "$tmp"
  tar -xzf "$tgz" -C "$tmp"
  # Where the runnable jar sits inside the archive differs between 3.x versions.
  jar=$(find "$tmp" \( -name quarkus-run.jar -o -name '*-runner.jar' \) -print -quit)
  [[ -n $jar ]] || die "schema-registry: no quarkus-run.jar or *-runner.jar in $tgz"
  rm -rf "$APICURIO_HOME"
  mv "$(dirname "$jar")" "$APICURIO_HOME"
  rm -rf "$tmp"
}

start_registry() {
  local java=$1 jar
  jar=$(apicurio_jar)
  local args=(
    "$java" -Xms128m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true
    -Djava.io.tmpdir="$STACK_DIR/tmp"
    "-Dquarkus.http.host=$REGISTRY_HOST" "-Dquarkus.http.port=$REGISTRY_PORT"
    -Dquarkus.management.host=127.0.0.1 "-Dquarkus.management.port=$REGISTRY_MGMT_PORT"
    # Storage in PostgreSQL, database "apicurio": schema ids survive restarts (the in-memory H2
    # default renumbers them, and records in Kafka carry the old ids).
    -Dapicurio.storage.kind=sql
    -Dapicurio.storage.sql.kind=postgresql
    "-Dapicurio.datasource.url=jdbc:postgresql://$PG_HOST:$PG_PORT/$APICURIO_DB"
    "-Dapicurio.datasource.username=$PG_USER"
    # Apicurio's default pool keeps 20 connections open; a laptop database needs far fewer.
    -Dapicurio.datasource.jdbc.initial-size=2
    -Dapicurio.datasource.jdbc.min-size=2
    -Dapicurio.datasource.jdbc.max-size=20
    # Subjects default to BACKWARD, like Confluent's registry.
    -Dapicurio.rules.global.compatibility=BACKWARD
    -Dapicurio.storage.snapshot.location="$STACK_DIR/tmp"
    -Dapicurio.import.work-dir="$STACK_DIR/tmp"
    # Apicurio's own format pattern prints "2026-11+00-25" for the date.
    "-Dquarkus.log.console.format=%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c{3.}] (%t) %s%e%n"
  )
  args+=(-jar "$jar")
  mkdir -p "$STACK_DIR/tmp"
  # Run from its own folder. The password (if DATABASE_URL has one) goes in the environment
  # (Quarkus maps APICURIO_DATASOURCE_PASSWORD to apicurio.datasource.password), not on the
  # command line, where `ps` and the log's first lines would show it.
  (
    cd "$APICURIO_HOME"
    if [[ -n $PG_PASSWORD ]]; then export APICURIO_DATASOURCE_PASSWORD=$PG_PASSWORD; fi
    proc_start schema-registry "${args[@]}"
  )
}

ensure_registry() {
  step "4/7 Schema registry (Apicurio Registry $APICURIO_VERSION, $REGISTRY_BASE)"
  if ! is_local_host "$REGISTRY_HOST"; then
    http_ok "$SCHEMA_REGISTRY_URL/subjects" || die "schema-registry: $SCHEMA_REGISTRY_URL does not answer"
    info "external registry, answering"
    add_row schema-registry external - "$REGISTRY_HOST:$REGISTRY_PORT" -
    return 0
  fi
  local state pid java
  if proc_running schema-registry; then
    state="already running"
    info "$state"
  else
    require_free_port schema-registry "$REGISTRY_HOST" "$REGISTRY_PORT"
    require_free_port schema-registry 127.0.0.1 "$REGISTRY_MGMT_PORT"
    java=$(find_registry_java) ||
      die "schema-registry: Apicurio Registry $APICURIO_VERSION needs Java >= $(apicurio_min_java) and none was found or installable; set APICURIO_JAVA=/path/to/bin/java"
    info "java: $java ($(java_major "$java"))"
    ensure_apicurio_installed
    start_registry "$java"
    state=started
    info "started, waiting for it to be ready"
  fi
  wait_http schema-registry "http://127.0.0.1:$REGISTRY_MGMT_PORT/health/ready" 120
  # Ready means storage is up; the ccompat API answering is what our clients need.
  wait_http schema-registry "$SCHEMA_REGISTRY_URL/config" 30
  local compat
  compat=$(curl -fsS "$SCHEMA_REGISTRY_URL/config" | sed -n 's/.*"compatibilityLevel" *: *"\([A-Z_]*\)".*/\1/p')
  [[ $compat == BACKWARD ]] || warn "schema-registry: global compatibility is '$compat', expected BACKWARD"
  pid=$(proc_pid schema-registry)
  info "ready (pid $pid, global compatibility $compat, storage: PostgreSQL database $APICURIO_DB)"
  add_row schema-registry "$state" "$pid" "$REGISTRY_HOST:$REGISTRY_PORT (+$REGISTRY_MGMT_PORT)" "$(rel "$(log_file schema-registry)")"
}

# ---------------------------------------------------------------------------------------------
# Step 5: build and bootstrap (the TypeScript side; skipped while it does not exist yet)

has_npm_script() {
  [[ -f package.json ]] && node -e 'process.exit(require("./package.json").scripts?.[process.argv[1]] ? 0 : 1)' "$1"
}

# Fresh when a build succeeded and no source, config or lock file changed since.
build_is_fresh() {
  [[ -f $BUILD_STAMP && -d dist ]] || return 1
  local changed
  changed=$(find services bench schemas tsconfig*.json package.json package-lock.json \
    -newer "$BUILD_STAMP" -print -quit 2>/dev/null || true)
  [[ -z $changed ]]
}

build_and_bootstrap() {
  step "5/7 Build and bootstrap"
  if ! has_npm_script build; then
    info "build: no \"build\" script in package.json yet, skipped"
  elif build_is_fresh; then
    info "build: already built (nothing changed since the last build)"
  else
    info "build: npm run build"
    mkdir -p "$STACK_DIR/run" "$STACK_DIR/logs"
    local rc=0 log=$STACK_DIR/logs/build.log
    npm run --silent build >"$log" 2>&1 || rc=$?
    if ((rc == 0)); then
      touch "$BUILD_STAMP"
    elif ((rc == 2)) && [[ -z ${STACK_STRICT_BUILD:-} ]]; then
      # tsc's exit code 2: type errors, but the JavaScript was emitted. One half-finished file
      # somewhere should not keep everybody's stack down, so say it loudly and go on; the stamp
      # stays old, so the next `up` builds again. `make test` sets STACK_STRICT_BUILD=1.
      BUILD_WARNING="npm run build reported type errors (JavaScript still emitted): see $(rel "$log")"
      warn "$BUILD_WARNING; the first ones:"
      grep -m 5 'error TS' "$log" | cut -c1-200 | sed 's/^/      /' >&2 || true
    else
      fail_component build "npm run build failed (exit $rc)"
    fi
  fi

  local entry=dist/services/tools/src/bootstrap.js log
  log=$(log_file bootstrap)
  if [[ ! -f $entry ]]; then
    info "bootstrap: $entry does not exist yet, skipped"
    return 0
  fi
  # Every time: it is idempotent (migrations, topics, schemas, dev source) and is what makes a
  # changed migration or schema take effect.
  info "bootstrap: node $entry"
  mkdir -p "$STACK_DIR/logs"
  if ! node "$entry" >"$log" 2>&1; then
    fail_component bootstrap "node $entry failed"
  fi
  info "bootstrap: done (log: $(rel "$log"))"
}

# ---------------------------------------------------------------------------------------------
# Step 6: the project's services, from services.txt: "<name> <port> <entry js>" per line

read_services() {
  SERVICES=()
  local line
  [[ -f $SERVICES_FILE ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%%#*}
    [[ $line =~ [^[:space:]] ]] || continue
    SERVICES+=("$line")
  done <"$SERVICES_FILE"
}

# service_port <name> <port from services.txt>: <NAME>_PORT from the environment wins (collector ->
# COLLECTOR_PORT, event-sink -> EVENT_SINK_PORT), as it does in the service's own configuration.
service_port() {
  local var
  var=$(tr 'a-z-' 'A-Z_' <<<"$1")_PORT
  printf '%s' "${!var:-$2}"
}

start_services() {
  step "6/7 Services ($(rel "$SERVICES_FILE"))"
  read_services
  local svc name port entry pid waiting=()
  declare -gA SVC_STATE=()
  for svc in "${SERVICES[@]}"; do
    read -r name port entry _ <<<"$svc"
    port=$(service_port "$name" "$port")
    if proc_running "$name"; then
      SVC_STATE[$name]="already running"
      info "$name: already running"
    elif [[ ! -f $entry ]]; then
      SVC_STATE[$name]="not built"
      info "$name: $entry does not exist yet, skipped"
      continue
    else
      require_free_port "$name" 127.0.0.1 "$port"
      proc_start "$name" node "$REPO_ROOT/$entry"
      SVC_STATE[$name]=started
      info "$name: started"
    fi
    waiting+=("$name $port")
  done
  for svc in "${waiting[@]}"; do
    read -r name port <<<"$svc"
    wait_http "$name" "http://127.0.0.1:$port/healthz" 30
    info "$name: healthy at http://127.0.0.1:$port/healthz"
  done
  for svc in "${SERVICES[@]}"; do
    read -r name port entry _ <<<"$svc"
    port=$(service_port "$name" "$port")
    pid=$(proc_pid "$name" || echo -)
    add_row "$name" "${SVC_STATE[$name]}" "$pid" "127.0.0.1:$port" "$(rel "$(log_file "$name")")"
  done
}

# ---------------------------------------------------------------------------------------------
# Step 7: summary

print_dev_write_key() {
  if [[ -s $DEV_WRITE_KEY_FILE ]]; then
    printf '\nDevelopment write key (%s): %s\n' "$(rel "$DEV_WRITE_KEY_FILE")" "$(<"$DEV_WRITE_KEY_FILE")"
  else
    printf '\nNo development write key yet (%s is written by the bootstrap).\n' "$(rel "$DEV_WRITE_KEY_FILE")"
  fi
}

# ---------------------------------------------------------------------------------------------
# Commands

# One `up`/`down`/`clean` at a time: two concurrent runs would both see "not running" and start
# a second Kafka on the same data.
take_lock() {
  mkdir -p "$STACK_DIR/run"
  # bash picks a free descriptor and stores it in STACK_LOCK_FD; proc_start closes it in children.
  exec {STACK_LOCK_FD}>"$STACK_DIR/run/stack.lock"
  if ! flock -n "$STACK_LOCK_FD"; then
    say "Waiting for another deploy/local/stack.sh to finish ..."
    flock -w 600 "$STACK_LOCK_FD" || die "another stack.sh still holds $(rel "$STACK_DIR/run/stack.lock") after 10 minutes"
  fi
}

cmd_up() {
  local t0=$SECONDS
  parse_endpoints
  take_lock
  ensure_prerequisites
  ensure_postgres
  ensure_kafka
  ensure_registry
  build_and_bootstrap
  start_services
  step "7/7 Summary (took $((SECONDS - t0))s)"
  print_table
  print_dev_write_key
  if [[ -n $BUILD_WARNING ]]; then printf '\nWARNING: %s\n' "$BUILD_WARNING" >&2; fi
}

stop_one() {
  if proc_stop "$1" "${2:-20}"; then info "$1: stopped"; else info "$1: not running"; fi
}

# Stops everything we started; PostgreSQL too unless told to keep it (clean needs it a bit longer).
stop_all() {
  local keep_pg=${1:-}
  read_services
  local i name pidf
  # Services first (they would only log errors once Kafka is gone), newest line first.
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    read -r name _ <<<"${SERVICES[i]}"
    stop_one "$name"
  done
  # Anything else with a pid file that is not infrastructure (say, a service since removed from
  # services.txt).
  for pidf in "$STACK_DIR"/run/*.pid; do
    [[ -e $pidf ]] || continue
    name=$(basename "$pidf" .pid)
    [[ $name == kafka || $name == schema-registry ]] && continue
    stop_one "$name"
  done
  stop_one schema-registry
  # Kafka's controlled shutdown can take a while with many partitions: give it longer.
  stop_one kafka 30
  [[ -z $keep_pg ]] && stop_postgres_if_ours
  return 0
}

stop_postgres_if_ours() {
  [[ -f $PG_OURS_FILE ]] || return 0
  local ver
  ver=$(<"$PG_OURS_FILE")
  info "postgresql: stopping Debian cluster $ver/main (started by stack.sh)"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main stop || warn "pg_ctlcluster $ver main stop failed"
  rm -f "$PG_OURS_FILE"
}

cmd_down() {
  parse_endpoints
  take_lock
  step "Stopping the local stack (data kept in $(rel "$STACK_DIR"))"
  stop_all
}

cmd_clean() {
  parse_endpoints
  take_lock
  step "Stopping the local stack"
  stop_all keep-postgres
  step "Deleting local data"
  # The databases go with Kafka's data: consumer positions kept in PostgreSQL would point past the
  # end of the new, empty topics, and registry ids would not match anything. Only on this machine.
  if is_local_host "$PG_HOST" && pg_accepting && psql_admin -c 'select 1' >/dev/null 2>&1; then
    local db
    for db in "$PG_DB" "$APICURIO_DB"; do
      psql_admin -c "drop database if exists \"$db\" with (force)"
      info "database $db: dropped"
    done
  else
    info "databases: PostgreSQL at $PG_HOST:$PG_PORT not reachable or not local, left alone"
  fi
  stop_postgres_if_ours
  rm -rf "$STACK_DIR"
  info "$(rel "$STACK_DIR")/: deleted (Maven's cache ~/.m2 kept)"
}

cmd_status() {
  parse_endpoints
  local name port entry svc pid state
  if pg_accepting; then state=running; else state=down; fi
  [[ -f $PG_OURS_FILE && $state == running ]] && state="running (ours)"
  add_row postgresql "$state" - "$PG_HOST:$PG_PORT" "$(pg_log_hint)"
  for name in kafka schema-registry; do
    if pid=$(proc_pid "$name"); then state=running; else state=stopped pid=-; fi
    case $name in
      kafka) port="$KAFKA_HOST:$KAFKA_PORT" ;;
      schema-registry) port="$REGISTRY_HOST:$REGISTRY_PORT (+$REGISTRY_MGMT_PORT)" ;;
    esac
    add_row "$name" "$state" "$pid" "$port" "$(rel "$(log_file "$name")")"
  done
  read_services
  for svc in "${SERVICES[@]}"; do
    read -r name port entry _ <<<"$svc"
    port=$(service_port "$name" "$port")
    if pid=$(proc_pid "$name"); then
      state=running
      http_ok "http://127.0.0.1:$port/healthz" || state="running, unhealthy"
    elif [[ -f $entry ]]; then state=stopped pid=-; else state="not built" pid=-; fi
    add_row "$name" "$state" "$pid" "127.0.0.1:$port" "$(rel "$(log_file "$name")")"
  done
  print_table
  [[ -s $DEV_WRITE_KEY_FILE ]] && print_dev_write_key
  return 0
}

usage() {
  sed -n '/^#   deploy/p' "${BASH_SOURCE[0]}" | sed 's/^#   /  /'
}

# Stops only the project's services (collector, processors), keeping the infrastructure: for
# `make bench`, whose own processes must not compete with them.
cmd_stop_services() {
  take_lock
  read_services
  local i name
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    read -r name _ <<<"${SERVICES[i]}"
    stop_one "$name"
  done
}

# The browser tests drive the real SDKs in Debian's Chromium (playwright-core cannot download a
# browser here); nothing else needs it, so `up` does not install it.
cmd_test_tools() {
  step "Test tools"
  ensure_tool chromium chromium
}

main() {
  case ${1:-} in
    up) cmd_up ;;
    test-tools) cmd_test_tools ;;
    stop-services) cmd_stop_services ;;
    down) cmd_down ;;
    clean) cmd_clean ;;
    status) cmd_status ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

# Run only when executed, so a test can source this file and call one step.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
