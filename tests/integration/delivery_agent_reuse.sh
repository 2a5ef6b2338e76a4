#!/bin/bash
# delivery_agent_reuse.sh - qmgr sends several requests on one connection
# to an agent that offers more, and the agent's max_use counts requests.
#
# One message to ten virtual Maildir users, with
# vreuse_destination_recipient_limit = 1 and maxproc 1: ten requests, one
# after the other. The virtual service runs with -o max_use=4, so its processes serve 4, 4 and 2 requests: three
# processes, each of the first two logging four deliveries. Without reuse
# each request would have its own connection; with max_use counted per
# connection one process would have served all ten. Every user must have
# the message, and qmgr must have removed it.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
for prog in virtual qmgr cleanup pickup master mailroom sendmail postdrop; do
    [ -x "$MAILROOM_BIN/$prog" ] || mr_fail "$prog not built"
done
dl_setup "vreuse    unix  -       n       n       -       1       virtual -o max_use=4"
dl_vmail r.test
: >"$T/vmailbox"
rcpts=""
for i in 0 1 2 3 4 5 6 7 8 9; do
    echo "u$i@r.test  u$i/Maildir/" >>"$T/vmailbox"
    rcpts="$rcpts u$i@r.test"
done
printf 'r.test vreuse:\n' >"$T/transport"
{
    echo "transport_maps = texthash:$T/transport"
    echo "vreuse_destination_recipient_limit = 1"
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

# shellcheck disable=SC2086
printf 'Subject: reuse\n\nbody\n' | dl_send -f sender@example.test $rcpts || mr_fail "sendmail"
mr_wait_for "ten deliveries" sh -c "[ \$(grep -c 'relay=vreuse, .*status=sent' '$T/maillog') -ge 10 ]"
dl_wait_log ": removed$"

for i in 0 1 2 3 4 5 6 7 8 9; do
    [ "$(find "$VBASE/u$i/Maildir/new" -type f | wc -l)" -eq 1 ] || mr_fail "u$i: not one message"
done
grep -q "status=deferred" "$T/maillog" && mr_fail "a delivery was deferred: $(grep status=deferred "$T/maillog")"

# Deliveries per virtual process, in the order the processes served them.
counts=$(sed -n 's/.*mailroom\/virtual\[\([0-9]*\)\]: .*relay=vreuse, .*status=sent.*/\1/p' "$T/maillog" |
    uniq -c | awk '{print $1}' | tr '\n' ' ')
[ "$counts" = "4 4 2 " ] || mr_fail "deliveries per virtual process: $counts (want 4 4 2)"
echo "deliveries per virtual process: $counts"
