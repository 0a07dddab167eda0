#!/usr/bin/env bash
# Kernel tier (it runs in the VM, whose root is a throw-away overlay, so dpkg -i never
# touches the host): installs the Debian package that scripts/test built on the host
# (cpack -G DEB -B BUILD_DIR/packages; cpack itself is far too slow under TCG) with
# dpkg -i, and checks what an operator relies on: binaries in /usr/sbin, the reference
# config as a conffile that `lvsd -t` accepts, the systemd unit, libraries resolved.
set -euo pipefail
build=${1:?usage: deb-install.sh BUILD_DIR}
# No purge afterwards: the VM's root overlay is thrown away with the VM.
fail() { echo "deb-install: FAIL: $*" >&2; exit 1; }

debs=("$build"/packages/lvsd_*.deb)
[[ -f ${debs[0]} ]] ||
    fail "no $build/packages/lvsd_*.deb: build it first (cpack --config $build/CPackConfig.cmake -G DEB -B $build/packages; scripts/test does)"
deb=${debs[-1]}
[[ $deb -nt $build/lvsd ]] || fail "$deb is older than $build/lvsd: rebuild the package"
echo "installing $(basename "$deb") ($(stat -c %s "$deb") bytes)"

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
echo "deb-install: PASS"
