# Sourced by the set-up scripts (after steps.sh): system prerequisites, checked where they are
# looked for, installed where we may, and otherwise named with the command that installs them.
#   ensure_debs PKG...          Debian/Ubuntu packages (apt-get when root)
#   ensure_commands CMD:HOW...  commands on PATH, for systems without dpkg (macOS): HOW is the
#                               Homebrew formula, or a whole command when it holds a space
# bash 3.2 (macOS) compatible.

ensure_debs() {
  if ! command -v dpkg-query >/dev/null; then
    say "not a Debian-based system: make sure these (or their equivalents) are installed: $*"
    return 0
  fi
  local need="" d
  for d in "$@"; do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || need="$need $d"
  done
  need=${need# }
  [ -z "$need" ] && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    local log="${APT_LOG:-/tmp/mlx-batch-apt.log}" t0=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 # $need is a list of package names
    if ! apt-get install -y -q --no-install-recommends $need >>"$log" 2>&1; then
      apt-get update -q >>"$log" 2>&1 || say "apt-get update failed; trying the install anyway"
      # shellcheck disable=SC2086
      apt-get install -y -q --no-install-recommends $need >>"$log" 2>&1 \
        || fail "apt-get install $need" "$log" "check that apt-get can reach Debian's mirrors, then run this again"
    fi
    say "apt-get install $need: $((SECONDS - t0))s"
  else
    say "missing system packages: $need"
    say "install them, then run this again: sudo apt-get install $need"
    exit 1
  fi
}

ensure_commands() {
  local need="" how="" spec cmd fix
  for spec in "$@"; do
    cmd=${spec%%:*}
    fix=${spec#*:}
    command -v "$cmd" >/dev/null && continue
    need="$need $cmd"
    case "$fix" in
      *" "*) how="$how; $fix" ;;
      *) how="$how; brew install $fix" ;;
    esac
  done
  [ -z "$need" ] && return 0
  say "missing commands:$need"
  say "install them (Homebrew: https://brew.sh), then run this again:${how#;}"
  exit 1
}
