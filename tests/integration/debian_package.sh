#!/bin/bash
# debian_package.sh - debian/ builds a package that installs.
#
# Copies the source tree to a temp dir, runs `dpkg-buildpackage -us -uc -b`
# (programs only; ccache makes the objects the tree already built cache
# hits; without a writable cache the test is skipped, see below), runs lintian (no errors allowed), checks the package's
# contents (dpkg-deb -c: commands, daemons, the systemd unit, the SysV
# script, the sample configuration; conffiles; maintainer scripts that
# create the accounts and enable the unit through deb-systemd-helper), and
# unpacks it into a temporary root (dpkg-deb -x) whose postconf has the
# installation's paths compiled in and whose programs run an instance.
# Nothing is installed on or started on the host.
source "$(dirname "$0")/mr_instance.sh"
: "${MAILROOM_SRC:?MAILROOM_SRC must name the source tree}"
mr_enter_netns "$@"
mr_require_commands dpkg-buildpackage dpkg-deb lintian dh fakeroot cmake
mr_setup
S="$T/src/mailroom-0.1.0"
mkdir -p "$S"
# The tree as it is (uncommitted changes too), without builds and demo runs.
tar -C "$MAILROOM_SRC" --exclude=./build --exclude=./run --exclude=./.git --exclude='./obj-*' \
    --exclude=./build-deb --exclude=./debian/mailroom --exclude=./debian/.debhelper -cf - . | tar -C "$S" -xf - ||
    mr_fail "copying the source tree"
# Without the compiler cache `make build` filled, the package compiles
# every program from scratch: half an hour on two busy cores, beyond this
# test's budget. MAILROOM_PACKAGE_COLD=1 builds cold anyway.
cache=$(ccache --get-config cache_dir 2>/dev/null)
if [ -z "$cache" ] || ! { mkdir -p "$cache" && [ -w "$cache" ]; } 2>/dev/null; then
    [ "${MAILROOM_PACKAGE_COLD:-}" = 1 ] ||
        mr_skip "no writable compiler cache for $(id -un) (${cache:-none}); the cold package build exceeds the test's budget (MAILROOM_PACKAGE_COLD=1 runs it)"
    export CCACHE_DIR="$T/ccache"
    echo "note: the package builds cold in $CCACHE_DIR"
fi
export DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=2"
SECONDS=0
(cd "$S" && dpkg-buildpackage -us -uc -b -rfakeroot) >"$T/build.log" 2>&1 ||
    { tail -n 40 "$T/build.log"; mr_fail "dpkg-buildpackage failed"; }
echo "package built in ${SECONDS}s"
DEB=$(ls "$T"/src/mailroom_0.1.0_*.deb 2>/dev/null | head -n 1)
[ -n "$DEB" ] || mr_fail "no .deb: $(ls "$T/src")"

SECONDS=0
lintian --no-tag-display-limit "$DEB" >"$T/lintian" 2>&1
echo "lintian ran in ${SECONDS}s"
if grep -q '^E: ' "$T/lintian"; then
    grep '^E: ' "$T/lintian"
    mr_fail "lintian reports errors"
fi

dpkg-deb -c "$DEB" | awk '{ print $1, $6 }' >"$T/contents"
has() { grep -Eq -- "$1" "$T/contents" || mr_fail "the package lacks $1"; }
for f in mailroom postconf postmap postalias newaliases sendmail mailq postqueue postdrop postsuper postcat; do
    has " \./usr/sbin/$f\$"
done
for d in master smtpd cleanup qmgr bounce local virtual pipe smtp pickup pop3d authd anvil showq discard error; do
    has "^-rwxr-xr-x \./usr/libexec/mailroom/$d\$"
done
has " \./lib/systemd/system/mailroom\.service\$"
has "^-rwxr-xr-x \./etc/init\.d/mailroom\$"
has " \./etc/mailroom/main\.cf\$"
has " \./etc/mailroom/master\.cf\$"
has " \./usr/share/doc/mailroom/parameters\.md(\.gz)?\$"
mkdir "$T/ctl"
dpkg-deb -e "$DEB" "$T/ctl"
for f in /etc/mailroom/main.cf /etc/mailroom/master.cf /etc/init.d/mailroom; do
    grep -qx "$f" "$T/ctl/conffiles" || mr_fail "$f is not a conffile: $(cat "$T/ctl/conffiles")"
