#!/usr/bin/env bash
# `make demo`: validate, plan and apply the example stacks against the embedded local emulator,
# then show that a second plan is empty, and (when Node is installed) let the official Heroku
# CLI read the result. Runs from the project root with the venv installed.
#
# It works on a copy of stacks/ in a temporary directory, so that your own `--local` state
# (.herokustack/local.sqlite in the project) is neither read nor changed: after the demo,
# `herokustack plan --local` still shows what would be created.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
hs=$root/.venv/bin/herokustack
py=$root/.venv/bin/python
heroku=$root/tests/heroku-cli/node_modules/.bin/heroku
work=$(mktemp -d "${TMPDIR:-/tmp}/herokustack-demo.XXXXXX")
emulator_pid=
cleanup() {
    if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
cp -R stacks "$work/stacks"
cd "$work"
data=.herokustack/local.sqlite

# The production and staging stacks read their Django secret from the environment: the same
# value the README uses, unless you exported your own.
export DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-dev-only-secret}"

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    step() { printf '\n== %s\n' "$*"; }
fi

step "herokustack validate"
$hs validate

step "herokustack plan --local   (demo state in a temporary directory, not your .herokustack/)"
$hs plan --local

step "herokustack apply --local --auto-approve"
$hs apply --local --auto-approve

step "herokustack plan --local --detailed-exitcode   (exit 0: nothing left to change)"
set +e
$hs plan --local --detailed-exitcode
code=$?
set -e
echo "exit code: $code"
if [ "$code" -ne 0 ]; then
    echo "demo: the plan after apply is not empty" >&2
    exit 1
fi

if [ ! -x "$heroku" ] || ! $hs emulator --help >/dev/null 2>&1; then
    echo
    echo "(the official heroku CLI is not installed: run 'make node' to see it read the result)"
    exit 0
fi

port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$hs emulator --data "$data" --port "$port" >/dev/null 2>&1 &
emulator_pid=$!
for _ in $(seq 50); do
    if $py -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
        break
    fi
    sleep 0.1
done

export HEROKU_HOST="http://127.0.0.1:$port" HEROKU_DATA_HOST=127.0.0.1 HEROKU_API_KEY=herokustack-local
for cmd in "apps:info" "ps" "pg:backups:schedules" "pg:settings"; do
    step "heroku $cmd -a acme-production   (the official CLI, against the same local state)"
    # shellcheck disable=SC2086
    $heroku $cmd -a acme-production
done
