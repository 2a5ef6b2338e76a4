// smtp_sasl.cc - see smtp_sasl.h.
#include "smtp/smtp_sasl.h"

#include <sasl/sasl.h>

#include <cstring>

#include "lib/smtp/sasl_text.h"
#include "lib/util/strings.h"

namespace mailroom::smtp_agent {

namespace {

class CyrusClient : public smtp::SaslClient {
public:
    CyrusClient(SaslSettings settings, std::string server, Credentials cred)
        : settings_(std::move(settings)), server_(std::move(server)), cred_(std::move(cred)) {
        secret_.resize(sizeof(sasl_secret_t) + cred_.password.size() + 1);
        auto* s = reinterpret_cast<sasl_secret_t*>(secret_.data());
        s->len = cred_.password.size();
        std::memcpy(s->data, cred_.password.data(), cred_.password.size());
        callbacks_[0] = {SASL_CB_USER, reinterpret_cast<int (*)()>(&CyrusClient::name), this};
        callbacks_[1] = {SASL_CB_AUTHNAME, reinterpret_cast<int (*)()>(&CyrusClient::name), this};
        callbacks_[2] = {SASL_CB_PASS, reinterpret_cast<int (*)()>(&CyrusClient::pass), this};
        callbacks_[3] = {SASL_CB_LIST_END, nullptr, nullptr};
    }
    ~CyrusClient() override {
        if (conn_) sasl_dispose(&conn_);
        std::fill(secret_.begin(), secret_.end(), '\0');
    }

    Result<Start> start(const std::string& mechanisms, bool tls) override {
        std::string offered;
        for (const auto& m : util::split_list(mechanisms)) {
            bool keep = settings_.mechanism_filter.empty();
            for (const auto& f : settings_.mechanism_filter) keep = keep || util::iequals(f, m);
            if (keep) offered += (offered.empty() ? "" : " ") + m;
        }
        if (offered.empty()) return make_error("mechanism filter eliminates: " + mechanisms);
        if (conn_) sasl_dispose(&conn_);
        int st = sasl_client_new("smtp", server_.c_str(), nullptr, nullptr, callbacks_, 0, &conn_);
        if (st != SASL_OK) return make_error("per-session SASL client initialization: " + smtp::sasl_status_text(st));
        sasl_security_properties_t props{};
        props.security_flags = tls ? settings_.tls_security_flags : settings_.security_flags;
        props.max_ssf = 0;  // no security layer: TLS or nothing
        props.maxbufsize = 0;
        sasl_setprop(conn_, SASL_SEC_PROPS, &props);
        const char* out = nullptr;
        unsigned len = 0;
        const char* mech = nullptr;
        sasl_interact_t* interact = nullptr;
        st = sasl_client_start(conn_, offered.c_str(), &interact, &out, &len, &mech);
        if (st != SASL_OK && st != SASL_CONTINUE)
            return make_error(smtp::sasl_status_text(st) + " (offered: " + offered + ")");
        Start s;
        s.mechanism = mech ? mech : "";
        if (out) s.initial = std::string(out, len);
        return s;
    }

    Result<std::string> step(const std::string& challenge) override {
        if (!conn_) return make_error("no SASL exchange in progress");
        const char* out = nullptr;
        unsigned len = 0;
        sasl_interact_t* interact = nullptr;
        int st = sasl_client_step(conn_, challenge.data(), static_cast<unsigned>(challenge.size()), &interact, &out,
                                  &len);
        if (st != SASL_OK && st != SASL_CONTINUE) return make_error(smtp::sasl_status_text(st));
        return std::string(out ? out : "", out ? len : 0);
    }

private:
    static int name(void* context, int, const char** result, unsigned* len) {
        auto* self = static_cast<CyrusClient*>(context);
        *result = self->cred_.user.c_str();
        if (len) *len = static_cast<unsigned>(self->cred_.user.size());
        return SASL_OK;
    }
    static int pass(sasl_conn_t*, void* context, int, sasl_secret_t** secret) {
        auto* self = static_cast<CyrusClient*>(context);
        *secret = reinterpret_cast<sasl_secret_t*>(self->secret_.data());
        return SASL_OK;
    }

    SaslSettings settings_;
    std::string server_;
    Credentials cred_;
    std::vector<char> secret_;
    sasl_callback_t callbacks_[4];
    sasl_conn_t* conn_ = nullptr;
};

}  // namespace

Result<std::optional<Credentials>> find_credentials(const table::Maps& maps, bool sender_dependent,
                                                    const std::string& sender, const std::string& nexthop,
                                                    const std::string& hostname) {
    std::vector<std::string> keys;
    if (sender_dependent && !sender.empty()) {
        keys.push_back(sender);
        if (auto at = sender.rfind('@'); at != std::string::npos) keys.push_back(sender.substr(at));
    }
    keys.push_back(nexthop);
    if (hostname != nexthop) keys.push_back(hostname);
    for (const auto& key : keys) {
        auto hit = maps.lookup(key);
        if (!hit) return hit.error();
        if (!*hit) continue;
        const std::string& v = **hit;
        auto colon = v.find(':');
        Credentials c;
        c.user = v.substr(0, colon);
        if (colon != std::string::npos) c.password = v.substr(colon + 1);
        return std::optional<Credentials>(std::move(c));
    }
    return std::optional<Credentials>();
}

Status sasl_client_setup() {
    int st = sasl_client_init(nullptr);
    if (st != SASL_OK) return make_error("SASL library initialization: " + smtp::sasl_status_text(st));
    return ok_status();
}

std::shared_ptr<smtp::SaslClient> make_cyrus_client(const SaslSettings& settings, const std::string& server_name,
                                                    Credentials credentials) {
    return std::make_shared<CyrusClient>(settings, server_name, std::move(credentials));
}

}  // namespace mailroom::smtp_agent
