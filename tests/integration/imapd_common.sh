# imapd_common.sh - the instance imapd.sh and imapd_clients.sh test: master,
# smtpd, the virtual agent for v.test (alice@v.test's Maildir is $MD),
# authd with alice in a passwd-file (password "wonderland"), imapd on $P
# (STARTTLS), $PS (imaps) and $PL (imap_max_line_length = 2048,
# message_size_limit = 100000), $PM (imap_literal_minus = yes), $PX
# (mail_max_userip_connections = 2, a 5 s autologout, "Still here" every
# second), smtpd on $PSMTP. Sourced after
# mr_instance.sh and delivery_common.sh; starts the instance. Gives
# deliver SUBJECT BODY (through sendmail and the virtual agent, waited for)
# server_flags TEXT (the info letters of the server's message with TEXT) and
# check_two_way_sync NAME RUN (a sync client's scenario against the local
# Maildir $T/local/INBOX; RUN is the function that runs one sync).
P=$(mr_free_port)
PS=$(mr_free_port)
PL=$(mr_free_port)
PSMTP=$(mr_free_port)
PM=$(mr_free_port)
PX=$(mr_free_port)
dl_setup "authd     unix  -       -       n       -       -       authd" \
    "127.0.0.1:$PSMTP inet n - n - - smtpd" \
    "127.0.0.1:$P inet n - n - - imapd" \
    "127.0.0.1:$PS inet n - n - - imapd -o imap_tls_wrappermode=yes" \
    "127.0.0.1:$PL inet n - n - - imapd -o imap_max_line_length=2048 -o message_size_limit=100000" \
    "127.0.0.1:$PM inet n - n - - imapd -o imap_literal_minus=yes" \
    "127.0.0.1:$PX inet n - n - - imapd -o mail_max_userip_connections=2 -o imap_idle_timeout=5s -o imap_idle_notify_interval=1s"
dl_vmail v.test
MD="$VBASE/v.test/alice/Maildir"
echo "alice@v.test v.test/alice/Maildir/" >"$T/vmailbox"
cat >>"$CONF/main.cf" <<EOF2
authd_modules = passwd-file:$T/users
auth_failure_delay = 0
login_greeting = Dovecot ready.
auth_mechanisms = plain login
ssl_cert = <$T/cert.pem
ssl_key = <$T/key.pem
mynetworks = 127.0.0.0/8
EOF2
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
    -subj "/CN=mx.example.test" >/dev/null 2>&1 || mr_fail "openssl req"
chmod 644 "$T/key.pem"
echo "alice@v.test:{PLAIN}wonderland:$VUID:$VGID::$VBASE/v.test/alice::userdb_mail=maildir:$MD" >"$T/users"
chmod 644 "$T/users"

"$MR" -c "$CONF" start || mr_fail "start failed"
mr_wait_for "authd socket" test -S "$Q/private/authd"

deliveries() { grep -c "relay=virtual, .*status=sent" "$T/maillog" 2>/dev/null || true; }
deliver() {
    local n
    n=$(deliveries)
    printf 'From: bob@example.test\nSubject: %s\n\n%s\n' "$1" "$2" |
        dl_send -f bob@example.test alice@v.test || mr_fail "sendmail $1"
    mr_wait_for "delivery of $1" sh -c "[ \$(grep -c 'relay=virtual, .*status=sent' '$T/maillog') -gt $n ]"
}
# The flags of the server's message whose text has $1 (the info letters).
server_flags() {
    local f
    f=$(grep -l -- "$1" "$MD"/cur/* "$MD"/new/* 2>/dev/null | head -n 1)
    [ -n "$f" ] || return 1
    case $f in *:2,*) echo "${f##*:2,}" ;; *) echo "" ;; esac
}
# The server's message with $1 gets \Answered, the one with $2 is expunged.
server_answer_and_expunge() {
    python3 - "$P" "$1" "$2" <<'PY' || mr_fail "server-side changes"
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("alice@v.test", "wonderland")
m.select("INBOX")
typ, data = m.search(None, "BODY", '"%s"' % sys.argv[2])
assert data[0], data
m.store(data[0].decode(), "+FLAGS", "(\\Answered)")
typ, data = m.search(None, "BODY", '"%s"' % sys.argv[3])
assert data[0], data
m.store(data[0].decode(), "+FLAGS", "(\\Deleted)")
m.expunge()
m.logout()
PY
}
# Two deliveries come down; a flag change, a deletion and a new local
# message go up; the server's flag change and expunge come down again.
check_two_way_sync() {
    local name=$1 run=$2 f
    local_file() { grep -l -- "$1" "$T"/local/INBOX/cur/* "$T"/local/INBOX/new/* 2>/dev/null | head -n 1; }
    deliver "one" "body one"
    deliver "two" "body two"
    $run
    [ -n "$(local_file "body one")" ] && [ -n "$(local_file "body two")" ] ||
        mr_fail "$name did not fetch both: $(ls -R "$T/local")"
    # Up: "one" read and flagged, "two" deleted, a new message written locally.
    f=$(local_file "body one")
    mv "$f" "$T/local/INBOX/cur/$(basename "${f%%:2,*}"):2,FS"
    rm -f "$(local_file "body two")"
    printf 'From: alice@v.test\nSubject: three\nMessage-ID: <three@v.test>\n\nbody three\n' \
        >"$T/local/INBOX/new/1700000000.local1.host"
    $run
    [ "$(server_flags "body one")" = "FS" ] || mr_fail "$name: flags not synced up: $(ls "$MD/cur" "$MD/new")"
    server_flags "body two" >/dev/null && mr_fail "$name: deletion not synced up: $(ls "$MD/cur" "$MD/new")"
    server_flags "body three" >/dev/null || mr_fail "$name: new message not uploaded: $(ls "$MD/cur" "$MD/new")"
    # Down: the server answers "three" and expunges "one".
    server_answer_and_expunge "body three" "body one"
    $run
    [ -z "$(local_file "body one")" ] || mr_fail "$name: expunge not synced down: $(ls -R "$T/local/INBOX")"
    case $(local_file "body three") in
    *:2,*R*) ;;
    *) mr_fail "$name: flag not synced down: $(ls -R "$T/local/INBOX")" ;;
    esac
}
