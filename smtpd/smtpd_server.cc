// smtpd_server.cc - SmtpdConfig and SmtpdServer; see smtpd_session.h.
#include "smtpd/smtpd_session_impl.h"


#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>

#include "lib/config/common_params.h"
#include "lib/config/param_read.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/log/log.h"
#include "lib/submit/trigger.h"
#include "lib/table/async_lookup.h"
#include "lib/table/maps.h"
#include "lib/util/base64.h"
#include "lib/util/strings.h"
#include "smtpd/smtpd_dns.h"

namespace mailroom::smtpd {

using queue::RecordType;

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}


// The cleanup service behind the MessageSink seam.
class CleanupSink : public MessageSink {
public:
    explicit CleanupSink(std::unique_ptr<submit::AsyncCleanupClient> client) : client_(std::move(client)) {}
    const std::string& queue_id() const override { return client_->queue_id(); }
    Status send(RecordType type, std::string_view payload) override { return client_->send(type, payload); }
    std::size_t unsent() const override { return client_->unsent(); }
    void on_drained(std::function<void()> handler) override { client_->on_drained(std::move(handler)); }
    void finish(Finished done) override { client_->finish(std::move(done)); }

private:
    std::unique_ptr<submit::AsyncCleanupClient> client_;
};

}  // namespace

// ---------------------------------------------------------------------------
// Configuration

Result<SmtpdConfig> SmtpdConfig::from_config(const config::Config& cfg) {
    SmtpdConfig c;
    if (auto st = config::read_param(cfg, "myhostname", &c.myhostname); !st) return st.error();
    if (auto st = config::read_param(cfg, "mail_name", &c.mail_name); !st) return st.error();
    if (auto st = config::read_param(cfg, "smtpd_banner", &c.smtpd_banner); !st) return st.error();
    if (auto st = config::read_param(cfg, "queue_directory", &c.queue_directory); !st) return st.error();
    if (auto st = config::read_param(cfg, "content_filter", &c.content_filter); !st) return st.error();
    std::string overrides;
    if (auto st = config::read_param(cfg, "receive_override_options", &overrides); !st) return st.error();
    auto ro = submit::parse_receive_override_options(overrides);
    if (!ro) return ro.error();
    c.cleanup_flags = ro->cleanup_flags;
    c.no_unknown_recipient_checks = ro->no_unknown_recipient_checks;
    auto parse = parse_options_from_config(cfg);
    if (!parse) return parse.error();
    c.parse = *parse;
    if (auto st = config::read_param(cfg, "message_size_limit", &c.message_size_limit); !st) return st.error();
    if (auto st = config::read_param(cfg, "disable_vrfy_command", &c.disable_vrfy_command); !st) return st.error();
    if (auto st = config::read_param(cfg, "smtpd_helo_required", &c.smtpd_helo_required); !st) return st.error();
    if (auto st = config::read_param(cfg, "smtpd_recipient_limit", &c.smtpd_recipient_limit); !st) return st.error();
    if (auto st = config::read_time_param(cfg, "smtpd_timeout", &c.smtpd_timeout_s); !st) return st.error();
    if (auto st = config::read_param(cfg, "smtpd_hard_error_limit", &c.smtpd_hard_error_limit); !st) return st.error();
    if (auto st = config::read_param(cfg, "smtpd_soft_error_limit", &c.smtpd_soft_error_limit); !st) return st.error();
    int sleep_s = 1;
    if (auto st = config::read_time_param(cfg, "smtpd_error_sleep_time", &sleep_s); !st) return st.error();
    c.smtpd_error_sleep_time_ms = sleep_s * 1000;
    if (auto st = config::read_param(cfg, "smtpd_junk_command_limit", &c.smtpd_junk_command_limit); !st) return st.error();
    std::string bare;
    if (auto st = config::read_param(cfg, "smtpd_forbid_bare_newline", &bare); !st) return st.error();
    if (!parse_bare_newline(lower(bare), &c.smtpd_forbid_bare_newline))
        return make_error("invalid smtpd_forbid_bare_newline value: \"" + bare + "\"");
    if (auto st = config::read_param(cfg, "smtpd_forbid_unauth_pipelining", &c.smtpd_forbid_unauth_pipelining); !st) return st.error();
    auto ipc = config::ipc_timeout_ms(cfg);
    if (!ipc) return ipc.error();
    c.ipc_timeout_ms = *ipc;
    if (auto st = config::read_param(cfg, "smtpd_peername_lookup", &c.smtpd_peername_lookup); !st) return st.error();
    auto tls = tls::ServerPolicy::from_config(cfg);
    if (!tls) return tls.error();
    c.tls = std::move(*tls);
    auto sasl = SaslConfig::from_config(cfg);
    if (!sasl) return sasl.error();
    c.sasl = std::move(*sasl);
    auto clamav = ClamavConfig::from_config(cfg);
    if (!clamav) return clamav.error();
    c.clamav = std::move(*clamav);
    auto proxy = ProxyConfig::from_config(cfg);
    if (!proxy) return proxy.error();
    c.proxy = std::move(*proxy);
    auto milters = milter::MilterConfig::from_config(cfg, "smtpd_milters");
    if (!milters) return milters.error();
    if (!milters->empty()) c.milters = std::make_shared<const milter::MilterConfig>(std::move(*milters));

    c.ehlo.myhostname = c.myhostname;
    c.ehlo.message_size_limit = c.message_size_limit;
    c.ehlo.vrfy = !c.disable_vrfy_command;
    if (auto st = config::read_param(cfg, "smtputf8_enable", &c.ehlo.smtputf8); !st) return st.error();
    auto discard = cfg.get_list("smtpd_discard_ehlo_keywords");
    if (!discard) return discard.error();
    c.ehlo.discard = *discard;
    return c;
}

