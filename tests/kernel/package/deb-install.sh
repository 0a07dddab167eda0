#!/usr/bin/env bash
# Kernel tier (it runs in the VM, whose root is a throw-away overlay, so dpkg -i never
# touches the host): installs the Debian package that scripts/test built on the host
# (cpack -G DEB -B BUILD_DIR/packages; cpack itself is far too slow under TCG) with
# dpkg -i, and checks what an operator relies on: binaries in /usr/sbin, the reference
# config as a conffile (mode 0640) that `lvsd -t` accepts, the systemd unit (and that
# `systemd-analyze verify` accepts it, its man:lvsd(8) included), the man pages, the
# copyright file, libraries resolved; then what the maintainer scripts ask of systemd on
# install, upgrade, remove and purge.
#
# systemd is not PID 1 in the VM (busybox init), so the maintainer scripts would see no
# systemd and skip it. To see what they ask of it, /run/systemd/system is made (on the
# VM's own tmpfs) and a `systemctl` that records its arguments comes first in PATH;
# deb-systemd-helper and deb-systemd-invoke are Debian's own.
#
# A policy-rc.d that forbids actions (Docker images ship one that exits 101) would make
# deb-systemd-invoke skip them, as it should; it is moved aside for the test and put back.
set -euo pipefail
build=${1:?usage: deb-install.sh BUILD_DIR}
fail() { echo "deb-install: FAIL: $*" >&2; exit 1; }
# vm-init's control share: this is the VM, whose root is thrown away afterwards.
[[ -d /run/lvsd-vm ]] || fail "not inside the test VM (tests/kernel/vm-run): dpkg -i would change this host"

rec=$(mktemp -d /tmp/deb-install.XXXXXX)
made=()  # the directories this test made, deepest first
cleanup() {
    [[ -e $rec/policy-rc.d ]] && mv "$rec/policy-rc.d" /usr/sbin/policy-rc.d
    for d in "${made[@]}"; do rmdir "$d" 2>/dev/null || true; done
    rm -rf "$rec"
}
trap cleanup EXIT
calls=$rec/systemctl.log
cat >"$rec/systemctl" <<EOS
#!/bin/sh
echo "\$*" >>"$calls"
EOS
chmod 755 "$rec/systemctl"
[[ -e /usr/sbin/policy-rc.d ]] && mv /usr/sbin/policy-rc.d "$rec/policy-rc.d"
for d in /run/systemd /run/systemd/system; do
    [[ -d $d ]] || { mkdir "$d"; made=("$d" "${made[@]}"); }
done
# dpkg with the recording systemctl; prints what the scripts asked for.
dpkg_rec() { : >"$calls"; PATH=$rec:$PATH dpkg "$@" >/dev/null || fail "dpkg $* failed"; cat "$calls"; }

debs=("$build"/packages/lvsd_*.deb)
[[ -f ${debs[0]} ]] ||
    fail "no $build/packages/lvsd_*.deb: build it first (cpack --config $build/CPackConfig.cmake -G DEB -B $build/packages; scripts/test does)"
deb=${debs[-1]}
[[ $deb -nt $build/lvsd ]] || fail "$deb is older than $build/lvsd: rebuild the package"
echo "installing $(basename "$deb") ($(stat -c %s "$deb") bytes)"

first=$(dpkg_rec -i "$deb")
grep -qx -- '--system daemon-reload' <<<"$first" || fail "install: no daemon-reload; systemctl got: $first"
if grep -Eq '(start|restart|enable)( |$)' <<<"$first"; then
    fail "a first install must neither enable nor start lvsd (the reference config floats its VIP); systemctl got: $first"
fi
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
mode=$(stat -c '%a %U:%G' /etc/lvsd/lvsd.conf)
[[ $mode == "640 root:root" ]] || fail "/etc/lvsd/lvsd.conf is $mode, expected 640 root:root (it may hold auth_pass)"
[[ -s /usr/share/doc/lvsd/copyright ]] || fail "no /usr/share/doc/lvsd/copyright"

for page in 8/lvsd 8/lvsctl 5/lvsd.conf; do
    f=/usr/share/man/man${page%%/*}/${page#*/}.${page%%/*}.gz
    [[ -f $f ]] || fail "no man page $f"
    found=$(man -w "${page%%/*}" "${page#*/}" 2>&1) || fail "man -w ${page#*/}: $found"
    # groff's warnings (bad requests, escapes, lines it cannot fill) mean a broken page.
    warnings=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null) || fail "man -l $f failed: $warnings"
    [[ -z $warnings ]] || fail "groff warns about $f: $warnings"
done
man -l /usr/share/man/man5/lvsd.conf.5.gz 2>/dev/null | grep -q 'virtual_router_id' ||
    fail "lvsd.conf(5) does not render the vrrp_instances keys"

# Exit status and output both: it warns about what it cannot resolve (the man page, an
# ExecStart that is not executable, unknown keys) and still exits 0 for some of it.
out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify $unit: $out"
[[ -z $out ]] || fail "systemd-analyze verify $unit warns: $out"

upgrade=$(dpkg_rec -i "$deb")
grep -qx -- '--system daemon-reload' <<<"$upgrade" || fail "upgrade: no daemon-reload; systemctl got: $upgrade"
grep -qx 'try-restart lvsd.service' <<<"$upgrade" ||
    fail "upgrade: a running lvsd is not restarted; systemctl got: $upgrade"
removal=$(dpkg_rec -r lvsd)
grep -qx 'stop lvsd.service' <<<"$removal" || fail "remove: lvsd is not stopped; systemctl got: $removal"
[[ ! -e /usr/sbin/lvsd && -f /etc/lvsd/lvsd.conf ]] || fail "remove: binary still there or conffile gone"
dpkg_rec -P lvsd >/dev/null
[[ ! -e /etc/lvsd/lvsd.conf ]] || fail "purge left /etc/lvsd/lvsd.conf"
echo "deb-install: PASS"
