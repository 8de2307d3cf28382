#!/usr/bin/env bash
# Incident response: one script for every way to run it.
#
#   ./deploy.sh local   set up, start the Firestore emulator, serve every function on
#                       http://127.0.0.1:${PORT:-8080}/<function>/ (and only /ingest/, /interactions/ and
#                       /status/ on http://127.0.0.1:${PUBLIC_PORT:-8081}/, for a tunnel) and run the cron runner
#   ./deploy.sh test    set up, start a private emulator, run the whole test suite (in parallel, one worker per
#                       core; --quick leaves out the tests marked slow)
#   ./deploy.sh bench   set up, start a private emulator, run tests/bench and print figures
#   ./deploy.sh alert SOURCE [ACTION] [--severity S] [--service NAME] [--env E] [--repeat N] [--replay] [--url URL]
#                       send a realistic sample alert to the running stack (shared/local/alert.py)
#   ./deploy.sh gcp plan|apply|smoke [--project P] [--region R]
#                       production on Google Cloud: plan prints every action and changes nothing; apply makes
#                       it so and can be run again safely; smoke checks that what was deployed works, one line a
#                       check (--url BASE: any running stack, the local one included) (deploy/)
#   ./deploy.sh lock [--upgrade]
#                       pin requirements.txt (and requirements-dev.txt) into requirements.lock (and
#                       requirements-dev.lock): exact versions with hashes, what the functions, tests and local install
#   ./deploy.sh doctor  check the team file, the environment, each configured channel and Firestore
#                       without alerting anyone (--send-test: one marked test message per channel)
#
# Needs: Python 3.11+, and the Google Cloud CLI with the Firestore emulator
# (gcloud emulators firestore; Java 11+). Everything else it installs into .venv, from the lock files.
set -uo pipefail
# a relative INCIDENT_CONFIG names a file where the caller stands, not in the repo
if [ -n "${INCIDENT_CONFIG:-}" ] && [ "${INCIDENT_CONFIG#/}" = "$INCIDENT_CONFIG" ]; then
  export INCIDENT_CONFIG="$(pwd)/$INCIDENT_CONFIG"
fi
cd "$(dirname "${BASH_SOURCE[0]}")" || exit 1
ROOT=$(pwd)
STATE="$ROOT/.local"
mkdir -p "$STATE"

say() { printf '%s\n' "$*" >&2; }
die() { say "deploy.sh: $*"; exit 1; }

# ---------------------------------------------------------------- processes we started
GROUPS_STARTED=()
cleanup() {
  trap - EXIT INT TERM
  local pid
  for pid in "${GROUPS_STARTED[@]+"${GROUPS_STARTED[@]}"}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${GROUPS_STARTED[@]+"${GROUPS_STARTED[@]}"}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${GROUPS_STARTED[@]+"${GROUPS_STARTED[@]}"}"; do kill -KILL -- "-$pid" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_group LOGFILE CMD...: run CMD in its own process group (so its children stop with it)
start_group() {
  local logfile=$1; shift
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  GROUPS_STARTED+=("$!")
  LAST_PID=$!
}

# ---------------------------------------------------------------- setup
find_python() {
  local c
  for c in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  return 1
}

make_venv() {
  if [ ! -x .venv/bin/python ]; then
    local py
    py=$(find_python) || die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)"
    say "== creating .venv with $($py --version)"
    "$py" -m venv .venv || die "could not create .venv (on Debian/Ubuntu: apt-get install python3-venv)"
  fi
}

# setup: .venv with exactly the locked versions (requirements-dev.lock holds requirements.lock's pins, which the
# functions ship, and the tools'), checked against their hashes
setup() {
  make_venv
  local want have=""
  want=$(cat requirements.lock requirements-dev.lock | sha256sum | cut -d' ' -f1)
  [ -f .venv/.requirements.sha256 ] && have=$(cat .venv/.requirements.sha256)
  if [ "$want" != "$have" ]; then
    say "== installing the locked requirements (requirements-dev.lock) into .venv"
    .venv/bin/python -m pip install --disable-pip-version-check -q --require-hashes -r requirements-dev.lock \
      || die "pip install failed"
    echo "$want" > .venv/.requirements.sha256
  fi
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
  export PYTHONDONTWRITEBYTECODE=1
}