SinkOpener cleanup_sink_opener(event::Loop& loop, std::string queue_directory, int timeout_ms, std::int64_t flags) {
    return [&loop, dir = std::move(queue_directory), timeout_ms, flags](SinkOpened opened) {
        submit::AsyncCleanupClient::open(
            loop, dir, ipc::ServiceClass::kPublic, "cleanup", flags, timeout_ms,
            [opened = std::move(opened)](Result<std::unique_ptr<submit::AsyncCleanupClient>> client) {
                if (!client) return opened(client.error());
                opened(std::unique_ptr<MessageSink>(std::make_unique<CleanupSink>(std::move(*client))));
            });
    };
}

Peer peer_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return peer_of(nullptr, 0);
    return peer_of(reinterpret_cast<const sockaddr*>(&ss), len);
}

Peer peer_of(const sockaddr* addr, socklen_t len) {
    Peer peer;
    sockaddr_storage ss{};
    if (addr == nullptr || len <= 0 || len > static_cast<socklen_t>(sizeof(ss))) {
        peer.addr = "unknown";
        return peer;
    }
    std::memcpy(&ss, addr, static_cast<size_t>(len));
    char buf[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof(buf));
        peer.addr = buf;
    } else if (ss.ss_family == AF_INET6) {
        auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
        if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
            inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], buf, sizeof(buf));
        } else {
            inet_ntop(AF_INET6, &a6->sin6_addr, buf, sizeof(buf));
        }
        peer.addr = buf;
    } else {
        peer.addr = "unknown";
    }
    return peer;
}

// ---------------------------------------------------------------------------
// Server

Result<std::unique_ptr<SmtpdServer>> SmtpdServer::create(const config::Config& cfg, event::Loop& loop) {
    return create(cfg, loop, Hooks{});
}

