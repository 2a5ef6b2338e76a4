#!/bin/bash
# submit_smtp.sh - sendmail -bs: SMTP on standard input and output.
#
# swaks --pipe and Python (subprocess pipes, pipelined commands) talk SMTP
# to "sendmail -bs"; each accepted message goes through postdrop and
# pickup like any local submission ("250 2.0.0 Ok: queued as ID" names the
# maildrop file) and is delivered by the virtual agent into a Maildir with
# the envelope the client gave and the Received: headers Postfix writes
# for a stand-alone session. message_size_limit is honoured (552).
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
mr_require_commands swaks
dl_setup
printf 'bob@box.test box.test/bob/\ncarol@box.test box.test/carol/\n' >"$T/vmailbox"
dl_vmail box.test
echo "message_size_limit = 50000" >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"
SENDMAIL="$MAILROOM_BIN/sendmail"

# 1. Python, pipelined: two messages in one write, replies read back.
python3 - "$SENDMAIL" "$CONF" >"$T/py.out" <<'PY' || mr_fail "python -bs: $(cat "$T/py.out")"
import os, subprocess, sys
env = dict(os.environ, MAIL_CONFIG=sys.argv[2])
p = subprocess.Popen([sys.argv[1], "-bs"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
banner = p.stdout.readline()
assert banner == b"220 mx.example.test ESMTP mailroom\r\n", banner
p.stdin.write(b"EHLO client.test\r\n")
p.stdin.flush()
ehlo = []
while True:
    line = p.stdout.readline()
    ehlo.append(line)
    if line[3:4] == b" ":
        break
assert b"250-PIPELINING\r\n" in ehlo and b"250-DSN\r\n" in ehlo, ehlo
p.stdin.write(b"MAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@box.test>\r\nDATA\r\n"
              b"Subject: first via -bs\r\n\r\nline one\r\n..leading dot\r\n.\r\n"
              b"MAIL FROM:<alice@sender.test>\r\nRCPT TO:<carol@box.test>\r\nRCPT TO:<bob@box.test>\r\nDATA\r\n"
              b"Subject: second via -bs\r\n\r\nline two\r\n.\r\n"
              b"RSET\r\nNOOP\r\nVRFY bob\r\nDATA\r\nQUIT\r\n")
p.stdin.close()
out = p.stdout.read().decode().split("\r\n")
p.wait()
print("\n".join(out))
assert p.returncode == 0, p.returncode
want = ["250 2.1.0 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>", None,
        "250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>", None,
        "250 2.0.0 Ok", "250 2.0.0 Ok", "252 2.0.0 bob", "503 5.5.1 Error: need RCPT command", "221 2.0.0 Bye", ""]
assert len(out) == len(want), out
for got, w in zip(out, want):
    if w is None:
        assert got.startswith("250 2.0.0 Ok: queued as "), got
    else:
        assert got == w, (got, w)
PY
ID1=$(sed -n 's/^250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p' "$T/py.out" | sed -n 1p)
ID2=$(sed -n 's/^250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p' "$T/py.out" | sed -n 2p)
[ -n "$ID1" ] && [ -n "$ID2" ] && [ "$ID1" != "$ID2" ] || mr_fail "queue IDs: $(cat "$T/py.out")"
dl_wait_log "virtual\[[0-9]+\]: [0-9A-F]+: to=<carol@box\.test>, relay=virtual, .*status=sent"
mr_wait_for "three deliveries" sh -c "[ \$(grep -c 'relay=virtual, .*status=sent' '$T/maillog') -ge 3 ]"
F=$(grep -l "Subject: first via -bs" "$VBASE"/box.test/bob/new/* | head -n 1)
[ -n "$F" ] || mr_fail "first message not in bob's Maildir"
python3 - "$F" "$ID1" <<'PY' || mr_fail "first message content"
import email, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"))
assert msg["Return-Path"] == "<alice@sender.test>", msg["Return-Path"]
assert msg["Delivered-To"] == "bob@box.test", msg["Delivered-To"]
rec = [" ".join(h.split()) for h in msg.get_all("Received")]
mine = [r for r in rec if "localhost [127.0.0.1]" in r]
assert mine and mine[0].startswith("from client.test (localhost [127.0.0.1]) by mx.example.test (mailroom) with ESMTP id %s for <bob@box.test>;" % sys.argv[2]), rec
assert any(r.startswith("by mx.example.test (mailroom, from userid ") and ("id %s;" % sys.argv[2]) in r for r in rec), rec
body = msg.get_payload()
assert body == "line one\n.leading dot\n", repr(body)
PY
grep -q "Subject: second via -bs" "$VBASE"/box.test/carol/new/* || mr_fail "second message not in carol's Maildir"

# 2. swaks through a pipe, with pipelining.
swaks --pipe "env MAIL_CONFIG=$CONF $SENDMAIL -bs" --from dave@sender.test --to bob@box.test \
    --header "Subject: via swaks" --body "swaks body" --pipeline --no-tls >"$T/swaks.out" 2>&1 ||
    mr_fail "swaks: $(cat "$T/swaks.out")"
grep -q "<-  250 2.0.0 Ok: queued as [0-9A-F]*" "$T/swaks.out" || mr_fail "swaks: no queue ID: $(cat "$T/swaks.out")"
mr_wait_for "swaks message delivered" sh -c "grep -ls 'Subject: via swaks' '$VBASE'/box.test/bob/new/* >/dev/null"
grep -l "Subject: via swaks" "$VBASE"/box.test/bob/new/* | xargs grep -q "^Return-Path: <dave@sender.test>" ||
    mr_fail "swaks message envelope sender"

# 3. message_size_limit: 552 after the data, nothing queued.
python3 - "$SENDMAIL" "$CONF" <<'PY' || mr_fail "size limit"
import os, subprocess, sys
env = dict(os.environ, MAIL_CONFIG=sys.argv[2])
data = b"HELO c\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<bob@box.test>\r\nDATA\r\nSubject: big\r\n\r\n" + \
    (b"x" * 70 + b"\r\n") * 1000 + b".\r\nMAIL FROM:<a@sender.test> SIZE=999999\r\nQUIT\r\n"
out = subprocess.run([sys.argv[1], "-bs"], input=data, capture_output=True, env=env).stdout.decode()
print(out)
lines = out.split("\r\n")
assert "552 5.3.4 Message size exceeds fixed limit" in lines, lines
assert lines.count("552 5.3.4 Message size exceeds fixed limit") == 2, lines
assert not any("queued as" in l for l in lines), lines
PY
# Anything queued would be in the queue or delivered by the time it is idle.
mr_wait_for "queue empty" mr_queue_idle
grep -rqs "Subject: big" "$VBASE" && mr_fail "the oversized message was delivered"
[ -z "$(find "$Q/maildrop" -type f)" ] || mr_fail "maildrop not empty"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "submit_smtp: ok"