# ./deploy.sh lock [--upgrade | --upgrade-package NAME]: requirements.lock from requirements.txt (what the functions
# ship) and requirements-dev.lock from requirements-dev.txt (the same pins, and the tools'), exact with hashes
cmd_lock() {
  make_venv
  .venv/bin/python -m piptools --version >/dev/null 2>&1 \
    || .venv/bin/python -m pip install --disable-pip-version-check -q pip-tools || die "could not install pip-tools"
  local opts=(--generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --quiet "$@")
  export CUSTOM_COMPILE_COMMAND="./deploy.sh lock"
  say "== requirements.lock (from requirements.txt)"
  .venv/bin/python -m piptools compile "${opts[@]}" -o requirements.lock requirements.txt || die "pip-compile failed"
  say "== requirements-dev.lock (from requirements-dev.txt, with requirements.lock's versions)"
  .venv/bin/python -m piptools compile "${opts[@]}" --constraint requirements.lock -o requirements-dev.lock \
    requirements-dev.txt || die "pip-compile failed"
}

free_port() {
  .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

emulator_ok() {
  .venv/bin/python - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(f"http://{sys.argv[1]}/", timeout=2).read().strip() == b"Ok" else 1)
except Exception:
    sys.exit(1)
PY
}

# start_emulator [own]: use FIRESTORE_EMULATOR_HOST if set (unless "own"), else start one on a free port
start_emulator() {
  if [ "${1:-}" != own ] && [ -n "${FIRESTORE_EMULATOR_HOST:-}" ]; then
    emulator_ok "$FIRESTORE_EMULATOR_HOST" || die "FIRESTORE_EMULATOR_HOST=$FIRESTORE_EMULATOR_HOST does not answer"
    say "== using the Firestore emulator at $FIRESTORE_EMULATOR_HOST"
    return
  fi
  command -v gcloud >/dev/null 2>&1 || die "the Google Cloud CLI is not installed; see README.md (Prerequisites):
  Debian/Ubuntu: apt-get install google-cloud-cli google-cloud-cli-firestore-emulator openjdk-17-jre-headless
  elsewhere:     https://cloud.google.com/sdk/docs/install, then: gcloud components install cloud-firestore-emulator"
  local port
  port=$(free_port)
  say "== starting the Firestore emulator on 127.0.0.1:$port"
  start_group "$STATE/firestore-emulator.log" gcloud emulators firestore start --host-port="127.0.0.1:$port" --quiet
  local pid=$LAST_PID
  for _ in $(seq 240); do
    emulator_ok "127.0.0.1:$port" && break
    kill -0 "$pid" 2>/dev/null || { tail -20 "$STATE/firestore-emulator.log" >&2; die "the Firestore emulator exited (is Java installed?)"; }
    sleep 0.25
  done
  emulator_ok "127.0.0.1:$port" || { tail -20 "$STATE/firestore-emulator.log" >&2; die "the Firestore emulator did not start in 60 s"; }
  export FIRESTORE_EMULATOR_HOST="127.0.0.1:$port"
}

