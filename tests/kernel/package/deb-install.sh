#!/usr/bin/env bash
# Kernel tier (it runs in the VM, whose root is a throw-away overlay, so dpkg -i never
# touches the host): builds the Debian package from the build tree, installs it with
# dpkg -i, and checks what an operator relies on: binaries on PATH, the reference config
# as a conffile that `lvsd -t` accepts, the systemd unit, runtime dependencies met.
set -euo pipefail
build=${1:?usage: deb-install.sh BUILD_DIR}
out=$(mktemp -d /tmp/lvsd-deb.XXXXXX)
trap 'dpkg --purge lvsd >/dev/null 2>&1 || true; rm -rf "$out"' EXIT
fail() { echo "deb-install: FAIL: $*" >&2; exit 1; }

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >"$out/cpack.log" 2>&1 ||
    { cat "$out/cpack.log"; fail "cpack -G DEB failed"; }
deb=$(ls "$out"/lvsd_*.deb)
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

dpkg -i "$deb" || fail "dpkg -i $deb failed"
[[ -x /usr/sbin/lvsd && -x /usr/sbin/lvsctl ]] || fail "binaries not in /usr/sbin"
dpkg-query -W -f='${Conffiles}\n' lvsd | grep -q '/etc/lvsd/lvsd.conf' ||
    fail "/etc/lvsd/lvsd.conf is not a conffile"
/usr/sbin/lvsd -t -f /etc/lvsd/lvsd.conf || fail "lvsd -t rejects the installed config"
unit=/lib/systemd/system/lvsd.service
grep -q '^Type=notify' "$unit" || fail "$unit is not Type=notify"
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID' "$unit" || fail "$unit has no SIGHUP reload"
# Every shared library the binaries need resolves against what the Depends pulled in.
if ldd /usr/sbin/lvsd /usr/sbin/lvsctl | grep -q 'not found'; then
    ldd /usr/sbin/lvsd /usr/sbin/lvsctl; fail "unresolved libraries"
fi
# An operator's edit to a conffile survives a reinstall (dpkg keeps it).
echo "# local edit" >>/etc/lvsd/lvsd.conf
dpkg -i --force-confold "$deb" >/dev/null || fail "reinstall failed"
grep -q '^# local edit' /etc/lvsd/lvsd.conf || fail "reinstall overwrote the edited conffile"
echo "deb-install: PASS"
