#!/bin/bash
# authd_shadow.sh - authd's shadow module with a real system user (root
# only: the test creates the account and only root reads /etc/shadow).
# authd running as root (master.cf unpriv n) accepts the user's password
# and refuses a wrong one; authd running as mail_owner (the default) still
# finds the user but refuses every password, logging why. Also a service
# whose master.cf name is an absolute path (courier's way of naming its
# socket) served by the same program.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
[ "$(id -u)" -eq 0 ] || mr_skip "the shadow module needs root: a system user of its own and a readable /etc/shadow"
mr_require_programs master authd mailroom
mr_require_commands chpasswd useradd
dl_setup
SU=mrs$$
dl_user "$SU"
PW='Shad0w pass'
echo "$SU:$PW" | chpasswd -c SHA512 || mr_fail "chpasswd"
mkdir -p "$T/courier"
cat >>"$CONF/main.cf" <<EOF2
authd_modules = shadow
auth_failure_delay = 0
EOF2
# "authd" as root; "$T/courier/socket" as mail_owner.
{
    echo "authd     unix  -       n       n       -       -       authd"
    echo "$T/courier/socket unix -  -       n       -       -       authd"
} >>"$CONF/master.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"
[ -S "$T/courier/socket" ] || mr_fail "no socket at the absolute path $T/courier/socket"

"$MR" -c "$CONF" auth test "$SU" "$PW" >"$T/out" || mr_fail "shadow user refused: $(cat "$T/out")"
grep -q "^  module:  shadow$" "$T/out" || mr_fail "module: $(cat "$T/out")"
grep -q "^  uid:     $(id -u "$SU")$" "$T/out" || mr_fail "uid: $(cat "$T/out")"
grep -q "^  home:    $T/home/$SU$" "$T/out" || mr_fail "home: $(cat "$T/out")"
"$MR" -c "$CONF" auth test "$SU" "wrong" >"$T/out" && mr_fail "a wrong password was accepted"
dl_wait_log "authd\[[0-9]+\]: authentication failed: user=<$SU>, service=login, reason=shadow: password mismatch"
"$MR" -c "$CONF" auth test "nosuchuser$$" x >"$T/out" && mr_fail "an unknown user was accepted"

# As mail_owner: found, but no password check is possible.
"$MR" -c "$CONF" auth -a "$T/courier/socket" lookup "$SU" >"$T/out" || mr_fail "lookup as mail_owner: $(cat "$T/out")"
"$MR" -c "$CONF" auth -a "$T/courier/socket" test "$SU" "$PW" >"$T/out" &&
    mr_fail "authd as mail_owner accepted a shadow password"
dl_wait_log "authd\[[0-9]+\]: authentication failed: user=<$SU>, service=login, reason=shadow: cannot read the shadow password of $SU: authd is not running as root"
echo "authd_shadow: ok"