# ---------------------------------------------------------------- commands
cmd_test() {
  setup
  say "== lint (ruff)"
  .venv/bin/ruff check . || die "lint found problems (ruff check . --fix mends most)"
  # the preview-page tests drive Debian's chromium (Playwright's own browser downloads are not used)
  if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "== installing Debian's chromium (and an emoji font) for the browser tests"
    { apt-get update -q && apt-get install -y -q chromium fonts-noto-color-emoji; } >/dev/null \
      || say "deploy.sh: apt-get install chromium failed"
  fi
  [ -x /usr/bin/chromium ] || say "!! BROWSER TESTS WILL BE SKIPPED: install Debian's chromium (apt-get install chromium)"
  start_emulator own
  export GOOGLE_CLOUD_PROJECT=demo-incidents-test
  # one worker more than the cores: a test spends part of its time waiting on the emulator (measured on 2 cores:
  # 2 workers 208 s, 3 workers 169 s, 4 workers 203 s with contention failures)
  local cores; cores=$(.venv/bin/python -c "import os; print(len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1)")
  local where=tests arg args=() parallel=(-n "${TEST_WORKERS:-$((cores + 1))}" --dist worksteal)
  # ./deploy.sh test tests/test_x.py runs that file alone; --quick leaves out what is marked slow; -k, -n and other
  # options go to pytest (-n 0 runs in one process)
  for arg in "$@"; do
    case "$arg" in
      --quick) args+=(-m "not slow") ;;
      -n|-n*|--numprocesses*) parallel=(); args+=("$arg") ;;
      *) [ -e "${arg%%::*}" ] && where=""; args+=("$arg") ;;
    esac
  done
  say "== running the test suite${args[*]+ ${args[*]}}"
  .venv/bin/python -m pytest $where -q -p no:cacheprovider ${parallel[@]+"${parallel[@]}"} ${args[@]+"${args[@]}"}
  local rc=$?
  [ "$rc" = 5 ] && { say "deploy.sh: pytest collected no tests"; rc=1; }
  return "$rc"
}

cmd_bench() {
  setup
  start_emulator own
  export GOOGLE_CLOUD_PROJECT=demo-incidents-bench
  .venv/bin/python -m tests.bench "$@"
}

cmd_local() {
  setup
  .venv/bin/python -m shared.local.team check || exit 1   # before anything starts: one line, no traceback
  start_emulator
  local port=${PORT:-8080}
  export PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:$port}  # the status page's links (behind a tunnel: its URL)
  export GOOGLE_CLOUD_PROJECT=${GOOGLE_CLOUD_PROJECT:-demo-incidents}
  export SENTRY_CLIENT_SECRET=${SENTRY_CLIENT_SECRET:-local-sentry-secret}
  export INGEST_TOKEN=${INGEST_TOKEN:-local-ingest-token}
  export API_TOKEN=${API_TOKEN:-local-api-token}
  # key=service: a local key for the team file's first service (shared/local/team.py routing-keys)
  export PAGERDUTY_ROUTING_KEYS=${PAGERDUTY_ROUTING_KEYS:-$(.venv/bin/python -m shared.local.team routing-keys)}
  export LOCAL_PREVIEW=1  # unconfigured channels print their messages readably here
  # ntfy needs no credentials (NTFY_URL defaults to the public https://ntfy.sh): locally its pages go to the preview
  # page, not to a public topic, unless NTFY_URL is set
  export NTFY_URL=${NTFY_URL-}
  local public_port=${PUBLIC_PORT:-8081}
  if ! .venv/bin/python -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', $port))" 2>/dev/null; then
    die "port $port is in use; run with PORT=<another port> ./deploy.sh local"
  fi
  if ! .venv/bin/python -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', $public_port))" 2>/dev/null; then
    die "port $public_port is in use; run with PUBLIC_PORT=<another port> ./deploy.sh local"
  fi
  start_group "$STATE/server.log" .venv/bin/python -u -m shared.local.server --port "$port" --public-port "$public_port"
  local server=$LAST_PID base="http://127.0.0.1:$port"
  for _ in $(seq 120); do
    .venv/bin/python -c "import urllib.request; urllib.request.urlopen('$base/ingest/', timeout=1)" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || { tail -30 "$STATE/server.log" >&2; die "the local server exited"; }
    sleep 0.25
  done
  if [ "${LOCAL_CRON:-on}" != off ]; then
    start_group "$STATE/cron.log" .venv/bin/python -u -m shared.local.cron --url "$base"
  fi
  cat <<INFO

