#!/bin/bash
# milter_opendkim.sh - Debian's OpenDKIM as a milter, twice: the first
# smtpd service signs (OpenDKIM in sign mode, key made by opendkim-genkey
# in the temp dir), the smtp agent relays the signed message to a second
# smtpd service whose OpenDKIM verifies it with the public key from a test
# key file (TestPublicKeys) and adds Authentication-Results with dkim=pass;
# that service's content_filter hands the message to the virtual agent.
# A message changed on the way fails verification.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup qmgr virtual smtp master mailroom
[ -x /usr/sbin/opendkim ] && [ -x /usr/sbin/opendkim-genkey ] ||
    mr_fail "opendkim is not installed (scripts/install-deps installs opendkim and opendkim-tools)"

P1=$(mr_free_port)   # signing smtpd
P2=$(mr_free_port)   # verifying smtpd
DS=$(mr_free_port)   # OpenDKIM, sign mode
DV=$(mr_free_port)   # OpenDKIM, verify mode
dl_setup "127.0.0.1:$P1 inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$DS" \
    "127.0.0.1:$P2 inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$DV -o content_filter=virtual:vdom.test" \
    "smtp      unix  -       -       n       -       -       smtp"
printf 'dkim@relay.test relay.test/dkim/Maildir/\n' >"$T/vmailbox"
dl_vmail vdom.test
printf 'relay.test smtp:[127.0.0.1]:%s\n' "$P2" >"$T/transport"
echo "transport_maps = texthash:$T/transport" >>"$CONF/main.cf"

mkdir -p "$T/dkim"
/usr/sbin/opendkim-genkey -b 2048 -D "$T/dkim" -d example.test -s mr2026 || mr_fail "opendkim-genkey"
# The TXT record as one line: "NAME CONTENTS".
python3 - "$T/dkim/mr2026.txt" >"$T/dkim/keys" <<'PY' || mr_fail "public key file"
import re, sys
text = open(sys.argv[1]).read()
print("mr2026._domainkey.example.test " + "".join(re.findall(r'"([^"]*)"', text)))
PY
common() {
    echo "Socket inet:$1@127.0.0.1"
    echo "PidFile $T/dkim/$2.pid"
    echo "Syslog no"
    echo "Background no"
    echo "RequireSafeKeys false"
    echo "AuthservID mx.example.test"
    echo "Canonicalization relaxed/simple"
    [ "$(id -u)" -eq 0 ] && echo "UserID root"
}
{
    common "$DS" sign
    echo "Mode s"
    echo "Domain example.test"
    echo "Selector mr2026"
    echo "KeyFile $T/dkim/mr2026.private"
    echo "InternalHosts 127.0.0.1"
} >"$T/dkim/sign.conf"
{
    common "$DV" verify
    echo "Mode v"
    echo "TestPublicKeys $T/dkim/keys"
    # 127.0.0.1 is not internal here: its mail is verified, not signed.
    echo "InternalHosts 192.0.2.99"
} >"$T/dkim/verify.conf"
DKIM_PIDS=""
dkim_cleanup() {
    local p
    for p in $DKIM_PIDS; do kill "$p" 2>/dev/null; done
    dl_cleanup
}
trap dkim_cleanup EXIT
for mode in sign verify; do
    /usr/sbin/opendkim -f -x "$T/dkim/$mode.conf" >"$T/dkim/$mode.out" 2>&1 &
    DKIM_PIDS="$DKIM_PIDS $!"
done
for port in $DS $DV; do
    mr_wait_for "OpenDKIM on $port" python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port"
done
"$MR" -c "$CONF" start || mr_fail "start failed"

send() {
    python3 - "$@" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.example")
msg = ("From: Sender <sender@example.test>\r\nTo: <dkim@relay.test>\r\nSubject: %s\r\n"
       "Date: Mon, 07 Dec 2026 00:00:00 +0000\r\nMessage-ID: <%s@example.test>\r\n\r\n"
       "signed body line one\r\nand two\r\n") % (sys.argv[2], sys.argv[2])
s.sendmail("sender@example.test", ["dkim@relay.test"], msg)
s.quit()
PY
}
send "$P1" signed-once || mr_fail "send to the signing smtpd"
dl_wait_log "to=<dkim@relay\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P2, .*status=sent"
dl_wait_log "to=<dkim@relay\.test>, relay=virtual, .*status=sent \(delivered to maildir\)"
F=$(ls "$VBASE"/relay.test/dkim/Maildir/new/*)
[ -f "$F" ] || mr_fail "no delivered message"
python3 - "$F" <<'PY' || mr_fail "signed and verified message: $(cat "$F"; cat "$T"/dkim/*.out)"
import sys
head = open(sys.argv[1]).read().partition("\n\n")[0]
unfolded = head.replace("\n\t", " ").replace("\n ", " ")
lines = unfolded.split("\n")
sig = [l for l in lines if l.startswith("DKIM-Signature:")]
assert len(sig) == 1, lines
assert "d=example.test" in sig[0] and "s=mr2026" in sig[0], sig
ar = [l for l in lines if l.startswith("Authentication-Results:")]
assert len(ar) == 1, lines
assert ar[0].startswith("Authentication-Results: mx.example.test;"), ar
assert "dkim=pass" in ar[0] and "header.d=example.test" in ar[0], ar
PY

# The verifier on its own: a signature that does not match the body fails.
python3 - "$P2" "$F" <<'PY' || mr_fail "send a changed message"
import smtplib, sys
text = open(sys.argv[2]).read()
head, _, body = text.partition("\n\n")
keep = [l for l in head.split("\n") if not l.startswith(("Authentication-Results:", "Return-Path:", "Delivered-To:"))]
msg = "\r\n".join(keep) + "\r\n\r\n" + body.replace("signed body", "changed body").replace("\n", "\r\n")
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.sendmail("sender@example.test", ["dkim@relay.test"], msg)
s.quit()
PY
mr_wait_for "second delivery" test "$(ls "$VBASE"/relay.test/dkim/Maildir/new | wc -l)" -eq 2
G=$(ls -t "$VBASE"/relay.test/dkim/Maildir/new/* | head -n 1)
python3 -c 'import sys; print(open(sys.argv[1]).read().partition("\n\n")[0].replace("\n\t"," ").replace("\n "," "))' \
    "$G" >"$T/unfolded" || mr_fail "unfold the header"
grep -Eq "^Authentication-Results: mx\.example\.test;.*dkim=fail" "$T/unfolded" ||
    mr_fail "changed message not dkim=fail: $(cat "$G")"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "milter_opendkim: ok"
