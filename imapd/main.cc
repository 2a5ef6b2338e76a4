// main.cc - imapd: the IMAP server (RFC 3501 and the extensions in
// docs/imapd.md).
//
// Summary
//   A multi server (master.cf: "imap inet n - n - - imapd", and "imaps"
//   with -o imap_tls_wrappermode=yes) on one event loop: the login part of
//   many sessions. Authentication goes to authd over its UNIX socket
//   (imap_authd_path). Once authd accepted a user the session goes to a
//   mail process running as the user's uid/gid (lib/access/mail_process.h,
//   as pop3d's), which reads authd's MAILDIR= or mail_location through
//   lib/access's mail store.
//
// Security
//   Started as root, imapd forks its mail broker before anything is read
//   from a client, then runs as mail_owner; mail processes run as the
//   user (never root). Command lines are bounded by imap_max_line_length, APPEND's
//   message by message_size_limit; twenty bad commands or the autologout
//   (imap_idle_timeout) end a session.
#include "lib/access/access_main.h"
#include "lib/server/server.h"
#include "imapd/imap_server.h"

using namespace mailroom;

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "imapd";
    access::setup_access_server<imapd::ImapServer, imapd::ImapConfig>(spec);
    // Mail store work runs in the mail processes, off this loop: one login
    // process serves many sessions. Its mail processes end with it, and a
    // handed-over session no longer holds its Connection open, so max_use
    // and max_idle would end a login process (and with it every IDLE
    // session it handed over) at its 100th client: it lives until master
    // stops it.
    spec.long_lived = true;
    spec.parameters = {"login_greeting", "disable_plaintext_auth", "auth_mechanisms", "login_trusted_networks",
                       "mail_max_userip_connections", "mail_location", "imap_max_line_length",
                       "imap_idle_notify_interval", "imap_idle_timeout", "imap_tls_wrappermode", "imap_literal_minus",
                       "imap_authd_path",
                       "authd_client_timeout", "auth_failure_delay", "message_size_limit", "ssl", "ssl_cert",
                       "ssl_key"};
    return server::run_multi_server(argc, argv, std::move(spec));
}
