#!/bin/bash
# smtpd_proxy.sh - the before-queue content filter of Postfix's
# SMTPD_PROXY_README: an smtpd with smtpd_proxy_filter relays each
# transaction to a Python SMTP proxy (smtp_filter.py), which refuses some
# content and passes the rest on to a re-injection smtpd; the client gets
# the proxy's replies: the second smtpd's "250 ... queued as ID" (that ID is
# delivered) or the proxy's 554, with nothing queued. A proxy that is down
# gives 451 4.3.0, and so does one that does not answer within
# smtpd_proxy_timeout. A proxy that announces XFORWARD, SIZE and 8BITMIME
# gets XFORWARD NAME ADDR PROTO HELO and MAIL FROM with SIZE= and BODY=;
# its refusal of DATA is the client's reply to DATA.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup qmgr discard master mailroom
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
    mr_fail "python3-aiosmtpd is not installed (scripts/install-deps installs it)"

P_IN=$(mr_free_port)
P_REINJECT=$(mr_free_port)
P_PROXY=$(mr_free_port)
P_SLOW=$(mr_free_port)
P_MUTE=$(mr_free_port)
P_XIN=$(mr_free_port)
P_XPROXY=$(mr_free_port)
qs_setup "127.0.0.1:$P_IN inet n - n - - smtpd -o smtpd_proxy_filter=127.0.0.1:$P_PROXY -o smtpd_proxy_timeout=20s" \
    "127.0.0.1:$P_XIN inet n - n - - smtpd -o smtpd_proxy_filter=127.0.0.1:$P_XPROXY -o smtpd_proxy_timeout=20s" \
    "127.0.0.1:$P_SLOW inet n - n - - smtpd -o smtpd_proxy_filter=127.0.0.1:$P_MUTE -o smtpd_proxy_timeout=2s" \
    "127.0.0.1:$P_REINJECT inet n - n - - smtpd -o smtpd_proxy_filter= -o smtpd_recipient_restrictions=permit_mynetworks,reject -o mynetworks=127.0.0.0/8"
echo "local_recipient_maps =" >>"$CONF/main.cf"

PROXY_PID=""
MUTE_PID=""
XPROXY_PID=""
proxy_cleanup() {
    [ -z "$PROXY_PID" ] || kill "$PROXY_PID" 2>/dev/null || true
    [ -z "$XPROXY_PID" ] || kill "$XPROXY_PID" 2>/dev/null || true
    [ -z "$MUTE_PID" ] || kill "$MUTE_PID" 2>/dev/null || true
    mr_cleanup
}
trap proxy_cleanup EXIT
/usr/bin/python3 "$HERE/smtp_filter.py" --port "$P_PROXY" --ready "$T/proxy.ready" --next "$P_REINJECT" \
    --reject FORBIDDEN-CONTENT --header "X-Proxy: checked" --log "$T/proxy.passes" >"$T/proxy.log" 2>&1 &
PROXY_PID=$!
mr_wait_for "proxy" test -f "$T/proxy.ready"
/usr/bin/python3 "$HERE/smtp_filter.py" --port "$P_XPROXY" --ready "$T/xproxy.ready" --next "$P_REINJECT" \
    --xforward --size-limit 10000000 --refuse-data data-refuse --log "$T/xproxy.passes" >"$T/xproxy.log" 2>&1 &
XPROXY_PID=$!
mr_wait_for "XFORWARD proxy" test -f "$T/xproxy.ready"
# A proxy that accepts connections and never says a word.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5)
open(sys.argv[2], "w").close(); time.sleep(600)' "$P_MUTE" "$T/mute.ready" &
MUTE_PID=$!
mr_wait_for "mute proxy" test -f "$T/mute.ready"
"$MR" -c "$CONF" start || mr_fail "start failed"

# send BODY-LINE [PORT]: prints the RCPT reply and the final reply, "CODE TEXT" each.
send() { python3 "$HERE/smtp_send.py" "${2:-$P_IN}" --subject proxied --line "$1" --rcpt-reply; }

# 1. Clean: the re-injection smtpd queues it; the client gets its queue ID.
R=$(send harmless) || mr_fail "send clean: $R"
LAST=$(tail -n 1 <<<"$R")
ID=$(sed -n 's/^250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p' <<<"$LAST")
[ -n "$ID" ] || mr_fail "clean message got: $R"
grep -Eq "mailroom/smtpd\[[0-9]+\]: NOQUEUE: proxy-accept: END-OF-MESSAGE: 250 2\.0\.0 Ok: queued as $ID; from=<alice@example\.org> to=<bob@remote\.test> proto=ESMTP helo=<client\.example>\$" \
    "$T/maillog" || mr_fail "proxy-accept log line"
