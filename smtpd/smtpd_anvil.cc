// smtpd_anvil.cc - see smtpd_anvil.h.
#include "smtpd/smtpd_anvil.h"

#include <chrono>

#include "lib/ipc/ipc_socket.h"
#include "lib/log/log.h"

namespace mailroom::smtpd {

Result<std::unique_ptr<ClientLimits>> ClientLimits::create(const config::Config& cfg, event::Loop& loop,
                                                           std::string service) {
    LimitsConfig c;
    c.service = std::move(service);
    struct IntParam {
        const char* name;
        int* field;
    };
    for (auto p : {IntParam{"smtpd_client_connection_count_limit", &c.connection_count_limit},
                   IntParam{"smtpd_client_connection_rate_limit", &c.connection_rate_limit},
                   IntParam{"smtpd_client_message_rate_limit", &c.message_rate_limit},
                   IntParam{"smtpd_client_recipient_rate_limit", &c.recipient_rate_limit}}) {
        auto v = cfg.get_int(p.name);
        if (!v) return v.error();
        *p.field = static_cast<int>(*v);
    }
    auto host = cfg.get("myhostname");
    if (!host) return host.error();
    c.myhostname = *host;
    auto list = cfg.get_list("smtpd_client_event_limit_exceptions");
    if (!list) return list.error();
    auto exceptions = Mynetworks::parse(*list);
    if (!exceptions) return exceptions.error();
    std::unique_ptr<anvil::Client> client;
    if (c.any()) {
        auto queue = cfg.get("queue_directory");
        if (!queue) return queue.error();
        anvil::ClientOptions opts;
        opts.socket_path = ipc::service_socket_path(*queue, ipc::ServiceClass::kPrivate, anvil::kServiceName);
        client = std::make_unique<anvil::Client>(loop, std::move(opts));
    }
    return std::make_unique<ClientLimits>(std::move(c), std::move(*exceptions), std::move(client));
}

ClientLimits::ClientLimits(LimitsConfig config, Mynetworks exceptions, std::unique_ptr<anvil::Client> client)
    : config_(std::move(config)), exceptions_(std::move(exceptions)), client_(std::move(client)) {}

bool ClientLimits::exempt(const std::string& name, const std::string& addr) const {
    auto m = exceptions_.match(name, addr);
    if (!m) {
        log::warn("smtpd_client_event_limit_exceptions lookup for %s[%s]: %s", name.c_str(), addr.c_str(),
                  m.error().message.c_str());
        return false;
    }
    return *m;
}

void ClientLimits::connect(const std::string& name, const std::string& addr,
                           std::function<void(std::optional<Reply>, std::uint64_t)> done) {
    std::string namaddr = name + "[" + addr + "]";
    anvil::Client* client = client_.get();
    client_->request(anvil::RequestType::kConnect, anvil::make_ident(config_.service, addr),
                     [this, client, namaddr, addr, done = std::move(done)](std::optional<anvil::Reply> r) {
                         if (!r || r->status != anvil::kStatusOk) return done(std::nullopt, 0);
                         std::uint64_t gen = client->generation();
                         Reply refuse = make_reply(421, "4.7.0", config_.myhostname +
                                                                     " Error: too many connections from " + addr);
                         if (config_.connection_count_limit > 0 && r->count > config_.connection_count_limit) {
                             log::warn("Connection concurrency limit exceeded: %lld from %s for service %s",
                                       static_cast<long long>(r->count), namaddr.c_str(), config_.service.c_str());
                             return done(refuse, gen);
                         }
                         if (config_.connection_rate_limit > 0 && r->rate > config_.connection_rate_limit) {
                             log::warn("Connection rate limit exceeded: %lld from %s for service %s",
                                       static_cast<long long>(r->rate), namaddr.c_str(), config_.service.c_str());
                             return done(refuse, gen);
                         }
                         done(std::nullopt, gen);
                     });
}

void ClientLimits::disconnect(const std::string& addr, std::uint64_t generation) {
    if (!client_ || generation == 0 || generation != client_->generation() || !client_->connected()) return;
    client_->request(anvil::RequestType::kDisconnect, anvil::make_ident(config_.service, addr), nullptr);
}

void ClientLimits::message(const std::string& name, const std::string& addr, Verdict done) {
    rate(anvil::RequestType::kMessage, config_.message_rate_limit, "Message delivery request", "too much mail",
         name, addr, std::move(done));
}

void ClientLimits::recipient(const std::string& name, const std::string& addr, Verdict done) {
    rate(anvil::RequestType::kRecipient, config_.recipient_rate_limit, "Recipient address", "too many recipients",
         name, addr, std::move(done));
}

void ClientLimits::rate(anvil::RequestType type, int limit, const char* what, const char* refusal,
                        const std::string& name, const std::string& addr, Verdict done) {
    std::string namaddr = name + "[" + addr + "]";
    client_->request(type, anvil::make_ident(config_.service, addr),
                     [this, limit, what, refusal, namaddr, addr, done = std::move(done)](std::optional<anvil::Reply> r) {
                         if (!r || r->status != anvil::kStatusOk || r->rate <= limit) return done(std::nullopt);
                         log::warn("%s rate limit exceeded: %lld from %s for service %s", what,
                                   static_cast<long long>(r->rate), namaddr.c_str(), config_.service.c_str());
                         done(make_reply(450, "4.7.1", std::string("Error: ") + refusal + " from " + addr));
                     });
}

}  // namespace mailroom::smtpd
