// smtpd_anvil.h - per-client connection count and rate limits through anvil.
//
// Summary
//   ClientLimits enforces smtpd_client_connection_count_limit,
//   smtpd_client_connection_rate_limit, smtpd_client_message_rate_limit
//   and smtpd_client_recipient_rate_limit for one smtpd process: it
//   reports each event to anvil (lib/anvil/anvil_client.h, without ever
//   blocking the loop) and compares the answer with the limit. A refusal
//   is Postfix's reply, and its warning is logged here:
//     421 4.7.0 HOST Error: too many connections from ADDR
//       warning: Connection concurrency limit exceeded: 51 from host[addr] for service smtp
//       warning: Connection rate limit exceeded: 11 from host[addr] for service smtp
//     450 4.7.1 Error: too much mail from ADDR
//       warning: Message delivery request rate limit exceeded: 6 from host[addr] for service smtp
//     450 4.7.1 Error: too many recipients from ADDR
//       warning: Recipient address rate limit exceeded: 6 from host[addr] for service smtp
//
// Description
//   Clients matching smtpd_client_event_limit_exceptions are not counted
//   at all (exempt()). As in Postfix, connect and disconnect are reported
//   whenever anvil is used (some limit is non-zero), so anvil keeps a
//   client's rates for as long as it is connected. When anvil cannot be
//   asked, the event is let through (the client logs a warning). The
//   ident is "service:address" with the master.cf service name.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "lib/anvil/anvil_client.h"
#include "lib/config/config.h"
#include "lib/event/event_loop.h"
#include "lib/util/result.h"
#include "smtpd/smtpd_mynetworks.h"
#include "smtpd/smtpd_protocol.h"

namespace mailroom::smtpd {

struct LimitsConfig {
    int connection_count_limit = 50;  // smtpd_client_connection_count_limit
    int connection_rate_limit = 0;    // smtpd_client_connection_rate_limit
    int message_rate_limit = 0;       // smtpd_client_message_rate_limit
    int recipient_rate_limit = 0;     // smtpd_client_recipient_rate_limit
    std::string myhostname;
    std::string service = "smtp";

    bool any() const {
        return connection_count_limit > 0 || connection_rate_limit > 0 || message_rate_limit > 0 ||
               recipient_rate_limit > 0;
    }
};

class ClientLimits {
public:
    // A refusal (the reply to send), or nullopt to go on.
    using Verdict = std::function<void(std::optional<Reply>)>;

    // Reads the limits and the exceptions; the client talks to
    // queue_directory/private/anvil. `service` is the master.cf name.
    static Result<std::unique_ptr<ClientLimits>> create(const config::Config& config, event::Loop& loop,
                                                        std::string service);
    ClientLimits(LimitsConfig config, Mynetworks exceptions, std::unique_ptr<anvil::Client> client);

    // anvil is used at all (some limit is set).
    bool enabled() const { return config_.any() && client_ != nullptr; }
    const LimitsConfig& config() const { return config_; }
    // smtpd_client_event_limit_exceptions matches the client.
    bool exempt(const std::string& name, const std::string& addr) const;

    // A new connection: `done` gets the refusal, if any, and the anvil
    // connection generation that counted it (0: not counted); a counted
    // connection ends with disconnect(addr, generation).
    void connect(const std::string& name, const std::string& addr,
                 std::function<void(std::optional<Reply>, std::uint64_t)> done);
    // Tells anvil, unless the anvil process that counted the connection
    // is gone (it forgot the connection then).
    void disconnect(const std::string& addr, std::uint64_t generation);
    void message(const std::string& name, const std::string& addr, Verdict done);
    void recipient(const std::string& name, const std::string& addr, Verdict done);

private:
    void rate(anvil::RequestType type, int limit, const char* what, const char* refusal, const std::string& name,
              const std::string& addr, Verdict done);

    LimitsConfig config_;
    Mynetworks exceptions_;
    std::unique_ptr<anvil::Client> client_;
};

}  // namespace mailroom::smtpd
