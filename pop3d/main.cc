// main.cc - pop3d: the POP3 server (RFC 1939, 2449, 2595, 3206, 5034).
//
// Summary
//   A multi server (master.cf: "pop3 inet n - n - - pop3d", and "pop3s"
//   with -o pop3_tls_wrappermode=yes) on one event loop: the login part of
//   many sessions. Authentication goes to authd over its UNIX socket
//   ($queue_directory/private/authd, pop3_authd_path). Once authd accepted
//   a user the session goes to a mail process running as the user's
//   uid/gid, which reads the mail from authd's MAILDIR= or mail_location
//   (lib/access/mail_process.h, docs/mail-access.md).
//
// Security
//   Started as root (a privileged instance), pop3d forks its mail broker
//   before anything is read from a client, then runs as mail_owner; the
//   broker stays root only to start mail processes, which run as the
//   user (never root). Lines are bounded (kMaxPop3Line), the session ends
//   after twenty bad commands or pop3_idle_timeout.
#include "lib/access/access_main.h"
#include "lib/server/server.h"
#include "pop3d/pop3_server.h"

using namespace mailroom;

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "pop3d";
    access::setup_access_server<pop3d::Pop3Server, pop3d::Pop3Config>(spec);
    // Mailbox work runs in the mail processes, off this loop: one login
    // process serves many sessions (those handed over count until their
    // mail process reports them over).
    spec.sessions_per_process = 100;
    spec.parameters = {"login_greeting", "disable_plaintext_auth", "auth_mechanisms", "login_trusted_networks",
                       "mail_max_userip_connections", "mail_location", "pop3_uidl_format", "pop3_idle_timeout",
                       "pop3_tls_wrappermode", "pop3_authd_path", "authd_client_timeout", "auth_failure_delay", "ssl", "ssl_cert",
                       "ssl_key"};
    return server::run_multi_server(argc, argv, std::move(spec));
}
