#!/bin/bash
# delivery_virtual_uids.sh - one virtual process delivers as several users.
#
# As root only (an ordinary user cannot switch ids): virtual runs with
# maxproc 1, so one process serves every request, and delivers to two
# Maildirs whose virtual_uid_maps/virtual_gid_maps entries name different
# uids and gids, alternating between them, in separate requests and in one
# request with both. Every delivered file must belong to its user, every
# delivery must be logged by the same virtual process, and that process
# must be back to root's ids (real, effective, saved) and root's groups
# afterwards.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
[ "$(id -u)" -eq 0 ] || mr_skip "switching delivery identities needs root"
for prog in virtual qmgr cleanup pickup master mailroom sendmail postdrop; do
    [ -x "$MAILROOM_BIN/$prog" ] || mr_fail "$prog not built"
done
dl_setup "virtual2  unix  -       n       n       -       1       virtual"

UA=4601
UB=4602
VBASE="$T/vmail"
mkdir -p "$VBASE/a" "$VBASE/b"
chown "$UA:$UA" "$VBASE/a"
chown "$UB:$UB" "$VBASE/b"
chmod 700 "$VBASE/a" "$VBASE/b"
cat >"$T/vmailbox" <<'EOF2'
ann@v.test  a/Maildir/
bob@v.test  b/Maildir/
EOF2
printf 'ann@v.test %s\nbob@v.test %s\n' "$UA" "$UB" >"$T/vuid"
printf 'ann@v.test %s\nbob@v.test %s\n' "$UA" "$UB" >"$T/vgid"
printf 'v.test virtual2:\n' >"$T/transport"
{
    echo "transport_maps = texthash:$T/transport"
    echo "virtual_mailbox_base = $VBASE"
    echo "virtual_mailbox_maps = texthash:$T/vmailbox"
    echo "virtual_mailbox_domains = v.test"
    echo "virtual_uid_maps = texthash:$T/vuid"
    echo "virtual_gid_maps = texthash:$T/vgid"
    echo "virtual_minimum_uid = 1000"
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

n=0
for rcpt in ann bob ann bob; do
    n=$((n + 1))
    printf 'Subject: m%s\n\nbody %s\n' "$n" "$n" | dl_send -f sender@example.test "$rcpt@v.test" ||
        mr_fail "sendmail $n"
    # One at a time, so that each is its own request to the same process.
    mr_wait_for "delivery $n" sh -c "[ \$(grep -c 'relay=virtual2, .*status=sent' '$T/maillog') -ge $n ]"
    grep 'relay=virtual2, .*status=sent' "$T/maillog" | tail -n 1 | grep -q "to=<$rcpt@v\.test>" ||
        mr_fail "delivery $n was not to $rcpt"
done
printf 'Subject: both\n\nbody both\n' | dl_send -f sender@example.test ann@v.test bob@v.test || mr_fail "sendmail both"
mr_wait_for "six deliveries" sh -c "[ \$(grep -c 'relay=virtual2, .*status=sent' '$T/maillog') -ge 6 ]"

# The right owner for every file (and the Maildir directories it made).
for pair in "a:$UA" "b:$UB"; do
    d=${pair%%:*}
    u=${pair#*:}
    [ "$(find "$VBASE/$d/Maildir/new" -type f | wc -l)" -eq 3 ] || mr_fail "$d: not three messages"
    for f in "$VBASE/$d/Maildir" "$VBASE/$d/Maildir/new" "$VBASE/$d/Maildir/tmp" "$VBASE/$d/Maildir/new/"*; do
        [ "$(stat -c %u:%g "$f")" = "$u:$u" ] || mr_fail "$f owned by $(stat -c %u:%g "$f"), want $u:$u"
    done
done
grep -l '^body both$' "$VBASE/a/Maildir/new/"* >/dev/null || mr_fail "ann lacks the message to both"
grep -l '^body both$' "$VBASE/b/Maildir/new/"* >/dev/null || mr_fail "bob lacks the message to both"

# One process did it all, and it is root again.
pids=$(sed -n 's/.*mailroom\/virtual\[\([0-9]*\)\]: .*relay=virtual2, .*status=sent.*/\1/p' "$T/maillog" | sort -u)
[ "$(echo "$pids" | wc -l)" -eq 1 ] || mr_fail "deliveries by more than one virtual process: $pids"
[ -e "/proc/$pids" ] || mr_fail "virtual process $pids is gone"
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pids/status")
gids=$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$pids/status")
groups=$(awk '/^Groups:/ {$1 = ""; print}' "/proc/$pids/status")
[ "$uids" = "0 0 0 0" ] || mr_fail "virtual's uids after the deliveries: $uids"
[ "$gids" = "0 0 0 0" ] || mr_fail "virtual's gids after the deliveries: $gids"
case " $groups " in *" $UA "* | *" $UB "*) mr_fail "virtual kept a user's group: $groups" ;; esac
grep -q "virtual.*\(fatal\|panic\)" "$T/maillog" && mr_fail "virtual logged a fatal error"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "delivery_virtual_uids: ok (process $pids delivered as $UA and $UB)"
