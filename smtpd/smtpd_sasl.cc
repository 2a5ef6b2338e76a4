// smtpd_sasl.cc - see smtpd_sasl.h.
#include "smtpd/smtpd_sasl.h"

#include <sasl/sasl.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "lib/auth/auth_client.h"
#include "lib/config/param_read.h"
#include "lib/log/log.h"
#include "lib/util/strings.h"
#include "smtpd/smtpd_sasl_authd.h"

namespace mailroom::smtpd {

namespace {

#ifdef MAILROOM_SASL2_LIBDIR
constexpr std::string_view kSasl2LibraryDir = MAILROOM_SASL2_LIBDIR;
#else
constexpr std::string_view kSasl2LibraryDir = "/usr/lib";
#endif

// cyrus_sasl_config_path, for Cyrus's SASL_CB_GETCONFPATH.
std::string g_config_path;

int get_config_path(void*, const char** path) {
    *path = g_config_path.c_str();
    return SASL_OK;
}

// Cyrus's own diagnostics, worded as Postfix logs them.
int log_message(void*, int level, const char* message) {
    switch (level) {
        case SASL_LOG_ERR:
        case SASL_LOG_FAIL:
            log::warn("SASL authentication problem: %s", message);
            break;
        case SASL_LOG_WARN:
            log::warn("SASL authentication failure: %s", message);
            break;
        default:
            break;
    }
    return SASL_OK;
}

using Callback = int (*)();
sasl_callback_t g_callbacks[] = {
    {SASL_CB_LOG, reinterpret_cast<Callback>(reinterpret_cast<void (*)()>(&log_message)), nullptr},
    {SASL_CB_GETCONFPATH, reinterpret_cast<Callback>(reinterpret_cast<void (*)()>(&get_config_path)), nullptr},
    {SASL_CB_LIST_END, nullptr, nullptr},
};
sasl_callback_t g_callbacks_default_path[] = {
    {SASL_CB_LOG, reinterpret_cast<Callback>(reinterpret_cast<void (*)()>(&log_message)), nullptr},
    {SASL_CB_LIST_END, nullptr, nullptr},
};

sasl_callback_t* callbacks() { return g_config_path.empty() ? g_callbacks_default_path : g_callbacks; }

// A Cyrus connection with the security options of a plaintext or TLS session.
int new_conn(const CyrusSasl& sasl, const char* local, const char* remote, bool tls, sasl_conn_t** out) {
    const SaslConfig& c = sasl.config();
    const char* realm = c.local_domain.empty() ? nullptr : c.local_domain.c_str();
    int st = sasl_server_new(c.service.c_str(), sasl.myhostname().c_str(), realm, local, remote, callbacks(), 0, out);
    if (st != SASL_OK) return st;
    sasl_security_properties_t props;
    std::memset(&props, 0, sizeof(props));
    props.min_ssf = 0;
    props.max_ssf = 0;  // no SASL security layer: TLS is the protection
    props.maxbufsize = 0;
    props.security_flags = tls ? c.tls_security_flags : c.security_flags;
    st = sasl_setprop(*out, SASL_SEC_PROPS, &props);
    if (st != SASL_OK) {
        sasl_dispose(out);
        *out = nullptr;
    }
    return st;
}

SaslStep to_step(sasl_conn_t* conn, int status, const char* out, unsigned outlen) {
    SaslStep s;
    if (status == SASL_CONTINUE) {
        s.kind = SaslStep::Kind::kContinue;
        if (out) s.challenge.assign(out, outlen);
    } else if (status == SASL_OK) {
        s.kind = SaslStep::Kind::kOk;
        const void* user = nullptr;
        if (sasl_getprop(conn, SASL_USERNAME, &user) == SASL_OK && user)
            s.username = static_cast<const char*>(user);
    } else {
        // SASL_FAIL is what Cyrus's password checks (authdaemond,
        // saslauthd) return when their server cannot be reached or does not
        // answer: an outage, never a wrong password (that is SASL_BADAUTH),
        // so the client is told to try again later. Postfix answers 535 here.
        s.kind = status == SASL_TRYAGAIN || status == SASL_UNAVAIL || status == SASL_FAIL || status == SASL_NOMEM
                     ? SaslStep::Kind::kTempFail
                     : SaslStep::Kind::kFail;
        s.reason = sasl_status_text(status);
    }
    return s;
}

}  // namespace

std::optional<std::string> cyrus_app_option(const std::string& dirs, const std::string& app, std::string_view key) {
    for (const std::string& dir : util::split(dirs, ":")) {
        if (dir.empty()) continue;
        std::ifstream in(dir + "/" + app + ".conf");
        if (!in) continue;
        std::optional<std::string> value;
        std::string line;
        while (std::getline(in, line)) {
            std::string_view l = util::trim(line);
            if (l.empty() || l.front() == '#') continue;
            size_t colon = l.find(':');
            if (colon == std::string_view::npos) continue;
            if (util::trim(l.substr(0, colon)) == key) value = std::string(util::trim(l.substr(colon + 1)));
        }
        return value;  // libsasl2 reads only the first file it finds
    }
    return std::nullopt;
}

std::string cyrus_default_config_dirs(std::string_view library_dir) {
    std::string plugins = std::string(library_dir) + "/sasl2";
    std::string dirs = "/etc/sasl2:/etc/sasl:" + plugins;
    if (plugins != "/usr/lib/sasl2") dirs += ":/usr/lib/sasl2";
    return dirs;
}

std::string cyrus_config_dirs(const std::string& config_path) {
    if (!config_path.empty()) return config_path;
    if (const char* env = std::getenv("SASL_CONF_PATH"); env && *env) return env;
    return cyrus_default_config_dirs(kSasl2LibraryDir);
}

Result<SaslConfig> SaslConfig::from_config(const config::Config& cfg) {
    SaslConfig c;
    if (auto st = config::read_param(cfg, "smtpd_sasl_auth_enable", &c.enabled); !st) return st.error();
    if (auto st = config::read_param(cfg, "broken_sasl_auth_clients", &c.broken_clients); !st) return st.error();
    if (auto st = config::read_param(cfg, "smtpd_sasl_authenticated_header", &c.authenticated_header); !st) return st.error();
    std::string type;
    if (auto st = config::read_param(cfg, "smtpd_sasl_type", &type); !st) return st.error();
    c.type = util::lowercase(type);
    if (c.enabled && c.type != "cyrus" && c.type != "authd") {
        return make_error("unsupported SASL server implementation: " + type +
                          " (smtpd_sasl_type; this mail system supports cyrus and authd, see postconf -a)");
    }
    if (auto st = config::read_param(cfg, "smtpd_sasl_path", &c.path); !st) return st.error();
    long long timeout_seconds = 0;
    if (auto st = config::read_time_param(cfg, "authd_client_timeout", &timeout_seconds); !st) return st.error();
    c.authd_timeout = std::chrono::seconds(timeout_seconds);
    if (c.type == "authd") {
        // smtpd_sasl_path names the socket, as with Postfix's dovecot
        // type; the Cyrus default "smtpd" means authd's own socket.
        std::string queue_directory;
        if (auto st = config::read_param(cfg, "queue_directory", &queue_directory); !st) return st.error();
        c.authd_socket = auth::authd_socket_path(queue_directory, c.path == "smtpd" ? "private/authd" : c.path);
        long long seconds = 0;
        if (auto st = config::read_time_param(cfg, "smtpd_sasl_failure_delay", &seconds); !st) return st.error();
        c.failure_delay = std::chrono::seconds(seconds);
        auto mechs = cfg.get_list("auth_mechanisms");
        if (!mechs) return mechs.error();
        c.authd_mechanisms.clear();
        for (const std::string& m : *mechs) {
            std::string upper = m;
            for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            // auth_mechanisms is shared with pop3d and imapd: a mechanism
            // only they implement (APOP) is theirs, not an error here.
            if (upper == "APOP") continue;
            if (upper != "PLAIN" && upper != "LOGIN" && upper != "CRAM-MD5")
                return make_error("auth_mechanisms: unknown mechanism \"" + m + "\"");
            c.authd_mechanisms.push_back(upper);
        }
    }
    if (auto st = config::read_param(cfg, "cyrus_sasl_config_path", &c.config_path); !st) return st.error();
    if (c.enabled && c.type == "cyrus") {
        auto method = cyrus_app_option(cyrus_config_dirs(c.config_path), c.path, "pwcheck_method");
        if (method && util::lowercase(*method) == "authdaemond") c.cyrus_step_timeout = c.authd_timeout;
    }
    if (auto st = config::read_param(cfg, "smtpd_sasl_service", &c.service); !st) return st.error();
    if (auto st = config::read_param(cfg, "smtpd_sasl_local_domain", &c.local_domain); !st) return st.error();
    std::string opts;
    if (auto st = config::read_param(cfg, "smtpd_sasl_security_options", &opts); !st) return st.error();
    auto f = parse_sasl_security_options(opts);
    if (!f) return make_error("smtpd_sasl_security_options: " + f.error().message);
    c.security_flags = *f;
    if (auto st = config::read_param(cfg, "smtpd_sasl_tls_security_options", &opts); !st) return st.error();
    f = parse_sasl_security_options(opts);
    if (!f) return make_error("smtpd_sasl_tls_security_options: " + f.error().message);
    c.tls_security_flags = *f;
    auto nets = cfg.get_list("smtpd_sasl_exceptions_networks");
    if (!nets) return nets.error();
    c.exceptions_networks = *nets;
    auto limit = cfg.get_int("smtpd_sasl_response_limit");
    if (!limit) return limit.error();
    c.response_limit = static_cast<size_t>(*limit);
    return c;
}

Result<std::shared_ptr<CyrusSasl>> CyrusSasl::init(const SaslConfig& config, const std::string& myhostname) {
    // sasl_server_init() is process-wide: a second call (tests) keeps the
    // first application name and configuration.
    auto sasl = std::make_shared<CyrusSasl>(Private{});
    sasl->config_ = config;
    sasl->myhostname_ = myhostname;
    if (sasl->authd()) {
        // PLAIN and LOGIN are plaintext mechanisms: noplaintext leaves
        // only CRAM-MD5.
        for (bool tls : {false, true}) {
            unsigned flags = tls ? config.tls_security_flags : config.security_flags;
            std::vector<std::string> mechs;
            for (const std::string& m : config.authd_mechanisms) {
                if (m == "CRAM-MD5" || !(flags & SASL_SEC_NOPLAINTEXT)) mechs.push_back(m);
            }
            if (mechs.empty()) log::warn("no SASL authentication mechanisms%s", tls ? " for TLS sessions" : "");
            (tls ? sasl->tls_mechs_ : sasl->plain_mechs_) = std::move(mechs);
        }
        return sasl;
    }
    g_config_path = config.config_path;
    int st = sasl_server_init(callbacks(), config.path.c_str());
    if (st != SASL_OK) return make_error("SASL per-process initialization failed: " + sasl_status_text(st));
    for (bool tls : {false, true}) {
        sasl_conn_t* conn = nullptr;
        st = new_conn(*sasl, nullptr, nullptr, tls, &conn);
        if (st != SASL_OK) return make_error("SASL per-connection initialization failed: " + sasl_status_text(st));
        const char* list = nullptr;
        unsigned len = 0;
        int count = 0;
        st = sasl_listmech(conn, nullptr, "", " ", "", &list, &len, &count);
        std::vector<std::string> mechs;
        if (st == SASL_OK && list) mechs = util::split_list(std::string(list, len));
        sasl_dispose(&conn);
        if (st != SASL_OK && st != SASL_NOMECH)
            return make_error("cannot list SASL mechanisms: " + sasl_status_text(st));
        if (mechs.empty()) log::warn("no SASL authentication mechanisms%s", tls ? " for TLS sessions" : "");
        (tls ? sasl->tls_mechs_ : sasl->plain_mechs_) = std::move(mechs);
    }
    return sasl;
}

CyrusSasl::~CyrusSasl() = default;

Result<std::unique_ptr<SaslServer>> SaslServer::create(event::Loop& loop, std::shared_ptr<CyrusSasl> sasl) {
    auto server = std::make_unique<SaslServer>(Private{});
    server->sasl_ = std::move(sasl);
    server->conns_ = std::make_shared<std::map<uint64_t, sasl_conn_t*>>();
    if (server->sasl_->authd()) {
        server->authd_ = std::make_unique<AuthdSasl>(loop, server->sasl_->config(), server->sasl_->myhostname());
        return server;
    }
    auto worker = event::Offload::create(loop.base(), 1);
    if (!worker) return worker.error();
    server->worker_ = std::move(*worker);
    return server;
}

SaslServer::SaslServer(Private) {}

SaslServer::~SaslServer() {
    authd_.reset();  // pending authd requests never call back
    worker_.reset();  // joins the thread: the connections are ours now
    if (conns_) {
        for (auto& [id, conn] : *conns_) sasl_dispose(&conn);
        conns_->clear();
    }
}

uint64_t SaslServer::start(const Peer& peer, const std::string& mechanism, std::optional<std::string> initial,
                           Done done) {
    uint64_t id = next_id_++;
    if (authd_) {
        authd_->start(id, peer, mechanism, std::move(initial), std::move(done));
        return id;
    }
    auto conns = conns_;
    std::shared_ptr<CyrusSasl> sasl = sasl_;
    worker_->submit_value<SaslStep>(
        [conns, sasl, id, peer, mechanism, initial]() -> SaslStep {
            sasl_conn_t* conn = nullptr;
            int st = new_conn(*sasl, peer.local.empty() ? nullptr : peer.local.c_str(),
                              peer.remote.empty() ? nullptr : peer.remote.c_str(), peer.tls, &conn);
            if (st != SASL_OK) return to_step(nullptr, st, nullptr, 0);
            (*conns)[id] = conn;
            const char* out = nullptr;
            unsigned outlen = 0;
            st = sasl_server_start(conn, mechanism.c_str(), initial ? initial->data() : nullptr,
                                   initial ? static_cast<unsigned>(initial->size()) : 0, &out, &outlen);
            return to_step(conn, st, out, outlen);
        },
        std::move(done));
    return id;
}

void SaslServer::step(uint64_t id, std::string response, Done done) {
    if (authd_) return authd_->step(id, std::move(response), std::move(done));
    auto conns = conns_;
    worker_->submit_value<SaslStep>(
        [conns, id, response = std::move(response)]() -> SaslStep {
            auto it = conns->find(id);
            if (it == conns->end()) return to_step(nullptr, SASL_NOTINIT, nullptr, 0);
            const char* out = nullptr;
            unsigned outlen = 0;
            int st = sasl_server_step(it->second, response.data(), static_cast<unsigned>(response.size()), &out,
                                      &outlen);
            return to_step(it->second, st, out, outlen);
        },
        std::move(done));
}

void SaslServer::end(uint64_t id) {
    if (authd_) return authd_->end(id);
    auto conns = conns_;
    worker_->submit(
        [conns, id] {
            auto it = conns->find(id);
            if (it == conns->end()) return;
            sasl_dispose(&it->second);
            conns->erase(it);
        },
        [] {});
}

}  // namespace mailroom::smtpd
