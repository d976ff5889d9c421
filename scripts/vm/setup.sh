#!/usr/bin/env bash
# Prepares the host for the cgroup v2 test VM (see DESIGN.md, "The cgroup v2 test VM"). Idempotent.
#   1. the host tools: qemu-system-x86_64, a static busybox, cpio, kmod (modinfo). When one is missing
#      and we are root, they are installed with apt-get (CI runs as root); otherwise it fails and says
#      what to install. MCPJ_VM_NO_INSTALL=1 forbids installing.
#   2. a Debian kernel, `linux-image-6.1.0-N-amd64` (the plain amd64 flavour: it has 9p as modules; the
#      cloud flavour has no 9p), the newest N apt-cache knows, fetched with `apt-get download` and
#      unpacked with `dpkg-deb -x` into the cache. It is never installed on the host.
#      MCPJ_VM_KERNEL_PKG=name picks another package (e.g. a backports kernel); MCPJ_VM_REFRESH=1 looks
#      for a newer one even when one is cached.
# The cache is $MCPJ_VM_CACHE, else /var/cache/mcp-j-vm when writable, else <repo>/.cache/vm (gitignored).
# On success the last line on stdout is `MCPJ_VM_KERNEL_DIR=<dir>` (also linked as <cache>/current).
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

is_root() { [ "$(id -u)" = 0 ]; }
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
command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found: this harness needs a Debian-based host"
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${MCPJ_VM_NO_INSTALL:-0}" = 1 ] || ! is_root; then
    die "missing host packages: ${missing[*]} (install them: apt-get install -y ${missing[*]})"
  fi
  apt_update
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
  command -v qemu-system-x86_64 >/dev/null 2>&1 || die "qemu-system-x86_64 still missing after install"
  busybox_static_ok || die "/bin/busybox is not the static busybox after installing busybox-static"
fi

# --- 2. the kernel -------------------------------------------------------------------------------
if [ -L "$cache/current" ] && [ -z "${MCPJ_VM_KERNEL_PKG:-}" ] && [ "${MCPJ_VM_REFRESH:-0}" != 1 ] \
   && ls "$cache/current/boot/"vmlinuz-* >/dev/null 2>&1; then
  echo "MCPJ_VM_KERNEL_DIR=$(readlink -f "$cache/current")"
  exit 0
fi

newest_pkg() {
  apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null \
    | awk '{print $1}' | grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n 1
}
pkg=${MCPJ_VM_KERNEL_PKG:-}
if [ -z "$pkg" ]; then
  pkg=$(newest_pkg || true)
  if [ -z "$pkg" ] || [ "${MCPJ_VM_REFRESH:-0}" = 1 ]; then
    if is_root && [ "${MCPJ_VM_NO_INSTALL:-0}" != 1 ]; then apt_update; pkg=$(newest_pkg || true); fi
  fi
  [ -n "$pkg" ] || die "apt-cache knows no linux-image-6.1.0-*-amd64 package (run apt-get update?)"
fi
dest=$cache/$pkg
if ! ls "$dest/boot/"vmlinuz-* >/dev/null 2>&1; then
  tmp=$(mktemp -d "$cache/dl.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  log "apt-get download $pkg"
  # -o APT::Sandbox::User=root: the _apt user cannot write into a root-owned cache directory.
  (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) || die "apt-get download $pkg failed"
  deb=$(ls "$tmp"/*.deb | head -n 1)
  log "unpacking $(basename "$deb")"
  mkdir -p "$tmp/x"
  dpkg-deb -x "$deb" "$tmp/x" || die "dpkg-deb -x failed"
  ls "$tmp/x/boot/"vmlinuz-* >/dev/null 2>&1 || die "$pkg has no /boot/vmlinuz-*"
  # Keep only what the VM needs: the kernel image, its config and the modules.
  rm -rf "$dest"; mkdir -p "$dest"
  mv "$tmp/x/boot" "$dest/boot"
  if [ -d "$tmp/x/lib/modules" ]; then mkdir -p "$dest/lib"; mv "$tmp/x/lib/modules" "$dest/lib/modules"
  elif [ -d "$tmp/x/usr/lib/modules" ]; then mkdir -p "$dest/lib"; mv "$tmp/x/usr/lib/modules" "$dest/lib/modules"
  else die "$pkg has no lib/modules"; fi
  basename "$deb" > "$dest/PACKAGE"
  rm -rf "$tmp"; trap - EXIT
fi
ln -sfn "$pkg" "$cache/current"
echo "MCPJ_VM_KERNEL_DIR=$dest"
