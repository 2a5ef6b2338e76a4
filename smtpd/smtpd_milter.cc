// smtpd_milter.cc - smtpd's milters; see smtpd_milter.h.
#include "smtpd/smtpd_milter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lib/log/log.h"
#include "lib/util/strings.h"
#include "smtpd/smtpd_session_impl.h"

namespace mailroom::smtpd {

using queue::RecordType;

Reply milter_reply(const std::string& text) {
    std::string first = text.substr(0, text.find_first_of("\r\n"));
    if (first.size() > 3 && first[3] == '-') first[3] = ' ';
    return reply_from_text(first);
}

namespace {

class MilterSink final : public MessageSink {
public:
    MilterSink(std::unique_ptr<MessageSink> inner, std::shared_ptr<milter::MilterList> milters, std::string spool_dir,
               MilterLogInfo log)
        : inner_(std::move(inner)), milters_(std::move(milters)), msg_(std::move(spool_dir)), log_(std::move(log)) {}

    const std::string& queue_id() const override { return inner_ ? inner_->queue_id() : id_; }

    Status send(RecordType type, std::string_view payload) override {
        if (!status_) return status_;
        status_ = msg_.add(type, payload);
        return status_;
    }

    std::optional<Reply> final_reply() const override { return reply_; }

    void finish(Finished done) override {
        id_ = inner_->queue_id();
        if (!status_ || !msg_.complete()) {
            done(status_ ? Error(make_error("incomplete message")) : status_.error());
            return;
        }
        std::weak_ptr<int> alive = alive_;
        milters_->message(msg_, [this, alive, done](milter::Verdict v) {
            if (alive.expired()) return;
            submit::CleanupResult result;
            result.queue_id = id_;
            std::string suffix = log_.suffix ? log_.suffix() : "";
            if (v.kind == milter::Verdict::Kind::kReject || v.kind == milter::Verdict::Kind::kTempfail) {
                Reply r = milter_reply(v.reply);
                // At end of message Postfix logs the text without the code.
                std::string text = r.text();
                log::info("%s: milter-reject: END-OF-MESSAGE from %s: %s; %s", id_.c_str(), log_.namaddr.c_str(),
                          log::log_printable(text.size() > 4 ? text.substr(4) : text).c_str(), suffix.c_str());
                reply_ = r;
                inner_.reset();  // without the end record cleanup removes its file
                result.status = submit::CleanupStatus::kContent;
                result.dsn = r.dsn;
                result.reason = text;
                done(result);
                return;
            }
            if (v.kind == milter::Verdict::Kind::kDiscard) {
                log::info("%s: milter-discard: END-OF-MESSAGE from %s: milter triggers DISCARD action; %s",
                          id_.c_str(), log_.namaddr.c_str(), suffix.c_str());
                inner_.reset();
                result.status = submit::CleanupStatus::kOk;
                done(result);
                return;
            }
            if (msg_.held()) {
                log::info("%s: milter-hold: END-OF-MESSAGE from %s: %s; %s", id_.c_str(), log_.namaddr.c_str(),
                          log::log_printable(msg_.hold_reason()).c_str(), suffix.c_str());
            }
            Status st = msg_.replay([this](RecordType t, std::string_view p) { return inner_->send(t, p); });
            if (!st) {
                done(st.error());
                return;
            }
            inner_->finish(done);
        });
    }

private:
    std::unique_ptr<MessageSink> inner_;
    std::shared_ptr<milter::MilterList> milters_;
    milter::MilterMessage msg_;
    MilterLogInfo log_;
    Status status_ = ok_status();
    std::string id_;
    std::optional<Reply> reply_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace

std::unique_ptr<MessageSink> milter_sink(std::unique_ptr<MessageSink> inner, std::shared_ptr<milter::MilterList> milters,
                                         std::string spool_dir, MilterLogInfo log) {
    return std::make_unique<MilterSink>(std::move(inner), std::move(milters), std::move(spool_dir), std::move(log));
}

// ---------------------------------------------------------------------------
// The session's side

std::string Session::milter_log_suffix() const {
    std::optional<std::string> to = s_.recipient;
    if (!to && !recipients_.empty()) to = recipients_.front();
    return log::log_printable(s_.log_suffix(to, true));
}

std::optional<std::string> Session::milter_macro(std::string_view name) const {
    std::string n(name);
    if (n.size() > 2 && n.front() == '{' && n.back() == '}') n = n.substr(1, n.size() - 2);
    const auto& mc = *cfg_.milters;
    if (n == "j") return cfg_.myhostname;
    if (n == "v") return mc.macro_v;
    if (n == "daemon_name") return mc.daemon_name;
    if (n == "_") return s_.client_name + " [" + s_.client_addr + "]";
    if (n == "client_addr") return s_.client_addr;
    if (n == "client_name") return s_.client_name;
    if (n == "client_ptr") return s_.reverse_client_name.empty() ? std::string("unknown") : s_.reverse_client_name;
    if (n == "client_connections") return std::string("0");
    if (n == "daemon_addr" || n == "daemon_port" || n == "client_port") {
        sockaddr_storage ss{};
        socklen_t len = sizeof(ss);
        int rc = n == "client_port" ? ::getpeername(conn_.fd(), reinterpret_cast<sockaddr*>(&ss), &len)
                                    : ::getsockname(conn_.fd(), reinterpret_cast<sockaddr*>(&ss), &len);
        if (rc != 0) return std::nullopt;
        char buf[INET6_ADDRSTRLEN] = "";
        unsigned port = 0;
        if (ss.ss_family == AF_INET) {
            auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
            ::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
            port = ntohs(sin->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
            ::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
            port = ntohs(sin6->sin6_port);
        } else {
            return std::nullopt;
        }
        if (n == "daemon_addr") return std::string(buf);
        return std::to_string(port);
    }
    if (n == "i") return s_.queue_id.empty() ? std::nullopt : std::optional<std::string>(s_.queue_id);
    if (n == "auth_type") return s_.sasl_username.empty() ? std::nullopt : std::optional<std::string>(s_.sasl_method);
    if (n == "auth_authen")
        return s_.sasl_username.empty() ? std::nullopt : std::optional<std::string>(s_.sasl_username);
    // MAIL FROM's AUTH= (taken only when AUTH is on), "<>" giving none.
    if (n == "auth_author") return sasl_sender_.empty() ? std::nullopt : std::optional<std::string>(sasl_sender_);
    if (n == "mail_addr") return s_.sender;
    if (n == "rcpt_addr") return s_.recipient;
    if (n == "mail_mailer" || n == "mail_host") {
        // Where a bounce would go; empty for the null sender, as Postfix.
        if (!s_.sender) return std::nullopt;
        if (s_.sender->empty()) return std::string();
        auto r = server_.route(*s_.sender);
        if (!r) return std::nullopt;
        return n == "mail_mailer" ? r->transport : r->nexthop;
    }
    if (n == "rcpt_mailer" || n == "rcpt_host") {
        if (!s_.recipient) return std::nullopt;
        auto r = server_.route(*s_.recipient);
        if (!r) return std::nullopt;
        return n == "rcpt_mailer" ? r->transport : r->nexthop;
    }
    if (n == "tls_version" && s_.tls_active) return tls_info_.protocol;
    if (n == "cipher" && s_.tls_active) return tls_info_.cipher;
    if (n == "cipher_bits" && s_.tls_active) return std::to_string(tls_info_.cipher_bits);
    // The client certificate's names (smtpd_tls_ask_ccert = yes), as Postfix: CommonNames.
    if (n == "cert_subject" && s_.tls_active && tls_info_.peer_cert) return tls_info_.peer_cn;
    if (n == "cert_issuer" && s_.tls_active && tls_info_.peer_cert) return tls_info_.issuer_cn;
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// Routes for the macros: qmgr's resolve_route() over the resolver the
// restrictions use and transport_maps.

Status SmtpdServer::load_routes(const config::Config& cfg, const CheckConfig& checks) {
    if (domains_ && domains_->may_block()) return ok_status();  // route() gives nothing
    auto routing = std::make_shared<qmgr::RoutingConfig>();
    routing->resolver =
        std::make_shared<address::Resolver>(checks.resolve, hooks_.check.classify_domain, hooks_.check.local_domain);
    for (auto [name, field] : {std::pair{"local_transport", &routing->local_transport},
                               std::pair{"virtual_transport", &routing->virtual_transport},
                               std::pair{"relay_transport", &routing->relay_transport},
                               std::pair{"default_transport", &routing->default_transport},
                               std::pair{"relayhost", &routing->relayhost}}) {
        auto v = cfg.get(name);
        if (!v) return v.error();
        *field = *v;
    }
    auto maps = cfg.get_list("transport_maps");
    if (!maps) return maps.error();
    for (const auto& spec : *maps) {
        auto t = table::open_table(spec);
        if (!t) return make_error("transport_maps: " + t.error().message);
        if ((*t)->may_block()) {
            transport_maps_.clear();
            return ok_status();  // route() gives nothing
        }
        transport_maps_.push_back(std::move(*t));
    }
    routing_ = std::move(routing);
    return ok_status();
}

std::optional<qmgr::Route> SmtpdServer::route(std::string_view address) const {
    if (!routing_) return std::nullopt;
    qmgr::TransportLookup lookup;
    if (!transport_maps_.empty()) {
        lookup = [this](std::string_view key) -> Result<std::optional<std::string>> {
            for (const auto& t : transport_maps_) {
                auto v = t->lookup(key);
                if (!v) return v.error();
                if (*v) return *v;
            }
            return std::optional<std::string>();
        };
    }
    auto r = qmgr::resolve_route(*routing_, address, lookup);
    if (!r) return std::nullopt;
    return *r;
}

void Session::milter_stage(const char* stage, std::function<void(milter::MilterList::Done)> start,
                           std::function<void(std::optional<Reply>)> then) {
    if (!milters_) return then(std::nullopt);
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    start([this, alive, stage, then = std::move(then)](milter::Verdict v) {
        if (alive.expired() || finished_) return;
        busy_ = false;
        std::optional<Reply> r;
        if (v.kind == milter::Verdict::Kind::kReject || v.kind == milter::Verdict::Kind::kTempfail) {
            r = milter_reply(v.reply);
            log::info("%s: milter-reject: %s from %s: %s; %s", s_.queue_id.empty() ? "NOQUEUE" : s_.queue_id.c_str(),
                      stage, namaddr().c_str(), log::log_printable(r->text()).c_str(), milter_log_suffix().c_str());
        } else if (v.kind == milter::Verdict::Kind::kDiscard) {
            log::info("%s: milter-discard: %s from %s: milter triggers DISCARD action; %s",
                      s_.queue_id.empty() ? "NOQUEUE" : s_.queue_id.c_str(), stage, namaddr().c_str(),
                      milter_log_suffix().c_str());
            milter_discard_ = true;
        }
        then(r);
        if (!busy_ && !finished_) check_error_limit();
        pump();
    });
}

void Session::milter_start() {
    if (!cfg_.milters || cfg_.milters->empty()) return;
    std::weak_ptr<int> alive = alive_;
    milters_ = std::make_shared<milter::MilterList>(server_.loop(), cfg_.milters,
                                                     [this, alive](std::string_view name) -> std::optional<std::string> {
                                                         if (alive.expired()) return std::nullopt;
                                                         return milter_macro(name);
                                                     });
}

std::vector<std::string> Session::milter_args(const Command& cmd) const {
    // "<address>" then the ESMTP parameters as the client sent them.
    std::vector<std::string> args{"<" + cmd.address + ">"};
    std::string_view rest = cmd.argument;
    auto close = rest.find('>');
    if (close != std::string_view::npos) rest.remove_prefix(close + 1);
    else rest = {};
    for (const auto& word : util::split(rest, " \t")) args.push_back(word);  // NOTIFY=A,B is one
    return args;
}

std::unique_ptr<MessageSink> Session::milter_wrap(std::unique_ptr<MessageSink> sink) {
    if (!milters_) return sink;
    std::weak_ptr<int> alive = alive_;
    MilterLogInfo info{[this, alive] { return alive.expired() ? std::string() : milter_log_suffix(); }, namaddr()};
    return milter_sink(std::move(sink), milters_, cfg_.queue_directory.empty() ? "" : cfg_.queue_directory + "/incoming",
                       std::move(info));
}

}  // namespace mailroom::smtpd