done
grep -q "deb-systemd-helper.* enable 'mailroom.service'\|deb-systemd-helper enable 'mailroom.service'" "$T/ctl/postinst" ||
    mr_fail "postinst does not enable the unit: $(cat "$T/ctl/postinst")"
grep -q "update-rc.d mailroom defaults" "$T/ctl/postinst" || mr_fail "postinst does not register the SysV script"
grep -q "useradd --system" "$T/ctl/postinst" && grep -q "groupadd --system mrdrop" "$T/ctl/postinst" ||
    mr_fail "postinst does not create the accounts"
grep -q "dpkg-statoverride --update --add root mrdrop 2755 \"\$f\"" "$T/ctl/postinst" || mr_fail "postinst: set-gid postdrop"
for f in postinst postrm prerm; do
    [ ! -f "$T/ctl/$f" ] || sh -n "$T/ctl/$f" || mr_fail "$f has syntax errors"
done
grep -q "^Depends: .*libevent" "$T/ctl/control" || mr_fail "no shared-library dependencies: $(cat "$T/ctl/control")"
# Loaded with dlopen(), so not found by dh_shlibdeps: named by hand.
for p in libmariadb3 libdb5.3; do
    grep -Eq "^Depends: (.*[ ,])?$p(,|\$| )" "$T/ctl/control" || mr_fail "Depends lacks $p: $(grep ^Depends "$T/ctl/control")"
done

# Unpacked into a temporary root: the installation's paths are compiled in.
R="$T/root"
dpkg-deb -x "$DEB" "$R"
[ "$("$R/usr/sbin/postconf" -c "$CONF" -dh config_directory)" = /etc/mailroom ] || mr_fail "config_directory default"
[ "$("$R/usr/sbin/postconf" -c "$CONF" -dh daemon_directory)" = /usr/libexec/mailroom ] || mr_fail "daemon_directory default"
[ "$("$R/usr/sbin/postconf" -c "$CONF" -dh queue_directory)" = /var/spool/mailroom ] || mr_fail "queue_directory default"
grep -q "^ExecStart=/usr/sbin/mailroom -c /etc/mailroom start$" "$R/lib/systemd/system/mailroom.service" ||
    mr_fail "the unit: $(cat "$R/lib/systemd/system/mailroom.service")"
sh -n "$R/etc/init.d/mailroom" || mr_fail "the SysV script has syntax errors"
if command -v systemd-analyze >/dev/null 2>&1; then
    # The unit names programs under /usr; verify it against the unpacked root.
    sed "s#/usr/sbin/#$R/usr/sbin/#g" "$R/lib/systemd/system/mailroom.service" >"$T/mailroom.service"
    systemd-analyze verify "$T/mailroom.service" >"$T/verify" 2>&1 ||
        grep -qv "mailroom.service" "$T/verify" || mr_fail "systemd-analyze verify: $(cat "$T/verify")"
fi
# The unpacked programs run an instance (paths given in main.cf).
{
    echo "daemon_directory = $R/usr/libexec/mailroom"
    echo "command_directory = $R/usr/sbin"
    [ "$(id -u)" -eq 0 ] || echo "mail_owner = $(id -un)"
} >>"$CONF/main.cf"
P=$(mr_free_port)
printf '127.0.0.1:%s inet n - n - - smtpd\n' "$P" >"$CONF/master.cf"
"$R/usr/sbin/mailroom" -c "$CONF" start || mr_fail "the packaged mailroom does not start"
out=$(python3 -c 'import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
print(s.noop()[0]); s.quit()' "$P" 2>&1) || mr_fail "the packaged smtpd does not answer: $out"
[ "$out" = 250 ] || mr_fail "smtpd said: $out"
"$R/usr/sbin/mailroom" -c "$CONF" stop || mr_fail "stop failed"
echo "debian_package: ok ($(grep -c '^W: ' "$T/lintian") lintian warnings, no errors)"
