#!/bin/bash
# smtpd_virtual_alias.sh - recipient validation with virtual_alias_maps, as
# Postfix does it after address rewriting: an address listed in a hash:
# virtual_alias_maps is accepted in every address class (here a local
# name without an account), an unlisted address of a virtual alias domain
# is refused with "User unknown in virtual alias table", and an
# unqualified RCPT TO (the seed's "rcpt to:openstack") is qualified with
# $myorigin before it is looked up.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup master mailroom postmap
P=$(mr_free_port)
QS_NO_QMGR=1 qs_setup "127.0.0.1:$P inet n - n - - smtpd"
cat >"$T/virtual" <<'EOF2'
info@alias.example    openstack@mx.example.test
tomcat@mx.example.test openstack@mx.example.test
EOF2
printf 'openstack x\n' >"$T/users"
"$MAILROOM_BIN/postmap" "hash:$T/virtual" || mr_fail "postmap virtual"
"$MAILROOM_BIN/postmap" "hash:$T/users" || mr_fail "postmap users"
cat >>"$CONF/main.cf" <<CF
myorigin = \$myhostname
virtual_alias_domains = alias.example
virtual_alias_maps = hash:$T/virtual
local_recipient_maps = hash:$T/users
CF
"$MR" -c "$CONF" start || mr_fail "start failed"

python3 - "$P" >"$T/py.out" 2>&1 <<'PY' || mr_fail "smtplib: $(cat "$T/py.out")"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.example")
assert s.mail("hadoop")[0] == 250
expect = {
    "info@alias.example": (250, b"2.1.5 Ok"),
    "nobody@alias.example": (550, b"5.1.1 <nobody@alias.example>: Recipient address rejected: "
                                  b"User unknown in virtual alias table"),
    "tomcat@mx.example.test": (250, b"2.1.5 Ok"),
    "openstack": (250, b"2.1.5 Ok"),
    "ghost": (550, b"5.1.1 <ghost>: Recipient address rejected: User unknown in local recipient table"),
}
for rcpt, want in expect.items():
    got = s.rcpt(rcpt)
    assert got == want, (rcpt, got)
code, text = s.data(b"Subject: aliases\r\n\r\nhello\r\n")
assert code == 250, (code, text)
s.quit()
PY
grep -Eq "mailroom/smtpd\[[0-9]+\]: [0-9A-F]+: reject: RCPT from unknown\[127\.0\.0\.1\]: 550 5\.1\.1 <nobody@alias\.example>: Recipient address rejected: User unknown in virtual alias table; from=<hadoop> to=<nobody@alias\.example> proto=ESMTP helo=<client\.example>\$" \
    "$T/maillog" || mr_fail "reject log line"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "smtpd_virtual_alias: ok"
