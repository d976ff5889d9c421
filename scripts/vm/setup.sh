#!/usr/bin/env bash
# Prepares the host for the test VM (see docs/design.md, "The test VM"). Idempotent.
#   1. the host tools: qemu-system-x86_64, a static busybox, cpio, kmod (modinfo), xz (the 6.12
#      kernel's modules are .ko.xz). When one is missing and we are root, they are installed with
#      apt-get (CI runs as root); otherwise it fails and says what to install.
#      MCPJ_VM_NO_INSTALL=1 forbids installing.
#   2. a Debian kernel, fetched with `apt-get download` and unpacked with `dpkg-deb -x` into the cache,
#      never installed on the host. Which one: MCPJ_VM_KERNEL (or the first argument) names a series,
#        6.1   the newest linux-image-6.1.0-N-amd64 of Debian 12 (Landlock ABI 2); the default
#        6.12  the newest linux-image-6.12.N+deb12-amd64 of bookworm-backports (Landlock ABI 6)
#      or MCPJ_VM_KERNEL_PKG names one package exactly. Always the plain amd64 flavour: it has 9p as
#      modules (the cloud flavour has no 9p). bookworm-backports is read through a private apt
#      configuration inside the cache: the host's apt sources are never changed.
#      MCPJ_VM_REFRESH=1 looks for a newer package even when one of the series is cached.
# The cache holds one directory per kernel package (<cache>/<package>/) and, per series, a link to
# the newest one fetched (<cache>/latest-<series>); an explicit MCPJ_VM_KERNEL_PKG never moves a
# link, so it cannot change what a later default run boots.
# The cache is $MCPJ_VM_CACHE, else /var/cache/mcp-j-vm when writable, else <repo>/.cache/vm (gitignored).
# On success the last line on stdout is `MCPJ_VM_KERNEL_DIR=<dir>`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
log() { printf 'vm-setup: %s\n' "$*" >&2; }
die() { printf 'vm-setup: ERROR: %s\n' "$*" >&2; exit 1; }

if [ -n "${MCPJ_VM_CACHE:-}" ]; then cache=$MCPJ_VM_CACHE
elif mkdir -p /var/cache/mcp-j-vm 2>/dev/null && [ -w /var/cache/mcp-j-vm ]; then cache=/var/cache/mcp-j-vm
else cache=$repo/.cache/vm
fi
mkdir -p "$cache"

series=${1:-${MCPJ_VM_KERNEL:-6.1}}
pkg=${MCPJ_VM_KERNEL_PKG:-}
case "$series" in
  6.1) pattern='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
  6.12) pattern='^linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
  *) [ -n "$pkg" ] || die "unknown kernel series '$series' (6.1 or 6.12; or set MCPJ_VM_KERNEL_PKG to a package name)" ;;
esac

is_root() { [ "$(id -u)" = 0 ]; }
may_install() { is_root && [ "${MCPJ_VM_NO_INSTALL:-0}" != 1 ]; }
apt_updated=0
apt_update() {
  if [ $apt_updated = 0 ]; then
    log "apt-get update"
    apt-get update -q >&2 || die "apt-get update failed"
    apt_updated=1
  fi
}

