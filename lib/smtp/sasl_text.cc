// sasl_text.cc - see sasl_text.h.
#include "lib/smtp/sasl_text.h"

#include <sasl/sasl.h>

#include "lib/util/strings.h"

namespace mailroom::smtp {

Result<unsigned> parse_sasl_security_options(std::string_view list) {
    unsigned flags = 0;
    for (const auto& word : util::split_list(list)) {
        std::string w = util::lowercase(word);
        if (w == "noanonymous") {
            flags |= SASL_SEC_NOANONYMOUS;
        } else if (w == "noplaintext") {
            flags |= SASL_SEC_NOPLAINTEXT;
        } else if (w == "noactive") {
            flags |= SASL_SEC_NOACTIVE;
        } else if (w == "nodictionary") {
            flags |= SASL_SEC_NODICTIONARY;
        } else if (w == "mutual_auth") {
            flags |= SASL_SEC_MUTUAL_AUTH;
        } else if (w == "forward_secrecy") {
            flags |= SASL_SEC_FORWARD_SECRECY;
        } else {
            return make_error("unknown SASL security option: \"" + word + "\"");
        }
    }
    return flags;
}

std::string sasl_status_text(int status) {
    switch (status) {
        case SASL_CONTINUE: return "another step is needed in authentication";
        case SASL_OK: return "successful result";
        case SASL_FAIL: return "generic failure";
        case SASL_NOMEM: return "no memory available";
        case SASL_BUFOVER: return "overflowed buffer";
        case SASL_NOMECH: return "no mechanism available";
        case SASL_BADPROT: return "bad protocol / cancel";
        case SASL_NOTDONE: return "can't request info until later in exchange";
        case SASL_BADPARAM: return "invalid parameter supplied";
        case SASL_TRYAGAIN: return "transient failure (e.g., weak key)";
        case SASL_BADMAC: return "integrity check failed";
        case SASL_NOTINIT: return "SASL library not initialized";
        case SASL_INTERACT: return "needs user interaction";
        case SASL_BADSERV: return "server failed mutual authentication step";
        case SASL_WRONGMECH: return "mechanism doesn't support requested feature";
        case SASL_BADAUTH: return "authentication failure";
        case SASL_NOAUTHZ: return "authorization failure";
        case SASL_TOOWEAK: return "mechanism too weak for this user";
        case SASL_ENCRYPT: return "encryption needed to use mechanism";
        case SASL_TRANS: return "One time use of a plaintext password will enable requested mechanism for user";
        case SASL_EXPIRED: return "passphrase expired, has to be reset";
        case SASL_DISABLED: return "account disabled";
        case SASL_NOUSER: return "user not found";
        case SASL_BADVERS: return "version mismatch with plug-in";
        case SASL_UNAVAIL: return "remote authentication server unavailable";
        case SASL_NOVERIFY: return "user exists, but no verifier for user";
        case SASL_PWLOCK: return "passphrase locked";
        case SASL_NOCHANGE: return "requested change was not needed";
        case SASL_WEAKPASS: return "passphrase is too weak for security policy";
        case SASL_NOUSERPASS: return "user supplied passwords are not permitted";
        default: return "unknown SASL library error";
    }
}

}  // namespace mailroom::smtp
