# Sourced by the set-up scripts. ensure_debs PKG...: installs the Debian packages that are
# missing (apt-get when root, refreshing the lists only if the install needs it); otherwise
# names them and exits 1. The caller defines say().
ensure_debs() {
  command -v dpkg-query >/dev/null || return 0
  local need=() d
  for d in "$@"; do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || need+=("$d")
  done
  [ "${#need[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    say "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed; trying the install anyway"
      apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    }
  else
    say "missing system packages: ${need[*]}"
    say "install them first, e.g.: sudo apt-get install ${need[*]}"
    exit 1
  fi
}