Result<std::unique_ptr<SmtpdServer>> SmtpdServer::create(const config::Config& cfg, event::Loop& loop, Hooks hooks) {
    auto server = std::make_unique<SmtpdServer>(Private{}, loop);
    auto c = SmtpdConfig::from_config(cfg);
    if (!c) return c.error();
    server->config_ = std::move(*c);
    if (!hooks.open_sink && server->config_.proxy.address) hooks.open_sink = proxy_sink_opener(loop, server->config_.proxy);
    if (!hooks.open_sink) hooks.open_sink = cleanup_sink_opener(loop, server->config_.queue_directory,
                                                                  server->config_.ipc_timeout_ms,
                                                                  server->config_.cleanup_flags);
    if (!hooks.flush_site) {
        auto policy = submit::load_flush_policy(cfg);
        if (!policy) return policy.error();
        hooks.flush_site = [p = *policy](const std::string& site) { return submit::flush_site(p, site); };
    }
    if (!hooks.check.classify_domain) {
        server->domains_ = address::DomainLists::from_config(cfg);
        hooks.check.classify_domain = address::DomainLists::classifier(server->domains_);
        hooks.check.local_domain = address::DomainLists::local_tester(server->domains_);
    }
    if (!hooks.check.lookup_user || !hooks.check.lookup_rewritten) {
        server->recipient_tables_ = RecipientTables::open(cfg);
        RecipientTables::install(server->recipient_tables_, hooks.check);
    }
    if (!hooks.tls_loaded) {
        hooks.tls_context = load_tls_context(cfg);
        hooks.tls_loaded = true;
    }
    if (!hooks.sasl_loaded) {
        auto sasl = load_sasl(cfg);
        if (!sasl) return sasl.error();
        hooks.sasl = std::move(*sasl);
        hooks.sasl_loaded = true;
    }
    if (hooks.sasl) {
        auto sasl_server = SaslServer::create(loop, hooks.sasl);
        if (!sasl_server) return sasl_server.error();
        server->sasl_ = std::move(*sasl_server);
        auto ex = Mynetworks::parse(server->config_.sasl.exceptions_networks);
        if (!ex) return ex.error();
        server->sasl_exceptions_ = std::make_unique<Mynetworks>(std::move(*ex));
    }
    auto limits = ClientLimits::create(cfg, loop, hooks.service);
    if (!limits) return limits.error();
    server->limits_ = std::move(*limits);
    server->hooks_ = std::move(hooks);

    auto cc = CheckConfig::from_config(cfg);
    if (!cc) return cc.error();
    cc->no_unknown_recipient_checks = server->config_.no_unknown_recipient_checks;
    auto dns_opts = dns_options(cfg);
    if (!dns_opts) return dns_opts.error();
    bool own_dns = server->hooks_.check.dns == nullptr;
    if (own_dns) {
        server->check_dns_ = std::make_unique<LibDnsResolver>(*dns_opts);
        server->hooks_.check.dns = server->check_dns_.get();
    }
    if (server->config_.smtpd_peername_lookup && dns_opts->servers.empty()) {
        // The system resolver blocks: a few workers ask it.
        auto w = event::Offload::create(loop.base(), kPeerWorkers);
        if (!w) return w.error();
        server->peer_offload_ = std::move(*w);
    } else if (server->config_.smtpd_peername_lookup) {
        // Peer names are asked on the loop; a lookup waits at most about
        // 2 x 1.5 s per question before the client is "unknown".
        dns::Options peer_opts = *dns_opts;
        peer_opts.timeout = std::chrono::milliseconds(1500);
        peer_opts.tries = 2;
        auto r = dns::Resolver::create(loop, peer_opts);
        if (!r) return r.error();
        server->resolver_ = std::move(*r);
    }
    // A restriction table that can block (mysql:, proxy:mysql:, ...) sends
    // every check through the lookup path (lib/table/async_lookup.h): each
    // of kCheckWorkers runners has its own Checker, used by its one thread.
    bool may_block = server->hooks_.offload_checks ||
                     (server->recipient_tables_ && server->recipient_tables_->may_block()) ||
                     (server->domains_ && server->domains_->may_block());
    auto scan = [&](const std::vector<std::string>& list) {
        for (const auto& item : list) {
            // A table that may block, by its type (proxy:mysql:..., unionmap:{...}).
            if (table::spec_may_block(item)) may_block = true;
            // Restrictions that ask DNS: blocking lib/dns lookups on the workers.
            for (const char* r : {"reject_unknown_sender_domain", "reject_unknown_recipient_domain",
                                  "reject_unknown_helo_hostname", "reject_unknown_hostname", "_rbl_", "rhsbl",
                                  "dnswl", "rhswl"}) {
                if (own_dns && item.find(r) != std::string::npos) may_block = true;
            }
        }
    };
    for (const auto* list : {&cc->client_restrictions, &cc->helo_restrictions, &cc->sender_restrictions,
                             &cc->relay_restrictions, &cc->recipient_restrictions, &cc->data_restrictions,
                             &cc->end_of_data_restrictions, &cc->etrn_restrictions})
        scan(*list);
    for (const auto& [name, list] : cc->restriction_classes) scan(list);
    scan(cc->sender_login_maps);
    if (may_block) {
        for (size_t i = 0; i < kCheckWorkers; ++i) {
            server->workers_.push_back(std::make_unique<table::LookupRunner>(loop));
            server->worker_checkers_.push_back(std::make_unique<Checker>(*cc, server->hooks_.check));
        }
    }
    if (server->config_.milters) {
        if (auto st = server->load_routes(cfg, *cc); !st) return st.error();
    }
    server->checker_ = std::make_unique<Checker>(std::move(*cc), server->hooks_.check);
    if (auto st = server->checker_->validate(); !st) return st.error();

    auto io = event::Offload::create(loop.base(), 2);
    if (!io) return io.error();
    server->io_offload_ = std::move(*io);

    auto nets = Mynetworks::from_config(cfg);
    if (!nets) return nets.error();
    server->mynetworks_ = std::make_unique<Mynetworks>(std::move(*nets));
    auto excl = cfg.get_list("smtpd_forbid_bare_newline_exclusions");
    if (!excl) return excl.error();
    auto ex = Mynetworks::parse(*excl);
    if (!ex) return ex.error();
    server->bare_lf_exclusions_ = std::make_unique<Mynetworks>(std::move(*ex));

    return server;
}

