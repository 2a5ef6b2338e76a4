// smtp_delivery.h - one delivery request carried out over SMTP or LMTP on
// the event loop.
//
// Summary
//   start_delivery() takes qmgr's request and the message, finds the
//   addresses to try (lib/smtp/smtp_route.h: MX, A/AAAA, fallback relays,
//   loops to myself), and tries them in order: a
//   non-blocking connect bounded by *_connect_timeout, then the protocol
//   engine (lib/smtp/smtp_client.h) over an event::Channel, with TLS
//   (lib/tls/tls_client.h) at the security level of *_tls_policy_maps or
//   *_tls_security_level, and the message content streamed from the queue
//   file in bounded pieces at the server's pace, put in wire form on the
//   way (agent::LineTransformer: CRLF, dots doubled, *_line_length_limit).
//   `done` gets one result per recipient with relay= (and conn_use= for a
//   reused connection) and Postfix's texts.
//
// Description
//   A connection that fails ("connect to host[addr]:port: Connection
//   refused"), a greeting that is refused or a session lost before MAIL
//   FROM make the next address be tried; when none is left every
//   recipient gets the last reason (connection failures: 4.4.1 and
//   relay=none). Recipients a server defers (4xx to MAIL, RCPT, DATA or
//   the end of data, a connection lost after MAIL FROM) go to the next
//   address as well, unless that server was the final one: the last
//   address, or the *_mx_session_limit-th session with the nexthop's
//   servers that got past the handshake. A cached session that the server
//   closed before answering MAIL FROM is replaced by a new connection. Timeouts follow the engine's state: the *_helo_timeout
//   for the greeting and EHLO, *_mail_timeout, *_rcpt_timeout,
//   *_data_init_timeout, *_data_xfer_timeout for each piece of content,
//   *_data_done_timeout, *_quit_timeout, *_starttls_timeout.
//   After a transaction the session goes to the SessionCache when it
//   wants this nexthop (smtp_cache.h), and a delivery to the same nexthop
//   takes it from there and starts at MAIL FROM.
//   With *_sasl_auth_enable and an entry in *_sasl_password_maps for the
//   sender, the nexthop or the server (smtp_sasl.h) the session
//   authenticates when the server offers AUTH.
//   The TLS log line ("Untrusted/Trusted/Verified TLS connection
//   established to ...") appears with *_tls_loglevel >= 1; at verify and
//   secure a certificate that does not match the server's name defers
//   with "Server certificate not verified" (4.7.5).
#pragma once

#include <memory>

#include "lib/agent/agent_event_server.h"
#include "lib/agent/agent_message.h"
#include "lib/deliver/deliver_proto.h"
#include "lib/event/event_loop.h"
#include "lib/smtp/smtp_route.h"
#include "lib/table/maps.h"
#include "lib/tls/tls_client.h"
#include "smtp/smtp_cache.h"
#include "smtp/smtp_settings.h"

namespace mailroom::smtp_agent {

struct AgentContext {
    AgentSettings settings;
    std::unique_ptr<smtp_route::Router> router;  // where to connect
    std::shared_ptr<tls::ClientContext> tls;  // nullptr: TLS unavailable
    std::string tls_error;                    // why, when tls is nullptr
    table::Maps tls_policy;
    table::Maps sasl_passwords;  // *_sasl_password_maps, opened as root
    std::unique_ptr<SessionCache> cache;  // idle sessions (smtp_cache.h)
};

void start_delivery(event::Loop& loop, const AgentContext& context, const deliver::DeliveryRequest& request,
                    std::shared_ptr<const agent::MessageCopy> message, agent::EventDone done);

}  // namespace mailroom::smtp_agent
