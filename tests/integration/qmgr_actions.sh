#!/bin/bash
# qmgr_actions.sh - REDIRECT, FILTER, HOLD and BCC end to end: smtpd's
# access-map actions (check_recipient_access, check_sender_access),
# header_checks REDIRECT and FILTER, and content_filter on an smtpd service
# (-o), through cleanup's queue file to qmgr. The filter transport is a pipe
# whose command records its nexthop and recipients. A third smtpd service
# with receive_override_options (as after a content filter) skips address
# mappings, header checks and unknown-recipient checks.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
if [ "$(id -u)" -eq 0 ]; then PUSER=nobody; else PUSER=$(id -un); fi
P=$(mr_free_port)
P2=$(mr_free_port)
P3=$(mr_free_port)
qs_setup "127.0.0.1:$P inet n - n - - smtpd" \
    "127.0.0.1:$P2 inet n - n - - smtpd -o content_filter=filt:cfhop" \
    "127.0.0.1:$P3 inet n - n - - smtpd -o receive_override_options=no_unknown_recipient_checks,no_address_mappings,no_header_body_checks"
echo "filt      unix  -       n       n       -       -       pipe user=$PUSER argv=$T/record.sh \${nexthop} \${recipient}" \
    >>"$CONF/master.cf"
OUTD="$T/out"
mkdir -p "$OUTD"
chmod 1777 "$OUTD"
cat >"$T/record.sh" <<SH
#!/bin/sh
f=\$(mktemp "$OUTD/run.XXXXXX")
echo "\$@" > "\$f"
cat > /dev/null
SH
chmod 755 "$T/record.sh"
printf '%s\n' \
    "redir@a.test REDIRECT boss@b.test" \
    "filt@a.test FILTER filt:[127.0.0.1]:10025" \
    "hold@a.test HOLD" \
    "bcc@a.test BCC archive@b.test" >"$T/rcpt_access"
