#!/usr/bin/env bash
# `make demo`: validate, plan and apply the example stacks against the embedded local emulator,
# then show that a second plan is empty. Runs from the project root with the venv installed.
set -euo pipefail
cd "$(dirname "$0")/.."
hs=.venv/bin/herokustack
$hs --help
