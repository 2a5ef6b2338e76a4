#!/bin/bash
# run_demo.sh - `make run`'s script (scripts/run-demo) against a temp dir:
# it starts a demo instance on the ports given to it, prints commands, and
# those commands work as printed: swaks over SMTP and over submission
# (STARTTLS + AUTH PLAIN against authd with the demo user), sendmail, curl
# over pop3:// and pop3s:// (the self-signed certificate made at the first
# start), the Python poplib one-liner, curl over imap:// and imaps:// and
# the Python imaplib one-liner against the demo's imapd; a second start says the demo is
# already running and starts nothing; AUTH without TLS is not offered on
# submission; the printed stop command stops every process.
source "$(dirname "$0")/mr_instance.sh"
: "${MAILROOM_SRC:?MAILROOM_SRC must name the source tree}"
: "${MAILROOM_BUILD:?MAILROOM_BUILD must name the build directory}"
mr_enter_netns "$@"
mr_require_programs master smtpd pop3d imapd authd virtual mailroom postmap newaliases
mr_require_commands swaks curl openssl
mr_setup
DEMO="$T/demo"
export MAILROOM_DEMO_SMTP="127.0.0.1:$(mr_free_port)"
export MAILROOM_DEMO_SUBMISSION="127.0.0.1:$(mr_free_port)"
export MAILROOM_DEMO_POP3="127.0.0.1:$(mr_free_port)"
export MAILROOM_DEMO_POP3S="127.0.0.1:$(mr_free_port)"
export MAILROOM_DEMO_IMAP="127.0.0.1:$(mr_free_port)"
export MAILROOM_DEMO_IMAPS="127.0.0.1:$(mr_free_port)"
RUN="$MAILROOM_SRC/scripts/run-demo"
demo_cleanup() {
    "$RUN" stop "$DEMO" >/dev/null 2>&1 || true
    pkill -KILL -f -- "-c $DEMO/etc" 2>/dev/null || true
    mr_cleanup
}
trap demo_cleanup EXIT
# The demo's log is the one mr_fail shows.
ln -s "$DEMO/maillog" "$T/maillog"

"$RUN" start "$DEMO" >"$T/start.out" 2>&1 || mr_fail "run-demo start: $(cat "$T/start.out")"
cat "$T/start.out"
[ -f "$DEMO/tls/cert.pem" ] && [ -f "$DEMO/tls/key.pem" ] || mr_fail "no certificate made"
openssl x509 -in "$DEMO/tls/cert.pem" -noout -subject | grep -q "CN *= *localhost" || mr_fail "certificate subject"
# The printed command under HEADING (the Nth one, default the first).
printed() {  # heading [n]
    awk -v h="$1" -v n="${2:-1}" '$0 ~ "^  " h { on = 1; next } on && /^  [^ ]/ { exit } on && ++i == n { sub(/^    /, ""); print; exit }' "$T/start.out"
}
run_printed() {  # heading n -> output in $T/cmd.out
    local cmd
    cmd=$(printed "$1" "$2")
    [ -n "$cmd" ] || mr_fail "no command printed under '$1'"
    echo "+ $cmd"
    sh -c "$cmd" >"$T/cmd.out" 2>&1 || mr_fail "'$cmd' failed: $(cat "$T/cmd.out")"
}

run_printed "Send over SMTP" 1
grep -q "<-  250 2.0.0 Ok: queued as" "$T/cmd.out" || mr_fail "SMTP: $(cat "$T/cmd.out")"
mr_wait_for "the SMTP message is delivered" grep -q "to=<demo@demo.test>, relay=virtual, .*status=sent (delivered to maildir)" "$DEMO/maillog"
run_printed "Read over POP3" 1
grep -q "^Return-Path: <you@example.com>" "$T/cmd.out" || mr_fail "curl pop3://: $(cat "$T/cmd.out")"

run_printed "Submit with STARTTLS and AUTH" 1
grep -q "<~  235 2.7.0 Authentication successful" "$T/cmd.out" && grep -q "<~  250 2.0.0 Ok: queued as" "$T/cmd.out" ||
    mr_fail "submission: $(cat "$T/cmd.out")"
cnt() { grep -c "to=<demo@demo.test>, relay=virtual, .*status=sent" "$DEMO/maillog"; }
two_delivered() { [ "$(cnt)" -ge 2 ]; }
mr_wait_for "the submitted message is delivered" two_delivered
grep -q "sasl_method=PLAIN, sasl_username=demo@demo.test" "$DEMO/maillog" || mr_fail "no sasl_username in the log"
run_printed "Read over POP3" 2
grep -q "^Return-Path: <you@example.com>" "$T/cmd.out" || mr_fail "curl pop3s://: $(cat "$T/cmd.out")"
run_printed "Read over POP3" 3
grep -q "^Return-Path: <demo@demo.test>" "$T/cmd.out" || mr_fail "poplib one-liner, the submitted message: $(cat "$T/cmd.out")"
# Without TLS, submission offers no AUTH and takes no mail.
sub=$MAILROOM_DEMO_SUBMISSION
swaks --server "${sub%:*}" --port "${sub##*:}" --auth PLAIN --auth-user demo@demo.test --auth-password demo \
    --to demo@demo.test --quit-after AUTH >"$T/plain.out" 2>&1 && mr_fail "AUTH over plaintext worked: $(cat "$T/plain.out")"
grep -q "<-  250-STARTTLS" "$T/plain.out" && ! grep -q "250-AUTH" "$T/plain.out" || mr_fail "submission EHLO: $(cat "$T/plain.out")"

run_printed "Send with sendmail" 1
three_delivered() { [ "$(cnt)" -ge 3 ]; }
mr_wait_for "the sendmail message is delivered" three_delivered
run_printed "Read over POP3" 3
grep -q "^Subject: hi" "$T/cmd.out" && grep -q "^hello" "$T/cmd.out" || mr_fail "poplib one-liner, the sendmail message: $(cat "$T/cmd.out")"

# IMAP and IMAPS: UID 1 is the first message (over SMTP), the imaplib
# one-liner reads the newest (the sendmail one).
run_printed "Read over IMAP" 1
grep -q "^Return-Path: <you@example.com>" "$T/cmd.out" || mr_fail "curl imap://: $(cat "$T/cmd.out")"
run_printed "Read over IMAP" 2
grep -q "^Return-Path: <you@example.com>" "$T/cmd.out" || mr_fail "curl imaps://: $(cat "$T/cmd.out")"
run_printed "Read over IMAP" 3
grep -q "^Subject: hi" "$T/cmd.out" && grep -q "^hello" "$T/cmd.out" || mr_fail "imaplib one-liner: $(cat "$T/cmd.out")"
mr_wait_for "imapd logs the TLS login" grep -Eq "imap-login: Login: user=<demo@demo\.test>, method=(PLAIN|LOGIN), rip=127\.0\.0\.1, lip=127\.0\.0\.1, .*TLS" "$DEMO/maillog"

# A second start says so.
"$RUN" start "$DEMO" >"$T/again.out" 2>&1 || mr_fail "second start failed: $(cat "$T/again.out")"
grep -q "already running from $DEMO; nothing started" "$T/again.out" || mr_fail "second start: $(cat "$T/again.out")"

run_printed "Stop" 1
grep -q "stopping the mail system" "$T/cmd.out" || mr_fail "stop: $(cat "$T/cmd.out")"
stopped() { ! pgrep -f -- "-c $DEMO/etc" >/dev/null; }
mr_wait_for "every demo process exits" stopped
echo "run_demo: ok"
