# Sourced by the set-up scripts: named, timed steps whose failure says which step, where its log
# is and what to do. The caller sets TAG (the prefix of every line, e.g. "setup").
#   step NAME LOG HINT CMD...   runs CMD with its output appended to LOG (use - for the terminal)
#   say TEXT                    one line on stderr
#   fail NAME LOG HINT          names the failed step, shows the log's tail, exits 1
# bash 3.2 (macOS) compatible.

say() { printf '[%s] %s\n' "${TAG:-setup}" "$*" >&2; }

fail() {
  local name=$1 log=$2 hint=$3
  say "FAILED: $name"
  if [ "$log" != "-" ] && [ -f "$log" ]; then
    say "last lines of its log ($log):"
    tail -n 12 "$log" | sed 's/^/    /' >&2
  fi
  [ -z "$hint" ] || say "what to do: $hint"
  exit 1
}

step() {
  local name=$1 log=$2 hint=$3 t0=$SECONDS rc=0
  shift 3
  if [ "$log" = "-" ]; then
    "$@" >&2 || rc=$?
  else
    mkdir -p "$(dirname "$log")"
    "$@" >>"$log" 2>&1 || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then fail "$name (exit $rc after $((SECONDS - t0))s)" "$log" "$hint"; fi
  say "$name: $((SECONDS - t0))s"
}
