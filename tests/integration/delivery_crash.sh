#!/bin/bash
# delivery_crash.sh - kill -9 of a delivery agent in the middle of a
# Maildir write leaves no partial message in new/.
#
# A large message goes to a virtual Maildir user. As soon as its file shows
# up in Maildir/tmp (the write is in progress), every virtual process of the
# instance (the agent and, as root, its per-delivery child) is killed with
# SIGKILL. new/ must then hold only complete messages; qmgr, which lost its
# agent, defers the recipient and the retry delivers the whole message.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
dl_setup
if dl_root; then
    VU=mrk$$
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
echo "big@crash.test crash.test/big/Maildir/" >"$T/vmailbox"
"$MAILROOM_BIN/postmap" "hash:$T/vmailbox" || mr_fail "postmap"
echo "crash.test virtual:" >"$T/transport"
{
    echo "transport_maps = texthash:$T/transport"
    echo "virtual_mailbox_base = $VBASE"
    echo "virtual_mailbox_maps = hash:$T/vmailbox"
    echo "virtual_uid_maps = static:$VUID"
    echo "virtual_gid_maps = static:$VGID"
    echo "virtual_minimum_uid = 1"
    echo "virtual_mailbox_limit = 0"
    echo "message_size_limit = 0"
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"
MD="$VBASE/crash.test/big/Maildir"

# Every file in new/ must end with the message's last line.
check_new_complete() {
    local f
    for f in $(find "$MD/new" -type f 2>/dev/null); do
        [ "$(tail -n 1 "$f")" = "END-OF-MESSAGE" ] || mr_fail "partial message in new/: $f ($(stat -c %s "$f") bytes)"
    done
}

{
    echo "Subject: big"
    echo
    yes 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' |
        head -n 600000
    echo "END-OF-MESSAGE"
} >"$T/big.msg"

# qmgr's lines for the recipient: one per delivery attempt.
outcomes() { grep 'to=<big@crash\.test>, ' "$T/maillog" 2>/dev/null; }
# The write lasts a few tenths of a second: the watch below starts no
# process until it has killed the writer (globs, and read -t on a pipe
# that never speaks as its sleep), so that a loaded machine kills in time.
exec {NAP}<> <(:)
# This instance's virtual agents only (other tests run beside this one):
# master starts them as $MAILROOM_BIN/virtual with -c $CONF.
AGENTS="^$MAILROOM_BIN/virtual .*-c $CONF( |\$)"
caught=""
for attempt in $(seq 1 10); do
    shopt -s nullglob
    new=("$MD"/new/*)
    before=${#new[@]}
    seen=$(outcomes | wc -l)
    dl_send -f root@example.test big@crash.test <"$T/big.msg" || mr_fail "sendmail"
    # Wait for the write to start, then kill the agent.
    for i in $(seq 1 20000); do
        tmp=("$MD"/tmp/*)
        if [ ${#tmp[@]} -gt 0 ]; then
            # A Maildir name carries its writer's pid (...P<pid>Q...): that
            # one is killed at once (pgrep can take a second on a loaded
            # machine), then every other virtual process of the instance.
            w=${tmp[0]##*/}
            w=${w#*P}
            w=${w%%Q*}
            comm=""
            [[ $w =~ ^[0-9]+$ ]] && { read -r comm <"/proc/$w/comm"; } 2>/dev/null
            [ "$comm" = virtual ] && kill -KILL "$w" 2>/dev/null
            pids=$(pgrep -f -- "$AGENTS")
            [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
            break
        fi
        new=("$MD"/new/*)
        [ ${#new[@]} -gt "$before" ] && break
        read -r -t 0.002 -u "$NAP"
    done
    shopt -u nullglob
    # The attempt's outcome: deferred when the kill came during the write;
    # sent when the agent finished first (the kill came too late, or the
    # write was never seen): then try again with another message.
    mr_wait_for "outcome of attempt $attempt" sh -c "[ \$(grep -c 'to=<big@crash\\.test>, ' '$T/maillog') -gt $seen ]"
    check_new_complete
    if outcomes | tail -n +"$((seen + 1))" | grep -q 'status=deferred'; then
        caught=yes
        break
    fi
done
[ -n "$caught" ] || mr_fail "the write was never caught in progress"
echo "killed the virtual agent during the write (attempt $attempt)"
check_new_complete
# The deferred recipient is retried and delivered whole.
retried() { outcomes | tail -n +"$((seen + 1))" | grep -q 'relay=virtual, .*status=sent (delivered to maildir)'; }
mr_wait_for "the deferred message delivered on retry" retried
mr_wait_for "queue empty" sh -c "[ -z \"\$(find '$Q/incoming' '$Q/active' '$Q/deferred' -type f)\" ]"
check_new_complete
[ "$(find "$MD/new" -type f | wc -l)" -ge "$attempt" ] || mr_fail "message not delivered after the crash"
echo "delivery_crash: ok"
