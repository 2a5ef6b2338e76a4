# queue_common.sh - shared setup for the queue integration tests.
#
# Sourced after mr_instance.sh. qs_setup writes a master.cf with the queue
# services (pickup, cleanup, qmgr, discard, error, anvil, showq) and main.cf settings
# that send all mail (local and remote) to the discard transport.
#   qs_setup [extra master.cf lines...]   (QS_NO_QMGR=1: leave qmgr out)
#   qs_send ARGS...        runs sendmail with the instance's configuration
#   qs_id_of TEXT          the queue ID of the message whose log mentions TEXT
#   qs_sent_ids            distinct queue IDs with a status=sent line

qs_setup() {
    mr_setup
    {
        echo "myhostname = mx.example.test"
        echo "mydomain = example.test"
        echo "default_transport = discard"
        echo "local_transport = discard"
        echo "minimal_backoff_time = 1s"
        echo "maximal_backoff_time = 2s"
        echo "queue_run_delay = 1s"
    } >>"$CONF/main.cf"
    {
        echo "pickup    unix  n       -       n       60      1       pickup"
        echo "cleanup   unix  n       -       n       -       0       cleanup"
        [ -n "${QS_NO_QMGR:-}" ] || echo "qmgr      unix  n       -       n       300     1       qmgr"
        echo "discard   unix  -       -       n       -       -       discard"
        echo "error     unix  -       -       n       -       -       error"
        echo "anvil     unix  -       -       n       -       1       anvil"
        echo "showq     unix  n       -       n       -       -       showq"
        for line in "$@"; do echo "$line"; done
    } >"$CONF/master.cf"
}

qs_send() {
    MAIL_CONFIG="$CONF" "$MAILROOM_BIN/sendmail" "$@"
}

qs_id_of() {
    grep -F -- "$1" "$T/maillog" | head -n 1 | sed -n 's/.*\]: \([0-9A-F]*\): .*/\1/p'
}

qs_sent_ids() {
    grep -F 'status=sent' "$T/maillog" 2>/dev/null | sed -n 's/.*\]: \([0-9A-F]*\): to=.*/\1/p' | sort -u
}