# --- 1. host tools -------------------------------------------------------------------------------
busybox_static_ok() {
  [ -x /bin/busybox ] || return 1
  # busybox-static's binary is not dynamically linked; the plain busybox package's is.
  ! LC_ALL=C ldd /bin/busybox >/dev/null 2>&1
}
missing=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
busybox_static_ok || missing+=(busybox-static)
command -v cpio >/dev/null 2>&1 || missing+=(cpio)
{ command -v modinfo >/dev/null 2>&1 || [ -x /sbin/modinfo ]; } || missing+=(kmod)
command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
# user-scope.vm.test.js runs a real `systemd --user` in the guest (the guest uses the host's /usr).
{ [ -x /usr/lib/systemd/systemd ] && [ -x /usr/bin/systemd-run ]; } || missing+=(systemd)
command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found: this harness needs a Debian-based host"
if [ ${#missing[@]} -gt 0 ]; then
  may_install || die "missing host packages: ${missing[*]} (install them: apt-get install -y ${missing[*]})"
  apt_update
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
  command -v qemu-system-x86_64 >/dev/null 2>&1 || die "qemu-system-x86_64 still missing after install"
  busybox_static_ok || die "/bin/busybox is not the static busybox after installing busybox-static"
fi

# --- 2. the kernel -------------------------------------------------------------------------------
has_kernel() { ls "$1/boot/"vmlinuz-* >/dev/null 2>&1; }

# bookworm-backports through a private apt configuration (sources, lists and archive cache in
# $cache/apt): the host's sources.list is not touched and the host's own apt state does not change.
bpo=$cache/apt
bpo_opts=(-o "Dir::Etc::SourceList=$bpo/sources.list" -o "Dir::Etc::SourceParts=$bpo/sources.list.d"
          -o "Dir::State::Lists=$bpo/lists" -o "Dir::Cache=$bpo/cache" -o "APT::Sandbox::User=root")
bpo_updated=0
bpo_update() {
  [ $bpo_updated = 0 ] || return 0
  mkdir -p "$bpo/lists/partial" "$bpo/cache/archives/partial" "$bpo/sources.list.d"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" > "$bpo/sources.list"
  log "apt-get update (bookworm-backports, private configuration in $bpo)"
  apt-get -q "${bpo_opts[@]}" update >&2 || die "apt-get update of bookworm-backports failed"
  bpo_updated=1
}
# Package names of the series known to apt (the host's sources, or the private backports ones).
known() {
  if [ "$series" = 6.12 ]; then
    [ -d "$bpo/lists" ] && apt-cache "${bpo_opts[@]}" search --names-only "$pattern" 2>/dev/null || true
  else
    apt-cache search --names-only "$pattern" 2>/dev/null || true
  fi | awk '{print $1}' | { grep -E "$pattern" || true; } | sort -V | tail -n 1
}
refresh_lists() {
  if [ "$series" = 6.12 ]; then is_root || die "fetching the 6.12 kernel needs root (apt-get)"; bpo_update
  elif may_install; then apt_update
  fi
}

link=""
if [ -z "$pkg" ]; then
  link=$cache/latest-$series
  if [ -L "$link" ] && has_kernel "$link" && [ "${MCPJ_VM_REFRESH:-0}" != 1 ]; then
    echo "MCPJ_VM_KERNEL_DIR=$(readlink -f "$link")"
    exit 0
  fi
  pkg=$(known)
  if [ -z "$pkg" ] || [ "${MCPJ_VM_REFRESH:-0}" = 1 ]; then refresh_lists; pkg=$(known); fi
  [ -n "$pkg" ] || die "apt knows no package matching $pattern (run apt-get update?)"
fi
case "$pkg" in */* | .* | "") die "bad kernel package name '$pkg'" ;; esac

dest=$cache/$pkg
if ! has_kernel "$dest"; then
  tmp=$(mktemp -d "$cache/dl.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  log "apt-get download $pkg"
  # -o APT::Sandbox::User=root: the _apt user cannot write into a root-owned cache directory.
  download() { (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$@" "$pkg" >&2); }
  if [ "$series" = 6.12 ]; then
    bpo_update
    download "${bpo_opts[@]}" || die "apt-get download $pkg (bookworm-backports) failed"
  elif ! download 2>/dev/null; then
    # Not in the host's sources (or their lists are stale): bookworm-backports, then once more
    # after refreshing the host's lists.
    if is_root; then bpo_update; fi
    download "${bpo_opts[@]}" 2>/dev/null || { refresh_lists; download; } || die "apt-get download $pkg failed"
  fi
  deb=$(ls "$tmp"/*.deb | head -n 1)
  log "unpacking $(basename "$deb")"
  mkdir -p "$tmp/x"
  dpkg-deb -x "$deb" "$tmp/x" || die "dpkg-deb -x failed"
  ls "$tmp/x/boot/"vmlinuz-* >/dev/null 2>&1 || die "$pkg has no /boot/vmlinuz-*"
  # Keep only what the VM needs: the kernel image, its config and the modules.
  mkdir -p "$tmp/keep"
  mv "$tmp/x/boot" "$tmp/keep/boot"
  if [ -d "$tmp/x/lib/modules" ]; then mkdir -p "$tmp/keep/lib"; mv "$tmp/x/lib/modules" "$tmp/keep/lib/modules"
  elif [ -d "$tmp/x/usr/lib/modules" ]; then mkdir -p "$tmp/keep/lib"; mv "$tmp/x/usr/lib/modules" "$tmp/keep/lib/modules"
  else die "$pkg has no lib/modules"; fi
  basename "$deb" > "$tmp/keep/PACKAGE"
  # Into place in one rename: a concurrent run sees the whole kernel or none.
  rm -rf "$dest"
  mv "$tmp/keep" "$dest"
  rm -rf "$tmp"; trap - EXIT
fi
[ -z "$link" ] || ln -sfn "$pkg" "$link"
echo "MCPJ_VM_KERNEL_DIR=$dest"
