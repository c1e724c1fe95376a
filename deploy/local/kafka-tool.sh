#!/usr/bin/env bash
# Kafka's command-line tools against the local broker, from the jars stack.sh collected (there is
# no Kafka distribution with bin/*.sh here). Examples:
#   deploy/local/kafka-tool.sh topics --list
#   deploy/local/kafka-tool.sh topics --describe --topic cdp.events
#   deploy/local/kafka-tool.sh consumer-groups --describe --all-groups
#   deploy/local/kafka-tool.sh console-consumer --topic cdp.events.dlq --from-beginning --max-messages 5
#   deploy/local/kafka-tool.sh get-offsets --topic cdp.events
# --bootstrap-server defaults to the first of KAFKA_BROKERS (127.0.0.1:9092).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LIBS=$REPO_ROOT/.stack/opt/kafka-libs
BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
case $1 in
  # In Kafka 3.9 these live in kafka-tools (org.apache.kafka.tools...), not kafka.admin.*.
  topics) main=org.apache.kafka.tools.TopicCommand ;;
  consumer-groups) main=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  console-consumer) main=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  console-producer) main=kafka.tools.ConsoleProducer ;;
  get-offsets) main=org.apache.kafka.tools.GetOffsetShell ;;
  *) usage ;;
esac
shift
[[ -d $LIBS ]] || { echo "no Kafka jars in ${LIBS#"$REPO_ROOT"/}: run ./deploy/local/stack.sh up first" >&2; exit 1; }

args=("$@")
[[ " $* " == *" --bootstrap-server "* ]] || args=(--bootstrap-server "${BROKERS%%,*}" "${args[@]}")
# WARN and up only, on stderr: the tools' own output stays clean for pipes.
log4j=$(mktemp)
trap 'rm -f "$log4j"' EXIT
printf '%s\n' 'log4j.rootLogger=WARN, stderr' 'log4j.appender.stderr=org.apache.log4j.ConsoleAppender' \
  'log4j.appender.stderr.Target=System.err' 'log4j.appender.stderr.layout=org.apache.log4j.PatternLayout' \
  'log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n' >"$log4j"
java -Xmx256m -XX:TieredStopAtLevel=1 "-Dlog4j.configuration=file:$log4j" -cp "$LIBS/*" "$main" "${args[@]}"
