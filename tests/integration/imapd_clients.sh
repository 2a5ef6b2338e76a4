#!/bin/bash
# imapd_clients.sh - real IMAP clients against imapd: Debian's mbsync
# (isync) syncs alice's mailbox both ways with a local Maildir (new mail
# down, flags and deletions and a new message up, then the server's flag
# change and expunge down again), and mutt reads the INBOX over imap://
# in batch mode (through a pseudo-terminal, as mutt needs one), marking
# the message it displayed \Seen on the server.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
mr_require_programs master imapd authd smtpd virtual mailroom sendmail
mr_require_commands openssl mbsync mutt script

source "$(dirname "$0")/imapd_common.sh"

mkdir -p "$T/local"
cat >"$T/mbsyncrc" <<EOF2
IMAPAccount mr
Host 127.0.0.1
Port $P
User alice@v.test
Pass wonderland
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account mr

MaildirStore local
Path $T/local/
Inbox $T/local/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns INBOX
Create Both
Expunge Both
SyncState *
Sync All
EOF2
mbsync_run() { HOME=$T timeout 60 mbsync -c "$T/mbsyncrc" -a >>"$T/mbsync.out" 2>&1 || mr_fail "mbsync: $(tail -c 3000 "$T/mbsync.out")"; }
check_two_way_sync mbsync mbsync_run

# mutt reads the INBOX over imap:// and shows the newest message.
deliver "for mutt" "mutt reads this"
mkdir -p "$T/Mail"
cat >"$T/muttrc" <<EOF2
set folder=$T/Mail
set spoolfile=imap://alice%40v.test@127.0.0.1:$P/INBOX
set imap_user=alice@v.test
set imap_pass=wonderland
set ssl_starttls=no
set ssl_force_tls=no
set move=no
set quit=yes
set mark_old=no
set sort=date
EOF2
TERM=vt100 HOME=$T timeout 30 script -qec \
    "mutt -n -F $T/muttrc -f 'imap://alice%40v.test@127.0.0.1:$P/INBOX' -e 'push <last-entry><display-message><exit><quit>'" \
    /dev/null >"$T/mutt.out" 2>&1 || mr_fail "mutt: $(tail -c 2000 "$T/mutt.out")"
case $(server_flags "mutt reads this") in *S*) ;; *) mr_fail "mutt did not read the message: $(tail -c 2000 "$T/mutt.out")" ;; esac
echo "imapd_clients: ok"