Incident response is running locally.
$(.venv/bin/python -m shared.local.team summary | sed 's/^/  /')
  Functions       $base/   ($(ls functions | tr '\n' ' '))
  Public port     http://127.0.0.1:$public_port/   (only /ingest/, /interactions/, /status/: point a tunnel here)
  Firestore       $FIRESTORE_EMULATOR_HOST (emulator, project $GOOGLE_CLOUD_PROJECT)
  Cron runner     ${LOCAL_CRON:-on}   Logs: .local/server.log, .local/cron.log, .local/firestore-emulator.log

Paste into Sentry (Settings > Developer Settings > Custom Integration):
  Webhook URL     <public URL of this server>/ingest/sentry
  Client Secret   must equal SENTRY_CLIENT_SECRET (here: $SENTRY_CLIENT_SECRET)
  Webhooks        issue, error; alert rule action: this integration (event_alert, metric_alert)
Legacy Sentry WebHooks plugin:  <public URL>/ingest/sentry-legacy?token=$INGEST_TOKEN
Paste into UptimeRobot (Alert Contacts > Webhook, "Send as JSON"):
  URL to notify   <public URL>/ingest/uptimerobot?token=$INGEST_TOKEN
  POST value      {"monitorID":"*monitorID*","monitorURL":"*monitorURL*","monitorFriendlyName":"*monitorFriendlyName*","alertType":"*alertType*","alertTypeFriendlyName":"*alertTypeFriendlyName*","alertDetails":"*alertDetails*","alertDuration":"*alertDuration*","alertFriendlyDuration":"*alertFriendlyDuration*","alertDateTime":"*alertDateTime*","sslExpiryDaysLeft":"*sslExpiryDaysLeft*"}

Alertmanager:     <public URL>/ingest/alertmanager?token=$INGEST_TOKEN   (webhook_configs url)
Grafana:          <public URL>/ingest/grafana?token=$INGEST_TOKEN        (or HMAC with GRAFANA_WEBHOOK_SECRET)
PagerDuty v2:     <public URL>/ingest/pagerduty/v2/enqueue  (routing keys: PagerDuty keys above)
Send a sample:    PORT=$port ./deploy.sh alert sentry --severity critical   (every source and option: ./deploy.sh alert --help)

See incidents:    curl -H 'Authorization: Bearer $API_TOKEN' '$base/api/incidents?status=open'
Console:          $(.venv/bin/python -m shared.local.console_link "$base")
Notifications:    ${DISCORD_WEBHOOK_URL:+sent to Discord; }unconfigured channels are shown at $base/_local/notifications
Stop:             Ctrl-C
INFO
  setsid tail -n +1 -f "$STATE/server.log" </dev/null &
  GROUPS_STARTED+=("$!")
  wait "$server"
  die "the local server stopped; see .local/server.log"
}

case "${1:-}" in
  local) shift; cmd_local "$@" ;;
  test) shift; cmd_test "$@"; exit $? ;;
  lock) shift; cmd_lock "$@"; exit $? ;;
  bench) shift; cmd_bench "$@"; exit $? ;;
  doctor) shift; setup; .venv/bin/python -m shared.local.doctor "$@"; exit $? ;;
  discord-setup) shift; setup; .venv/bin/python -m shared.local.discord_setup "$@"; exit $? ;;
  alert) shift; setup; .venv/bin/python -m shared.local.alert "$@"; exit $? ;;
  gcp) shift; setup; .venv/bin/python -m deploy "$@"; exit $? ;;
  *) say "usage: ./deploy.sh local|test [--quick]|bench|lock [--upgrade]|doctor [--send-test]|discord-setup [--public-url URL]|alert SOURCE [ACTION] [--severity ...]|gcp plan|apply|smoke [--project P] [--url BASE]"; exit 2 ;;
esac
