#!/bin/bash
# install_tree.sh - `make install DESTDIR=...` yields a tree an instance starts from.
#
# Installs the build into a temp DESTDIR, checks the layout (commands,
# daemons, sample configuration, systemd unit, SysV script), checks that a
# second install keeps an edited main.cf, then starts and stops an instance
# with the installed master and mailroom. systemd-analyze verifies the unit
# when it is available.
source "$(dirname "$0")/mr_instance.sh"
: "${MAILROOM_BUILD:?MAILROOM_BUILD must name the build directory}"
mr_enter_netns "$@"
mr_setup

D="$T/destdir"
PREFIX=/opt/mailroom-test
# cmake --install writes install_manifest.txt into the build tree. When that
# is not ours to write (an ordinary user testing a tree someone else built),
# run copies of the install scripts that keep the manifest in $T.
mr_install() {
    local manifest="$MAILROOM_BUILD/install_manifest.txt"
    if [ -w "$MAILROOM_BUILD" ] && { [ ! -e "$manifest" ] || [ -w "$manifest" ]; }; then
        DESTDIR="$D" cmake --install "$MAILROOM_BUILD" --prefix "$PREFIX"
        return
    fi
    local f rel
    rm -rf "$T/b"
    while read -r f; do
        rel=${f#"$MAILROOM_BUILD"/}
        mkdir -p "$(dirname "$T/b/$rel")"
        sed -e "/include(/s#$MAILROOM_BUILD/#$T/b/#g" -e "/file(WRITE/s#$MAILROOM_BUILD/#$T/b/#" "$f" >"$T/b/$rel"
    done < <(find "$MAILROOM_BUILD" -name cmake_install.cmake)
    DESTDIR="$D" cmake -DCMAKE_INSTALL_PREFIX="$PREFIX" -P "$T/b/cmake_install.cmake"
}
mr_install >"$T/install.log" 2>&1 || { cat "$T/install.log"; mr_fail "install failed"; }
confdir=$(grep -o 'MAILROOM_CONFIG_DIR "[^"]*"' "$MAILROOM_BUILD/generated/mailroom/build_paths.h" | cut -d'"' -f2)
for f in "$PREFIX/sbin/mailroom" "$PREFIX/libexec/mailroom/master"; do
    [ -x "$D$f" ] || mr_fail "not installed: $f"
done
for f in "$confdir/main.cf" "$confdir/master.cf" "$PREFIX/lib/systemd/system/mailroom.service" \
         "$PREFIX/share/mailroom/mailroom.init"; do
    [ -f "$D$f" ] || mr_fail "not installed: $f"
done
grep -q "^# chkconfig: 2345" "$D$PREFIX/share/mailroom/mailroom.init" || mr_fail "init script has no chkconfig header"
sh -n "$D$PREFIX/share/mailroom/mailroom.init" || mr_fail "init script has syntax errors"
for action in start stop restart reload abort flush check status condrestart; do
    grep -q "$action)" "$D$PREFIX/share/mailroom/mailroom.init" || mr_fail "init script lacks $action"
done

# Every service the sample master.cf enables has its daemon in the build.
while read -r name type priv unpriv chroot wake maxproc cmd rest; do
    case "$name" in ''|'#'*) continue ;; esac
    case "$name" in -*|flags=*) continue ;; esac
    [ -x "$MAILROOM_BIN/$cmd" ] || mr_fail "sample master.cf enables $name with missing daemon $cmd"
done < <(grep -v '^[[:space:]]' "$D$confdir/master.cf")

# A second install keeps the administrator's files.
echo "# edited by the administrator" >>"$D$confdir/main.cf"
mr_install >"$T/install2.log" 2>&1 || mr_fail "second install failed"
grep -q "edited by the administrator" "$D$confdir/main.cf" || mr_fail "install overwrote main.cf"

# An instance starts from the installed programs and sample main.cf.
cp "$D$confdir/main.cf" "$CONF/main.cf.sample"
{
    cat "$CONF/main.cf.sample"
    cat "$CONF/main.cf"
    echo "daemon_directory = $D$PREFIX/libexec/mailroom"
    echo "command_directory = $D$PREFIX/sbin"
    [ "$(id -u)" -eq 0 ] || echo "mail_owner = $(id -un)"
} >"$CONF/main.cf.new"
mv "$CONF/main.cf.new" "$CONF/main.cf"
P=$(mr_free_port)
echo "127.0.0.1:$P inet n - n - - $MAILROOM_BIN/mr-testd echo" >"$CONF/master.cf"
IMR="$D$PREFIX/sbin/mailroom"
"$IMR" -c "$CONF" start || mr_fail "installed mailroom start failed"
pid=$(cat "$Q/pid/master.pid" | tr -d ' ')
[ "$(readlink "/proc/$pid/exe")" = "$D$PREFIX/libexec/mailroom/master" ] || mr_fail "running master is not the installed one"
out=$(mr_client "$P" hi QUIT) || mr_fail "service of the installed instance does not answer"
[ "$out" = hi ] || mr_fail "answered '$out'"
"$IMR" -c "$CONF" status || mr_fail "status says not running"
"$IMR" -c "$CONF" stop || mr_fail "stop failed"
[ -z "$(mr_instance_pids)" ] || mr_fail "processes left after stop"

if command -v systemd-analyze >/dev/null 2>&1; then
    # Point the unit at the DESTDIR copies so that its programs exist.
    # (The unit names the command directory chosen at configure time.)
    cmddir=$(grep -o 'MAILROOM_COMMAND_DIR "[^"]*"' "$MAILROOM_BUILD/generated/mailroom/build_paths.h" | cut -d'"' -f2)
    unit="$T/mailroom.service"
    sed "s#$cmddir/#$D$PREFIX/sbin/#g" "$D$PREFIX/lib/systemd/system/mailroom.service" >"$unit"
    if ! systemd-analyze verify "$unit" >"$T/verify.log" 2>&1; then
        # Without a running systemd some checks cannot run; fail on every
        # other complaint.
        if grep -v -e "System has not been booted" -e "Failed to connect to bus" -e "^$" "$T/verify.log" | grep -q .; then
            cat "$T/verify.log" >&2
            mr_fail "systemd-analyze verify rejected the unit"
        fi
    fi
else
    echo "note: systemd-analyze not available; unit not verified"
fi
echo "PASS"
