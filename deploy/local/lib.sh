# shellcheck shell=bash
# Generic helpers for deploy/local/stack.sh: messages, background processes with pid and log
# files, and waiting for a process to become ready. Nothing here knows about Kafka or PostgreSQL.
#
# The caller sets STACK_DIR (the .stack folder) before using the process helpers. Layout:
#   $STACK_DIR/run/<name>.pid     the pid of a process we started
#   $STACK_DIR/run/<name>.start   its start time (from /proc), so a recycled pid is not mistaken for it
#   $STACK_DIR/logs/<name>.log    its stdout and stderr; the previous run's log is kept as <name>.log.1

# ---------------------------------------------------------------------------------------------
# Messages

say() { printf '%s\n' "$*"; }
step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '    WARNING: %s\n' "$*" >&2; }
die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# Paths shown to people are relative to the repo root when possible: shorter and copy-pasteable.
rel() {
  local p=$1
  if [[ -n ${REPO_ROOT:-} && $p == "$REPO_ROOT"/* ]]; then p=${p#"$REPO_ROOT"/}; fi
  printf '%s' "$p"
}

# ---------------------------------------------------------------------------------------------
# Processes

# The file descriptor of stack.sh's lock (take_lock there opens it and sets this); background
# processes must not inherit it. Closing an fd that is not open is harmless.
STACK_LOCK_FD=${STACK_LOCK_FD:-9}

pid_file() { printf '%s/run/%s.pid' "$STACK_DIR" "$1"; }
start_file() { printf '%s/run/%s.start' "$STACK_DIR" "$1"; }
log_file() { printf '%s/logs/%s.log' "$STACK_DIR" "$1"; }

# /proc/<pid>/stat without its first two fields (pid and command name; the name may contain
# spaces, so cut up to its closing parenthesis). Field 3 of the full line (the state) is then
# field 1, and field 22 (start time in clock ticks since boot) is field 20.
_proc_stat_tail() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  printf '%s' "${stat##*) }"
}

proc_start_time() {
  local tail
  tail=$(_proc_stat_tail "$1") || return 1
  awk '{ print $20 }' <<<"$tail"
}

# Prints the pid of process <name> if it is alive (and is the one we started); fails otherwise.
proc_pid() {
  local name=$1 pidf startf pid tail state recorded
  pidf=$(pid_file "$name")
  startf=$(start_file "$name")
  [[ -f $pidf ]] || return 1
  pid=$(<"$pidf")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  tail=$(_proc_stat_tail "$pid") || return 1
  read -r state _ <<<"$tail"
  # A zombie (exited, not yet reaped) is dead for our purposes.
  [[ $state != Z ]] || return 1
  if [[ -f $startf ]]; then
    recorded=$(<"$startf")
    [[ $recorded == "$(awk '{ print $20 }' <<<"$tail")" ]] || return 1
  fi
  printf '%s' "$pid"
}

proc_running() { proc_pid "$1" >/dev/null; }

# proc_start <name> <command> [args...]
# Starts the command in the background in its own session (so a Ctrl-C in the terminal that ran
# `make up` does not reach it), with stdin closed and stdout+stderr appended to its log. The
# environment is passed through unchanged.
proc_start() {
  local name=$1
  shift
  local log pid
  mkdir -p "$STACK_DIR/run" "$STACK_DIR/logs"
  log=$(log_file "$name")
  # Keep one previous log: enough to see why the last run died, and readiness checks that look
  # for a log line never match a line from an earlier run.
  if [[ -s $log ]]; then mv -f "$log" "$log.1"; fi
  {
    printf '=== %s: starting %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name"
    printf '=== command: %s\n' "$*"
  } >"$log"
  # In a script (no job control) the background child is not a process-group leader, so setsid
  # calls setsid() and execs in place: $! is the pid of the real process.
  # The lock stack.sh holds while it works is on fd $STACK_LOCK_FD: a child that inherited it
  # would hold the lock for as long as it runs, so close it.
  setsid "$@" </dev/null >>"$log" 2>&1 {STACK_LOCK_FD}>&- &
  pid=$!
  printf '%s\n' "$pid" >"$(pid_file "$name")"
  # /proc/<pid>/stat exists as soon as fork returned; record the start time to guard against pid reuse.
  proc_start_time "$pid" >"$(start_file "$name")" 2>/dev/null || rm -f "$(start_file "$name")"
}

# proc_stop <name> [grace seconds, default 20]
# SIGTERM, wait up to the grace period for a clean shutdown, then SIGKILL. The signals go to the
# process group (proc_start made the process its leader), so helpers it forked go too. Returns 1
# if it was not running.
proc_stop() {
  local name=$1 grace=${2:-20} pid i
  if ! pid=$(proc_pid "$name"); then
    rm -f "$(pid_file "$name")" "$(start_file "$name")"
    return 1
  fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    proc_running "$name" || break
    sleep 0.1
  done
  if proc_running "$name"; then
    warn "$name (pid $pid) did not stop within ${grace}s after SIGTERM; sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      proc_running "$name" || break
      sleep 0.1
    done
  fi
  rm -f "$(pid_file "$name")" "$(start_file "$name")"
  return 0
}

# ---------------------------------------------------------------------------------------------
# Waiting for readiness. Each takes the component name first, polls every 0.5 s, gives up early
# if the component's process died, and on failure calls fail_component (which exits).

# fail_component <name> <what went wrong>: one line naming the component and its log, then the
# last 30 lines of that log, then exit 1.
fail_component() {
  local name=$1 msg=$2 log
  log=$(log_file "$name")
  printf 'ERROR: %s: %s (log: %s)\n' "$name" "$msg" "$(rel "$log")" >&2
  if [[ -f $log ]]; then
    printf -- '--- last 30 lines of %s ---\n' "$(rel "$log")" >&2
    tail -n 30 "$log" >&2
    printf -- '---\n' >&2
  fi
  exit 1
}

# _wait_until <name> <timeout s> <description> <command...>: runs the command until it succeeds.
_wait_until() {
  local name=$1 timeout=$2 what=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  while ! "$@" >/dev/null 2>&1; do
    # Only components we started have a pid file; for those, a dead process will never get ready.
    if [[ -f $(pid_file "$name") ]] && ! proc_running "$name"; then
      fail_component "$name" "process exited while waiting for $what"
    fi
    if ((SECONDS >= deadline)); then
      fail_component "$name" "not ready after ${timeout}s: $what"
    fi
    sleep 0.5
  done
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

port_open() {
  # bash's /dev/tcp: no extra tool needed. The subshell closes the socket again.
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

log_has() { grep -qF -- "$2" "$(log_file "$1")"; }

# wait_http <name> <url> <timeout s>: until the URL answers 2xx.
wait_http() { _wait_until "$1" "$3" "HTTP $2" http_ok "$2"; }

# wait_port <name> <host> <port> <timeout s>: until a TCP connect succeeds.
wait_port() { _wait_until "$1" "$4" "TCP $2:$3" port_open "$2" "$3"; }

# wait_log <name> <fixed string> <timeout s>: until the component's log contains the string.
wait_log() { _wait_until "$1" "$3" "log line '$2'" log_has "$1" "$2"; }

# ---------------------------------------------------------------------------------------------
# Packages

# apt_install <package...>: installs Debian packages, running `apt-get update` once per script
# run and only when something actually has to be installed.
APT_UPDATED=${APT_UPDATED:-}
apt_install() {
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "need root (or sudo) to install: $*"
    sudo=(sudo)
  fi
  if [[ -z $APT_UPDATED ]]; then
    info "apt-get update"
    "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  info "apt-get install -y $*"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    die "apt-get install $* failed"
}