SmtpdServer::SmtpdServer(Private, event::Loop& loop) : loop_(loop) {}

Result<std::shared_ptr<CyrusSasl>> SmtpdServer::load_sasl(const config::Config& cfg) {
    auto c = SaslConfig::from_config(cfg);
    if (!c) return c.error();
    if (!c->enabled) return std::shared_ptr<CyrusSasl>();
    auto myhostname = cfg.get("myhostname");
    if (!myhostname) return myhostname.error();
    return CyrusSasl::init(*c, *myhostname);
}

bool SmtpdServer::sasl_exception(const Peer& peer) const {
    if (!sasl_exceptions_) return false;
    auto m = sasl_exceptions_->match(peer.name, peer.addr);
    return m && *m;
}

std::shared_ptr<tls::ServerContext> SmtpdServer::load_tls_context(const config::Config& cfg) {
    auto policy = tls::ServerPolicy::from_config(cfg);
    if (!policy || !policy->enabled()) return nullptr;
    auto ctx = tls::ServerContext::create(*policy);
    if (!ctx) {
        log::warn("%s: disabling TLS support", ctx.error().message.c_str());
        return nullptr;
    }
    return std::move(*ctx);
}

SmtpdServer::~SmtpdServer() {
    limits_.reset();  // pending anvil answers never call back into sessions
    resolver_.reset();  // pending peer lookups never call back into sessions
    peer_offload_.reset();
    sasl_.reset();      // joins the SASL worker; pending exchanges never call back
    workers_.clear();  // joins the threads before their Checkers go
    io_offload_.reset();
    sessions_.clear();
}

bool SmtpdServer::in_mynetworks(const Peer& peer) const {
    auto m = mynetworks_->match(peer.name, peer.addr);
    if (!m) {
        log::warn("mynetworks lookup for %s[%s]: %s", peer.name.c_str(), peer.addr.c_str(),
                  m.error().message.c_str());
        return false;
    }
    return *m;
}

bool SmtpdServer::bare_newline_excluded(const Peer& peer) const {
    auto m = bare_lf_exclusions_->match(peer.name, peer.addr);
    return m && *m;
}

void SmtpdServer::run_check(std::function<CheckResult(Checker&)> fn, std::function<void(CheckResult)> done) {
    if (workers_.empty()) {
        done(fn(*checker_));
        return;
    }
    size_t best = 0;
    for (size_t i = 1; i < workers_.size(); ++i) {
        if (workers_[i]->pending() < workers_[best]->pending()) best = i;
    }
    Checker* checker = worker_checkers_[best].get();
    workers_[best]->run<CheckResult>(true, [fn = std::move(fn), checker] { return fn(*checker); }, std::move(done));
}

void SmtpdServer::start_session(server::Connection conn, Peer peer) {
    auto session = std::make_unique<Session>(*this, std::move(conn), std::move(peer));
    Session* raw = session.get();
    sessions_.push_back(std::move(session));
    raw->start();
}

void SmtpdServer::session_done(Session* session) {
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
        if (it->get() == session) {
            // We are inside one of the session's own callbacks: it is
            // destroyed from the loop once that has returned.
            loop_.release_later(std::move(*it));
            sessions_.erase(it);
            break;
        }
    }
}

}  // namespace mailroom::smtpd
