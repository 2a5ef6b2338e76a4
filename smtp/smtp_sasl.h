// smtp_sasl.h - SMTP AUTH for the smtp/lmtp agent through Cyrus SASL's
// client API, and the password table lookup that feeds it.
//
// Summary
//   find_credentials() looks up the user name and password for one
//   connection in *_sasl_password_maps, in Postfix's order: with
//   *_sender_dependent_authentication the sender address, then its
//   "@domain"; then the nexthop as written ("[mail.isp.example]:587",
//   "example.com"), then the server's host name. The value is
//   "username:password".
//   CyrusClient is the engine's SaslClient (lib/smtp/smtp_client.h): it
//   offers the server's mechanisms, cut down by *_sasl_mechanism_filter,
//   to libsasl2 under *_sasl_security_options (or
//   *_sasl_tls_security_options inside TLS), so PLAIN, LOGIN and CRAM-MD5
//   work as they do for Postfix (the mechanisms of libsasl2-modules).
//
// Security
//   The password table is opened before the privilege drop (it is
//   normally readable by root only); secrets live in memory only for the
//   session that uses them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/smtp/smtp_client.h"
#include "lib/table/maps.h"
#include "lib/util/result.h"

namespace mailroom::smtp_agent {

struct Credentials {
    std::string user;
    std::string password;
};

struct SaslSettings {
    bool enable = false;
    bool sender_dependent = false;
    unsigned security_flags = 0;      // SASL_SEC_* of *_sasl_security_options
    unsigned tls_security_flags = 0;  // inside TLS
    std::vector<std::string> mechanism_filter;  // empty: all
};

// nullopt: no entry (no AUTH); an error: the table failed (defer).
Result<std::optional<Credentials>> find_credentials(const table::Maps& maps, bool sender_dependent,
                                                    const std::string& sender, const std::string& nexthop,
                                                    const std::string& hostname);

// Once per process, before the first client.
Status sasl_client_setup();

std::shared_ptr<smtp::SaslClient> make_cyrus_client(const SaslSettings& settings, const std::string& server_name,
                                                    Credentials credentials);

}  // namespace mailroom::smtp_agent