printf 'held@s.test HOLD\n' >"$T/sender_access"
printf '%s\n' "/^Subject: redirect-me/ REDIRECT hdr@b.test" "/^Subject: filter-me/ FILTER filt:hdrhop" >"$T/header_checks"
printf 'known@mx.example.test x\n' >"$T/local_rcpts"
printf 'alias@c.test target@c.test\n' >"$T/virtual"
{
    echo "local_recipient_maps = texthash:$T/local_rcpts"
    echo "virtual_alias_maps = texthash:$T/virtual"
    echo "smtpd_recipient_restrictions = check_sender_access texthash:$T/sender_access," \
        "check_recipient_access texthash:$T/rcpt_access, permit_mynetworks, reject_unauth_destination"
    echo "header_checks = regexp:$T/header_checks"
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

# send PORT SENDER SUBJECT RCPT... prints the queue ID.
send() {
    python3 - "$@" <<'PY'
import smtplib, sys
port, sender, subject, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
s = smtplib.SMTP("127.0.0.1", port, timeout=20)
s.ehlo("client.example")
s.mail(sender)
for r in rcpts:
    code, text = s.rcpt(r)
    assert code == 250, (r, code, text)
code, text = s.data(("Subject: %s\r\n\r\nbody\r\n" % subject).encode())
assert code == 250, (code, text)
print(text.decode().rsplit(" ", 1)[1])
s.quit()
PY
}
runs_with() { grep -lxF -- "$1" "$OUTD"/run.* 2>/dev/null | head -n 1; }
has_run() { [ -n "$(runs_with "$1")" ]; }

# 1. REDIRECT (access): one delivery, to the redirect address, orig_to the recipient.
ID=$(send "$P" s@example.org plain redir@a.test other@c.test) || mr_fail "send redirect"
grep -q "NOQUEUE: redirect: RCPT from unknown\[127\.0\.0\.1\]: <redir@a\.test>: Recipient address triggers REDIRECT boss@b\.test; from=<s@example\.org> to=<redir@a\.test> proto=ESMTP helo=<client\.example>" \
    "$T/maillog" || mr_fail "smtpd redirect line"
mr_wait_for "$ID removed" grep -q "$ID: removed" "$T/maillog"
grep -Eq "discard\[[0-9]+\]: $ID: to=<boss@b\.test>, orig_to=<redir@a\.test>, relay=none, .*status=sent" "$T/maillog" ||
    mr_fail "redirect delivery"
[ "$(grep -c "$ID: to=<" "$T/maillog")" -eq 1 ] || mr_fail "redirect: more than one delivery: $(grep "$ID: to=" "$T/maillog")"

# 2. FILTER (access): every recipient through filt:[127.0.0.1]:10025.
ID=$(send "$P" s@example.org plain filt@a.test x@c.test) || mr_fail "send filter"
mr_wait_for "filter run" has_run '[127.0.0.1]:10025 filt@a.test x@c.test'
mr_wait_for "$ID removed" grep -q "$ID: removed" "$T/maillog"
grep -Eq "pipe\[[0-9]+\]: $ID: to=<x@c\.test>, relay=filt, .*status=sent" "$T/maillog" || mr_fail "filter delivery"

# 3. HOLD (access): the message waits in hold/ until postsuper -H.
ID=$(send "$P" s@example.org plain hold@a.test) || mr_fail "send hold"
grep -q "NOQUEUE: hold: RCPT from unknown\[127\.0\.0\.1\]: <hold@a\.test>: Recipient address triggers HOLD action; from=<s@example\.org> to=<hold@a\.test> proto=ESMTP helo=<client\.example>" \
    "$T/maillog" || mr_fail "smtpd hold line"
mr_wait_for "$ID in hold/" test -f "$Q/hold/$ID"
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -p | grep -q "^$ID!" || mr_fail "mailq does not show $ID on hold"
grep -q "$ID: to=<" "$T/maillog" && mr_fail "a held message was delivered"
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postsuper" -H "$ID" || mr_fail "postsuper -H"
mr_wait_for "$ID delivered after release" grep -Eq "$ID: to=<hold@a\.test>, relay=none, .*status=sent" "$T/maillog"

# 4. BCC (access): the BCC address gets a copy too.
ID=$(send "$P" s@example.org plain bcc@a.test) || mr_fail "send bcc"
mr_wait_for "$ID removed" grep -q "$ID: removed" "$T/maillog"
for r in bcc@a.test archive@b.test; do
    grep -Eq "$ID: to=<$r>, relay=none, .*status=sent" "$T/maillog" || mr_fail "bcc: no delivery to $r"
done

# 5. HOLD (sender access).
ID=$(send "$P" held@s.test plain y@c.test) || mr_fail "send sender hold"
mr_wait_for "$ID in hold/" test -f "$Q/hold/$ID"
grep -q "hold: RCPT from unknown\[127\.0\.0\.1\]: <held@s\.test>: Sender address triggers HOLD action" "$T/maillog" ||
    mr_fail "sender hold line"

# 6. header_checks REDIRECT and FILTER.
ID=$(send "$P" s@example.org redirect-me y@c.test) || mr_fail "send header redirect"
mr_wait_for "$ID header redirect" grep -Eq "$ID: to=<hdr@b\.test>, orig_to=<y@c\.test>, relay=none, .*status=sent" "$T/maillog"
grep -q "$ID: redirect: header Subject: redirect-me" "$T/maillog" || mr_fail "cleanup redirect line"
ID=$(send "$P" s@example.org filter-me y@c.test) || mr_fail "send header filter"
mr_wait_for "header filter run" has_run 'hdrhop y@c.test'

# 7. content_filter on the second smtpd service (-o).
ID=$(send "$P2" s@example.org plain z@c.test) || mr_fail "send content_filter"
mr_wait_for "content_filter run" has_run 'cfhop z@c.test'
mr_wait_for "$ID delivered through filt" grep -Eq "$ID: to=<z@c\.test>, relay=filt, .*status=sent" "$T/maillog"
# 8. receive_override_options: the same message on the normal service is
# aliased and redirected, on the third it is left alone; an unknown local
# recipient is refused by the first and accepted by the third.
ID=$(send "$P" s@example.org redirect-me alias@c.test) || mr_fail "send mapped"
mr_wait_for "$ID mapped" grep -Eq "$ID: to=<hdr@b\.test>, orig_to=<alias@c\.test>, relay=none, .*status=sent" "$T/maillog"
ID=$(send "$P3" s@example.org redirect-me alias@c.test unknown@mx.example.test) || mr_fail "send with overrides"
mr_wait_for "$ID removed" grep -q "$ID: removed" "$T/maillog"
grep -Eq "$ID: to=<alias@c\.test>, relay=none, .*status=sent" "$T/maillog" || mr_fail "overrides: alias or redirect applied"
grep -Eq "$ID: to=<unknown@mx\.example\.test>, relay=none, .*status=sent" "$T/maillog" || mr_fail "overrides: unknown recipient"
python3 - "$P" <<'PY' || mr_fail "unknown recipient accepted without overrides"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.ehlo("client.example")
s.mail("s@example.org")
code, text = s.rcpt("unknown@mx.example.test")
assert code == 550 and b"User unknown in local recipient table" in text, (code, text)
s.quit()
PY
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "qmgr_actions: ok"
