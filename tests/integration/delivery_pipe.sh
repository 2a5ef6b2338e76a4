#!/bin/bash
# delivery_pipe.sh - the pipe delivery agent end to end.
#
# A master.cf pipe service in the seed's form (flags=DRhu user=... argv=...)
# runs a script that records every argv macro and its input; exit status 75
# defers and 67 bounces with the command's output in the text; the command
# runs as user= when the test runs as root. Debian's maildrop is used too
# when it is installed.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
if dl_root; then PUSER=nobody; else PUSER=$(id -un); fi
dl_setup
OUTD="$T/out"
printf '%s\n' \
    "recorder  unix  -       n       n       -       -       pipe" \
    "  flags=DRhu user=$PUSER argv=$T/record.sh \${recipient} \${original_recipient} \${sender} \${user}" \
    "  \${extension} \${domain} \${nexthop} \${mailbox} \${client_address} \${client_hostname} \${size} \${queue_id}" \
    "tempfail  unix  -       n       n       -       -       pipe flags=R user=$PUSER argv=$T/exit.sh 75" \
    "nouser    unix  -       n       n       -       -       pipe flags=R user=$PUSER argv=$T/exit.sh 67" \
    >>"$CONF/master.cf"
mkdir -p "$OUTD"
chmod 1777 "$OUTD"
cat >"$T/record.sh" <<SH
#!/bin/sh
n=\$(ls "$OUTD" | grep -c '^args\.')
for a in "\$@"; do printf '%s\n' "\$a"; done > "$OUTD/args.\$n"
cat > "$OUTD/input.\$n"
id -u > "$OUTD/uid.\$n"
exit 0
SH
cat >"$T/exit.sh" <<'SH'
#!/bin/sh
cat >/dev/null
echo "exiting with $1"
exit "$1"
SH
chmod 755 "$T/record.sh" "$T/exit.sh"
{
    echo "recipient_delimiter = +"
    echo "recorder_destination_recipient_limit = 1"
    echo "transport_maps = texthash:$T/transport"
} >>"$CONF/main.cf"
printf 'pipe.example.test recorder:\ntempfail.test tempfail:\nnouser.test nouser:\n' >"$T/transport"
# Debian's maildrop (as root, for a temporary user whose ~/.mailfilter
# points at a Maildir, so nothing outside the test directory is touched).
[ -x /usr/bin/maildrop ] || mr_fail "maildrop is not installed (scripts/install-deps installs it)"
MD_USER=""
if dl_root; then
    MD_USER=mrd$$
    dl_user "$MD_USER"
    MDH="$T/home/$MD_USER"
    mkdir -p "$MDH/Maildir/cur" "$MDH/Maildir/new" "$MDH/Maildir/tmp"
    printf 'DEFAULT="$HOME/Maildir/"\n' >"$MDH/.mailfilter"
    chmod 600 "$MDH/.mailfilter"
    chown -R "$MD_USER:" "$MDH"
    echo "maildrop  unix  -       n       n       -       -       pipe flags=DRhu user=$MD_USER argv=/usr/bin/maildrop -d \${user}" >>"$CONF/master.cf"
    echo "maildrop.test maildrop:" >>"$T/transport"
    echo "maildrop_destination_recipient_limit = 1" >>"$CONF/main.cf"
fi
"$MR" -c "$CONF" start || mr_fail "start failed"

# 1. Every macro, one argument each, and the D and R headers.
printf 'Subject: pipe\n\npiped body\n' | dl_send -f Sender@Example.TEST 'Jerry+Box@Pipe.Example.TEST' ||
    mr_fail "sendmail 1"
dl_wait_log "pipe\[[0-9]+\]: [0-9A-F]+: to=<Jerry\+Box@Pipe\.Example\.TEST>, relay=recorder, delay=[0-9.]+, delays=[0-9./]+, dsn=2\.0\.0, status=sent \(delivered via recorder service\)\$"
ID=$(grep -F 'to=<Jerry+Box@Pipe.Example.TEST>' "$T/maillog" | sed -n 's/.*\]: \([0-9A-F]*\): to=.*/\1/p' | head -n 1)
mr_wait_for "args recorded" test -s "$OUTD/args.0"
SIZE=$(sed -n 11p "$OUTD/args.0")
EXPECT="jerry+box@pipe.example.test
jerry+box@pipe.example.test
Sender@Example.TEST
jerry
box
pipe.example.test
pipe.example.test
jerry+box"
[ "$(sed -n 1,8p "$OUTD/args.0")" = "$(echo "$EXPECT" | sed -n 1,8p)" ] || mr_fail "macros: $(cat "$OUTD/args.0")"
[ "$(sed -n 12p "$OUTD/args.0")" = "$ID" ] || mr_fail "queue_id macro: $(cat -A "$OUTD/args.0")"
[ "$(wc -l <"$OUTD/args.0")" -eq 12 ] || mr_fail "argument count: $(wc -l <"$OUTD/args.0")"
[ "$SIZE" -gt 20 ] || mr_fail "size macro: $SIZE"
head -n 2 "$OUTD/input.0" | tr '\n' '|' | grep -q '^Return-Path: <Sender@Example.TEST>|Delivered-To: Jerry+Box@Pipe.Example.TEST|$' ||
    mr_fail "command input: $(head -n 3 "$OUTD/input.0")"
grep -q '^piped body$' "$OUTD/input.0" || mr_fail "command body"
if dl_root; then
    [ "$(cat "$OUTD/uid.0")" = "$(id -u nobody)" ] || mr_fail "command ran as uid $(cat "$OUTD/uid.0")"
fi

# 2. Exit statuses: EX_TEMPFAIL defers, EX_NOUSER bounces.
printf 'Subject: t\n\nx\n' | dl_send -f a@example.test u@tempfail.test || mr_fail "sendmail 2"
dl_wait_log "to=<u@tempfail\.test>, relay=tempfail, .*dsn=4\.3\.0, status=deferred \(temporary failure\. Command output: exiting with 75\)"
printf 'Subject: n\n\nx\n' | dl_send -f a@example.test u@nouser.test || mr_fail "sendmail 3"
dl_wait_log "to=<u@nouser\.test>, relay=nouser, .*dsn=5\.1\.1, status=bounced \(user unknown\. Command output: exiting with 67\)"

# 3. Debian's maildrop, as the seed uses it (flags=DRhu, -d ${user}).
if [ -n "$MD_USER" ]; then
    printf 'Subject: md\n\nto maildrop\n' | dl_send -f a@example.test "$MD_USER@maildrop.test" || mr_fail "sendmail 4"
    dl_wait_log "pipe\[[0-9]+\]: [0-9A-F]+: to=<$MD_USER@maildrop\.test>, relay=maildrop, .*dsn=2\.0\.0, status=sent \(delivered via maildrop service\)"
    F=$(find "$MDH/Maildir/new" -type f | head -n 1)
    [ -n "$F" ] || mr_fail "maildrop delivered nothing to the Maildir"
    grep -q "^Delivered-To: $MD_USER@maildrop.test$" "$F" || mr_fail "maildrop copy lacks Delivered-To"
    grep -q '^to maildrop$' "$F" || mr_fail "maildrop copy body"
    [ "$(stat -c %U "$F")" = "$MD_USER" ] || mr_fail "maildrop file owner"
else
    echo "note: not root; the maildrop part needs a user of its own"
fi
echo "delivery_pipe: ok"
