#!/bin/bash
# chroot_tables.sh - a chrooted smtpd answers from a hash: table although
# Berkeley DB is loaded at run time: the daemon loads the libraries its
# configuration names (here hash:) before its chroot, and opens the table,
# whose file lies inside the jail, afterwards. Root only (chroot).
source "$(dirname "$0")/mr_instance.sh"
mr_enter_netns "$@"
[ "$(id -u)" -eq 0 ] || mr_skip "chroot needs root"
mr_require_programs smtpd master mailroom postmap
mr_setup
P=$(mr_free_port)
printf '127.0.0.1:%s inet n - y - - smtpd\n' "$P" >"$CONF/master.cf"
cat >>"$CONF/main.cf" <<CF
mynetworks = 127.0.0.0/8
alias_maps =
smtpd_sender_restrictions = check_sender_access hash:$T/access
CF
# mailroom start checks the table where it is; the jailed smtpd sees the
# copy at the same path inside queue_directory (as with Postfix's chroot).
printf 'blocked@example.com REJECT no mail from you\n' >"$T/access"
"$MAILROOM_BIN/postmap" -c "$CONF" "hash:$T/access" || mr_fail "postmap failed"
mkdir -p "$Q$T"
cp "$T/access.db" "$Q$T/access.db"
"$MR" -c "$CONF" start || mr_fail "start failed"
out=$(python3 - "$P" <<'PY' 2>&1
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.test")
# smtpd_delay_reject: the sender's verdict comes at RCPT TO.
s.mail("blocked@example.com")
blocked = s.rcpt("someone@example.org")
s.rset()
s.mail("fine@example.com")
fine = s.rcpt("someone@example.org")
print(blocked[0], fine[0], blocked[1].decode())
s.quit()
PY
) || mr_fail "the SMTP session failed: $out"
echo "RCPT TO replies: $out"
# The other sender passes the table (no cleanup runs here: 451 at RCPT).
case "$out" in
    "554 451 5.7.1 <blocked@example.com>: Sender address rejected: no mail from you") ;;
    *) mr_fail "expected 554 for the blocked sender and 451 for the other, got: $out" ;;
esac
pid=$(pgrep -f -P "$(cat "$Q/pid/master.pid" | tr -d ' ')" smtpd | head -n 1)
[ -n "$pid" ] && [ "$(readlink "/proc/$pid/root")" = "$Q" ] || mr_fail "smtpd is not chrooted in $Q"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "chroot_tables: ok"