grep -Eq "mailroom/smtpd\[[0-9]+\]: $ID: client=.*\[127\.0\.0\.1\]" "$T/maillog" || mr_fail "re-injection client= line"
mr_wait_for "proxied message delivered" grep -q "$ID: to=<bob@remote.test>, .*status=sent" "$T/maillog"

# A large message streams through the proxy too.
R=$(python3 "$HERE/smtp_send.py" "$P_IN" --subject large --lines 20000) || mr_fail "send large: $R"
grep -q "^250 2\.0\.0 Ok: queued as [0-9A-F]*\$" <<<"$R" || mr_fail "large message through the proxy got: $R"

# 2. Refused by the proxy: its 554 reaches the client; nothing is queued.
R=$(send FORBIDDEN-CONTENT) || mr_fail "send forbidden: $R"
[ "$(tail -n 1 <<<"$R")" = "554 5.7.1 Rejected by the filter: FORBIDDEN-CONTENT" ] || mr_fail "forbidden got: $R"
grep -Eq "NOQUEUE: proxy-reject: END-OF-MESSAGE: 554 5\.7\.1 Rejected by the filter: FORBIDDEN-CONTENT; from=<alice@example\.org>" \
    "$T/maillog" || mr_fail "proxy-reject log line"
[ "$(grep -c '^reject$' "$T/proxy.passes")" = 1 ] || mr_fail "proxy log: $(cat "$T/proxy.passes")"
[ "$(grep -c '^pass ' "$T/proxy.passes")" = 2 ] || mr_fail "proxy passes: $(cat "$T/proxy.passes")"

# 2b. XFORWARD and the MAIL FROM parameters the proxy announced; a DATA
# the proxy refuses is refused at DATA, before any content is sent.
python3 - "$P_XIN" >"$T/xsend" <<'PY' || mr_fail "XFORWARD proxy: $(cat "$T/xsend")"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.example")
code, text = s.mail("alice@example.org", ["SIZE=1234", "BODY=8BITMIME"])
assert code == 250, (code, text)
code, text = s.rcpt("bob@remote.test")
assert code == 250, (code, text)
code, text = s.data("Subject: xforward\r\n\r\nhello\r\n")
print(code, text.decode())
code, text = s.mail("alice@example.org")
assert code == 250, (code, text)
code, text = s.rcpt("data-refuse@remote.test")
assert code == 250, (code, text)
s.putcmd("DATA")
code, text = s.getreply()
print(code, text.decode())
s.quit()
PY
XID=$(sed -n '1s/^250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p' "$T/xsend")
[ -n "$XID" ] || mr_fail "through the XFORWARD proxy: $(cat "$T/xsend")"
[ "$(sed -n 2p "$T/xsend")" = "554 5.7.1 DATA refused by the filter" ] || mr_fail "DATA refusal: $(cat "$T/xsend")"
grep -Eq "^xforward NAME=[^ ]+ ADDR=127\.0\.0\.1 PROTO=ESMTP HELO=client\.example\$" "$T/xproxy.passes" ||
    mr_fail "XFORWARD: $(cat "$T/xproxy.passes")"
grep -qx "mail <alice@example.org> SIZE=1234 BODY=8BITMIME" "$T/xproxy.passes" || mr_fail "MAIL FROM: $(cat "$T/xproxy.passes")"
grep -qx "refuse-data" "$T/xproxy.passes" || mr_fail "the proxy refused no DATA: $(cat "$T/xproxy.passes")"
grep -Eq "NOQUEUE: proxy-reject: DATA: 554 5\.7\.1 DATA refused by the filter; from=<alice@example\.org> to=<data-refuse@remote\.test> proto=ESMTP helo=<client\.example>\$" \
    "$T/maillog" || mr_fail "proxy-reject DATA log line"
mr_wait_for "XFORWARD message delivered" grep -q "$XID: to=<bob@remote.test>, .*status=sent" "$T/maillog"

# 3. The proxy down: 451 4.3.0 at RCPT.
kill "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null
PROXY_PID=""
R=$(send harmless) || mr_fail "send with the proxy down: $R"
[ "$R" = "451 4.3.0 Error: queue file write error" ] || mr_fail "proxy down got: $R"
grep -Eq "warning: .*proxy inet:127\.0\.0\.1:$P_PROXY: connect: Connection refused" "$T/maillog" ||
    mr_fail "proxy down warning"

# 4. A proxy that never answers: 451 4.3.0 after smtpd_proxy_timeout.
R=$(send harmless "$P_SLOW") || mr_fail "send to the mute proxy: $R"
[ "$R" = "451 4.3.0 Error: queue file write error" ] || mr_fail "mute proxy got: $R"
grep -Eq "warning: .*proxy inet:127\.0\.0\.1:$P_MUTE: timeout" "$T/maillog" || mr_fail "proxy timeout warning"

mr_wait_for "queue idle" mr_queue_idle
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "smtpd_proxy: ok"
