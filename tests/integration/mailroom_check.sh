#!/bin/bash
# mailroom_check.sh - check, set-permissions, flush, and start failures.
#
# check names every missing directory and wrong mode/owner; set-permissions
# repairs them (and, as root, creates mail_owner and setgid_group); flush
# fails loudly; start reports why master could not start.
source "$(dirname "$0")/mr_instance.sh"
mr_enter_netns "$@"
mr_setup

"$MR" -c "$CONF" check 2>"$T/check1" && mr_fail "check passed on an empty instance"
for d in "$Q" "$Q/maildrop" "$Q/incoming" "$Q/active" "$Q/deferred" "$Q/hold" "$Q/corrupt" "$Q/bounce" \
         "$Q/defer" "$Q/trace" "$Q/private" "$Q/public" "$Q/pid" "$Q/recycle" "$T/data"; do
    grep -q "warning: missing directory: $d\$" "$T/check1" || mr_fail "check did not name $d"
done
"$MR" -c "$CONF" set-permissions || mr_fail "set-permissions failed"
"$MR" -c "$CONF" check 2>"$T/check2" || { cat "$T/check2"; mr_fail "check fails after set-permissions"; }

chmod 0755 "$Q/private"
"$MR" -c "$CONF" check 2>"$T/check3" && mr_fail "check passed with a wrong mode"
grep -q "warning: wrong mode 0755 (expected 0700): $Q/private" "$T/check3" || mr_fail "wrong mode not named"
if [ "$(id -u)" -eq 0 ]; then
    chown root "$Q/public"
    "$MR" -c "$CONF" check 2>"$T/check4" && mr_fail "check passed with a wrong owner"
    grep -q "warning: not owned by nobody: $Q/public" "$T/check4" || mr_fail "wrong owner not named"
fi
"$MR" -c "$CONF" set-permissions || mr_fail "set-permissions (repair) failed"
"$MR" -c "$CONF" check || mr_fail "check fails after repair"

# A master.cf service whose program is missing.
echo "127.0.0.1:1 inet n - n - - no-such-daemon" >"$CONF/master.cf"
"$MR" -c "$CONF" check 2>"$T/check5" && mr_fail "check passed with a missing daemon"
grep -q "no-such-daemon" "$T/check5" || mr_fail "missing daemon not named"

# flush is not a silent no-op: with the instance down it fails and says why.
"$MR" -c "$CONF" flush 2>"$T/flush" && mr_fail "flush succeeded with the mail system down"
grep -q "fatal: the mail system is not running\|fatal: flush is not available" "$T/flush" ||
    mr_fail "flush did not say why: $(cat "$T/flush")"
# Without postqueue it says that flush is not available.
sed -i "s#^command_directory = .*#command_directory = $T/nowhere#" "$CONF/main.cf"
"$MR" -c "$CONF" flush 2>"$T/flush2" && mr_fail "flush succeeded without postqueue"
grep -q "fatal: flush is not available: $T/nowhere/postqueue is not installed" "$T/flush2" || mr_fail "flush without postqueue: $(cat "$T/flush2")"
sed -i "s#^command_directory = .*#command_directory = $MAILROOM_BIN#" "$CONF/main.cf"

# start reports why master could not start: the port is taken.
P=$(mr_free_port)
python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1',$P)); s.listen(); open('$T/busy','w').close(); time.sleep(600)" &
busy=$!
mr_wait_for "port occupied" test -f "$T/busy"
echo "127.0.0.1:$P inet n - n - - mr-testd echo" >"$CONF/master.cf"
"$MR" -c "$CONF" start 2>"$T/start" && mr_fail "start succeeded on a busy port"
kill "$busy"
grep -q "fatal: mail system startup failed" "$T/start" || mr_fail "no 'startup failed' line"
grep -q "bind 127.0.0.1:$P: Address already in use" "$T/start" || { cat "$T/start"; mr_fail "startup failure reason missing"; }
"$MR" -c "$CONF" status && mr_fail "status says running after a failed start"
[ -z "$(mr_instance_pids)" ] || mr_fail "processes left after a failed start"

# As root, set-permissions creates missing accounts (through useradd/groupadd).
if [ "$(id -u)" -eq 0 ] && command -v useradd >/dev/null && command -v groupadd >/dev/null; then
    u="mrt$$"
    g="mrtg$$"
    cleanup_accounts() {
        userdel "$u" >/dev/null 2>&1 || true
        groupdel "$u" >/dev/null 2>&1 || true
        groupdel "$g" >/dev/null 2>&1 || true
        mr_cleanup
    }
    trap cleanup_accounts EXIT
    sed -i -e "s/^mail_owner = .*/mail_owner = $u/" -e "s/^setgid_group = .*/setgid_group = $g/" "$CONF/main.cf"
    "$MR" -c "$CONF" set-permissions || mr_fail "set-permissions could not create accounts"
    getent passwd "$u" >/dev/null || mr_fail "mail_owner $u not created"
    getent group "$g" >/dev/null || mr_fail "setgid_group $g not created"
    [ "$(stat -c %U "$Q/incoming")" = "$u" ] || mr_fail "queue not owned by the new mail_owner"
    [ "$(stat -c %G "$Q/public")" = "$g" ] || mr_fail "public/ not in the new setgid_group"
    "$MR" -c "$CONF" check || mr_fail "check fails after set-permissions created accounts"
fi
echo "PASS"
