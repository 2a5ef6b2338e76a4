#!/bin/bash
# address_resolve.sh - one answer about an address from smtpd, cleanup and
# qmgr (lib/address), end to end.
#
# With recipient_delimiter = + and user@alias.example in
# virtual_alias_maps, RCPT TO:<user+tag@alias.example> is accepted, cleanup
# expands it (the unmatched extension is propagated: target+tag) and the
# message is delivered locally, not bounced as unknown. Routing operators
# in the local part of an address in a local domain are judged at RCPT as
# trivial-rewrite judges them (allow_percent_hack, swap_bangpath,
# resolve_dequoted_address): user%outside.example@local,
# outside.example!user@local and "user@outside.example"@local are relay
# attempts and refused (454 Relay access denied) instead of being accepted
# and bounced later. A trailing dot (user@mx.example.test.) and an address
# literal of our own address (user@[127.0.0.1], proxy_interfaces) are
# local: accepted and delivered by the local transport, not the default
# one.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup qmgr master mailroom postmap discard
mr_require_commands python3
P=$(mr_free_port)
qs_setup "127.0.0.1:$P inet n - n - - smtpd"
cat >"$T/virtual" <<'EOF2'
user@alias.example    target@mx.example.test
EOF2
"$MAILROOM_BIN/postmap" "hash:$T/virtual" || mr_fail "postmap virtual"
# Local mail is "sent (local)", everything else "sent (remote)": the log
# line names the transport the resolver chose.
cat >>"$CONF/main.cf" <<CF
recipient_delimiter = +
virtual_alias_domains = alias.example
virtual_alias_maps = hash:$T/virtual
local_recipient_maps =
mynetworks = 192.0.2.0/24
proxy_interfaces = 198.51.100.7
local_transport = discard:local
default_transport = discard:remote
CF
"$MR" -c "$CONF" start || mr_fail "start failed"

python3 - "$P" >"$T/py.out" 2>&1 <<'PY' || mr_fail "smtplib: $(cat "$T/py.out")"
import smtplib, sys
relay_denied = lambda a: (454, b"4.7.1 <" + a.encode() + b">: Relay access denied")
expect = [
    ("user+tag@alias.example", (250, b"2.1.5 Ok")),
    ("nobody+tag@alias.example", (550, b"5.1.1 <nobody+tag@alias.example>: Recipient address rejected: "
                                       b"User unknown in virtual alias table")),
    ("user%outside.example@mx.example.test", relay_denied("user%outside.example@mx.example.test")),
    ("outside.example!user@mx.example.test", relay_denied("outside.example!user@mx.example.test")),
    ('"user@outside.example"@mx.example.test', relay_denied('"user@outside.example"@mx.example.test')),
    ("user@[192.0.2.99]", relay_denied("user@[192.0.2.99]")),
    ("dot@mx.example.test.", (250, b"2.1.5 Ok")),
    ("lit@[127.0.0.1]", (250, b"2.1.5 Ok")),
    ("proxy@[198.51.100.7]", (250, b"2.1.5 Ok")),
]
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.example")
assert s.mail("sender@mx.example.test")[0] == 250
bad = []
for rcpt, want in expect:
    got = s.rcpt(rcpt)
    if got != want:
        bad.append((rcpt, got, want))
code, text = s.data(b"Subject: addresses\r\n\r\nhello\r\n")
assert code == 250, (code, text)
s.quit()
assert not bad, bad
PY
for line in \
    'to=<target\+tag@mx\.example\.test>, orig_to=<user\+tag@alias\.example>, relay=none, .*status=sent \(local\)$' \
    'to=<dot@mx\.example\.test>, orig_to=<dot@mx\.example\.test\.>, relay=none, .*status=sent \(local\)$' \
    'to=<lit@\[127\.0\.0\.1\]>, relay=none, .*status=sent \(local\)$' \
    'to=<proxy@\[198\.51\.100\.7\]>, relay=none, .*status=sent \(local\)$'; do
    mr_wait_for "delivery: $line" grep -Eq "mailroom/discard\[[0-9]+\]: [0-9A-F]+: $line" "$T/maillog"
done
# Every recipient is done once qmgr removes the message: only then is the
# absence of a bounce, a deferral or a remote delivery a fact.
mr_wait_for "message removed" grep -Eq 'mailroom/qmgr\[[0-9]+\]: [0-9A-F]+: removed$' "$T/maillog"
grep -Eq 'status=(bounced|deferred)|sent \(remote\)' "$T/maillog" && mr_fail "a recipient was bounced, deferred or sent remote"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "address_resolve: ok"
