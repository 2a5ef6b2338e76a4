// main.cc - smtpd: the SMTP server.
//
// Summary
//   A multi server (many sessions per process on one event loop) for the
//   smtp/submission services of master.cf. post_jail_init reads the
//   parameters and restrictions (smtpd_session.h: SmtpdConfig, Checker);
//   each connection becomes a Session that hands accepted mail to cleanup.
//   pre_jail_init loads the TLS certificate and key while still root and
//   initialises Cyrus SASL.
//
// Security
//   Runs as mail_owner, chrooted when master.cf says so; the skeleton drops
//   privileges before the first client byte is read.
#include <memory>

#include "lib/server/server.h"
#include "smtpd/smtpd_session.h"

using namespace mailroom;

namespace {
std::unique_ptr<smtpd::SmtpdServer> g_server;
smtpd::SmtpdServer::Hooks g_hooks;
}

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "smtpd";
    spec.pre_jail_init = [](server::ServerContext& ctx) -> Status {
        // The private key is readable only before the privilege drop.
        g_hooks.tls_context = smtpd::SmtpdServer::load_tls_context(ctx.config());
        g_hooks.tls_loaded = true;
        // Cyrus loads its plugins and reads <smtpd_sasl_path>.conf here,
        // before the chroot and before any client byte.
        auto sasl = smtpd::SmtpdServer::load_sasl(ctx.config());
        if (!sasl) return sasl.error();
        g_hooks.sasl = std::move(*sasl);
        g_hooks.sasl_loaded = true;
        return ok_status();
    };
    spec.post_jail_init = [](server::ServerContext& ctx) -> Status {
        g_hooks.service = ctx.service_name();
        auto srv = smtpd::SmtpdServer::create(ctx.config(), ctx.loop(), std::move(g_hooks));
        if (!srv) return srv.error();
        g_server = std::move(*srv);
        return ok_status();
    };
    spec.on_connection = [](server::ServerContext&, server::Connection conn) {
        smtpd::Peer peer = smtpd::peer_of(conn.fd());
        g_server->start_session(std::move(conn), std::move(peer));
    };
    spec.on_exit = [](server::ServerContext&) { g_server.reset(); };
    return server::run_multi_server(argc, argv, std::move(spec));
}
