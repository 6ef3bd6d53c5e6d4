#!/usr/bin/env bash
# The README's main command: installs what is missing, builds and installs the extension, and
# opens VS Code in the browser on a sample workspace with the shipped model (scripts/editor.sh).
# The terminal way to see batching at work: node dist/cli.js bench (or generate).
set -euo pipefail
exec bash "$(dirname "$0")/editor.sh" "$@"
