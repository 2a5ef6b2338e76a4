#!/bin/bash
# delivery_virtual.sh - the virtual delivery agent end to end.
#
# Virtual Maildir users from a hash: table under virtual_mailbox_base, with
# static: uid/gid maps (as root a temporary system user, whose files the
# Maildirs must be), an @domain catch-all, and the seed's VDA quota
# settings: a per-user quota from virtual_mailbox_limit_maps, maildirsize
# kept up to date, and the over-quota bounce with the configured text.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
dl_setup

if dl_root; then
    VU=mrv$$
    dl_user "$VU"
    VUID=$(id -u "$VU")
    VGID=$(id -g "$VU")
else
    VUID=$(id -u)
    VGID=$(id -g)
fi
VBASE="$T/vmail"
mkdir -p "$VBASE"
chown "$VUID:$VGID" "$VBASE"
cat >"$T/vmailbox" <<'EOF2'
postmaster@extmail.org  extmail.org/postmaster/Maildir/
jerry@magedu.com        magedu.com/jerry/Maildir/
full@magedu.com         magedu.com/full/Maildir/
@catchall.test          catchall.test/all/Maildir/
EOF2
echo "full@magedu.com 2000S" >"$T/vquota"
"$MAILROOM_BIN/postmap" "hash:$T/vmailbox" || mr_fail "postmap vmailbox"
"$MAILROOM_BIN/postmap" "hash:$T/vquota" || mr_fail "postmap vquota"
printf 'extmail.org virtual:\nmagedu.com virtual:\ncatchall.test virtual:\n' >"$T/transport"
MSG="Sorry, the user's maildir has overdrawn his diskspace quota, please Tidy your mailbox and try again later."
{
    echo "transport_maps = texthash:$T/transport"
    echo "virtual_mailbox_base = $VBASE"
    echo "virtual_mailbox_maps = hash:$T/vmailbox"
    echo "virtual_mailbox_domains = extmail.org, magedu.com, catchall.test"
    echo "virtual_uid_maps = static:$VUID"
    echo "virtual_gid_maps = static:$VGID"
    echo "virtual_minimum_uid = 1"
    echo "virtual_mailbox_limit = 20971520"
    echo "virtual_create_maildirsize = yes"
    echo "virtual_mailbox_extended = yes"
    echo "virtual_mailbox_limit_maps = hash:$T/vquota"
    echo "virtual_mailbox_limit_override = yes"
    echo "virtual_maildir_limit_message = $MSG"
    echo "virtual_overquota_bounce = yes"
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

# 1. Maildir delivery for table users and the catch-all.
printf 'Subject: hello\n\nvirtual hello\n' | dl_send -f root@extmail.org postmaster@extmail.org Jerry@magedu.com \
    someone@catchall.test || mr_fail "sendmail 1"
dl_wait_log "virtual\[[0-9]+\]: [0-9A-F]+: to=<postmaster@extmail\.org>, relay=virtual, delay=[0-9.]+, delays=[0-9./]+, dsn=2\.0\.0, status=sent \(delivered to maildir\)\$"
dl_wait_log "to=<Jerry@magedu\.com>, relay=virtual, .*status=sent \(delivered to maildir\)"
dl_wait_log "to=<someone@catchall\.test>, relay=virtual, .*status=sent \(delivered to maildir\)"
for d in extmail.org/postmaster magedu.com/jerry catchall.test/all; do
    F=$(find "$VBASE/$d/Maildir/new" -type f | head -n 1)
    [ -n "$F" ] || mr_fail "nothing in $d/Maildir/new"
    grep -q '^virtual hello$' "$F" || mr_fail "body in $F"
    grep -q '^Return-Path: <root@extmail.org>$' "$F" || mr_fail "Return-Path in $F"
    [ "$(stat -c %u:%g "$F")" = "$VUID:$VGID" ] || mr_fail "$F owned by $(stat -c %u:%g "$F")"
done
grep -q '^Delivered-To: Jerry@magedu.com$' "$(find "$VBASE/magedu.com/jerry/Maildir/new" -type f)" || mr_fail "Delivered-To"

# 2. Unknown users in a virtual domain bounce.
printf 'Subject: x\n\nx\n' | dl_send -f root@extmail.org ghost@magedu.com || mr_fail "sendmail 2"
dl_wait_log "to=<ghost@magedu\.com>, relay=virtual, .*dsn=5\.1\.1, status=bounced \(unknown user: \"ghost@magedu\.com\"\)"

# 3. The quota: the first message fits in 2000 bytes, the second does not.
BODY=$(head -c 900 /dev/zero | tr '\0' 'q')
printf 'Subject: q1\n\n%s\n' "$BODY" | dl_send -f root@extmail.org full@magedu.com || mr_fail "sendmail 3"
dl_wait_log "to=<full@magedu\.com>, relay=virtual, .*status=sent \(delivered to maildir\)"
SIZEFILE="$VBASE/magedu.com/full/Maildir/maildirsize"
[ -f "$SIZEFILE" ] || mr_fail "maildirsize not created"
[ "$(head -n 1 "$SIZEFILE")" = "2000S" ] || mr_fail "maildirsize quota line: $(head -n 1 "$SIZEFILE")"
printf 'Subject: q2\n\n%s\n' "$BODY" | dl_send -f root@extmail.org full@magedu.com || mr_fail "sendmail 4"
dl_wait_log "to=<full@magedu\.com>, relay=virtual, .*dsn=5\.2\.2, status=bounced \($MSG\)"
[ "$(find "$VBASE/magedu.com/full/Maildir/new" -type f | wc -l)" -eq 1 ] || mr_fail "over-quota message stored"

mr_wait_for "queue empty" sh -c "[ -z \"\$(find '$Q/incoming' '$Q/active' '$Q/deferred' -type f)\" ]"
echo "delivery_virtual: ok"
