// mysql_table.cc - mysql: backend (see mysql_table.h).
//
// Description
//   The configuration parser and the % expansions are pure functions; the
//   MysqlTable class owns the MYSQL* connection (closed in its destructor)
//   and the per-host retry state.
#include "lib/address/address.h"
#include "lib/table/mysql_table.h"

#include <errmsg.h>

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <random>
#include <memory>

#include "lib/config/main_cf.h"
#include "lib/log/log.h"
#include "lib/table/backends.h"
#include "lib/table/mysql_client.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::table {

using util::format;

Result<MysqlHost> parse_mysql_host(std::string_view text) {
    std::string_view t = util::trim(text);
    MysqlHost h;
    if (t.substr(0, 5) == "unix:") {
        h.kind = MysqlHost::Kind::kUnix;
        h.address = std::string(t.substr(5));
        if (h.address.empty()) return make_error("empty UNIX socket path in hosts");
        return h;
    }
    if (t.substr(0, 5) == "inet:") t = t.substr(5);
    if (t.empty()) return make_error("empty host name in hosts");
    size_t colon = t.rfind(':');
    if (colon != std::string_view::npos && t.find(':') == colon) {
        std::string_view port = t.substr(colon + 1);
        if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
            return make_error(format("bad port in hosts: \"%.*s\"", int(text.size()), text.data()));
        }
        h.port = static_cast<unsigned>(std::atoi(std::string(port).c_str()));
        t = t.substr(0, colon);
    }
    h.address = std::string(t);
    return h;
}

Status check_mysql_template(std::string_view tmpl, bool result_format) {
    for (size_t i = 0; i < tmpl.size(); ++i) {
        if (tmpl[i] != '%') continue;
        if (i + 1 >= tmpl.size()) return make_error(format("invalid %s template \"%.*s\": ends in '%%'",
                                                           result_format ? "result_format" : "query",
                                                           int(tmpl.size()), tmpl.data()));
        char c = tmpl[++i];
        if (std::string_view("%sSuUdD123456789").find(c) == std::string_view::npos) {
            return make_error(format("invalid %s template \"%.*s\": unknown sequence %%%c",
                                     result_format ? "result_format" : "query", int(tmpl.size()), tmpl.data(), c));
        }
    }
    return ok_status();
}

namespace {

struct AddressParts {
    std::string whole;
    bool has_at = false;
    std::string local;
    std::string domain;
};

AddressParts split_address(std::string_view s) {
    address::Parts parts = address::split(s);
    return AddressParts{std::string(s), parts.has_at, std::move(parts.local), std::move(parts.domain)};
}

// The n-th label of `domain` counted from the right (1 = top level).
std::optional<std::string> domain_label(const AddressParts& p, int n) {
    if (!p.has_at || p.domain.empty()) return std::nullopt;
    std::vector<std::string> labels = util::split(p.domain, ".");
    if (n > static_cast<int>(labels.size())) return std::nullopt;
    return labels[labels.size() - n];
}

// Expands `tmpl`. Lower-case letters take `lower`, upper-case ones and
// digits take `upper`.
std::optional<std::string> expand(std::string_view tmpl, const AddressParts& lower, const AddressParts& upper,
                                  const SqlQuote& quote) {
    std::string out;
    for (size_t i = 0; i < tmpl.size(); ++i) {
        if (tmpl[i] != '%' || i + 1 >= tmpl.size()) {
            out.push_back(tmpl[i]);
            continue;
        }
        char c = tmpl[++i];
        const AddressParts& src = (c >= 'a' && c <= 'z') ? lower : upper;
        switch (c) {
            case '%': out.push_back('%'); break;
            case 's':
            case 'S': out += quote(src.whole); break;
            case 'u':
            case 'U':
                if (src.has_at && src.local.empty()) return std::nullopt;
                out += quote(src.local);
                break;
            case 'd':
            case 'D':
                if (!src.has_at || src.domain.empty()) return std::nullopt;
                out += quote(src.domain);
                break;
            default:
                if (c >= '1' && c <= '9') {
                    std::optional<std::string> label = domain_label(upper, c - '0');
                    if (!label) return std::nullopt;
                    out += quote(*label);
                } else {
                    out.push_back('%');
                    out.push_back(c);
                }
        }
    }
    return out;
}

std::string identity(std::string_view s) { return std::string(s); }

}  // namespace

std::optional<std::string> expand_mysql_query(std::string_view tmpl, std::string_view key, const SqlQuote& quote) {
    AddressParts k = split_address(key);
    return expand(tmpl, k, k, quote);
}

std::optional<std::string> expand_mysql_result(std::string_view tmpl, std::string_view value, std::string_view key) {
    return expand(tmpl, split_address(value), split_address(key), identity);
}

Result<MysqlConfig> parse_mysql_config(std::string_view text, const std::string& filename) {
    Result<config::MainCfFile> file = config::parse_main_cf(text, filename);
    if (!file) return file.error();
    std::map<std::string, std::string> v;
    for (const auto& e : file->entries) v[e.name] = e.value;
    auto get = [&](const char* name, const char* def) {
        auto it = v.find(name);
        return it == v.end() ? std::string(def) : it->second;
    };
    MysqlConfig c;
    for (const std::string& h : util::split_list(get("hosts", "localhost"))) {
        Result<MysqlHost> host = parse_mysql_host(h);
        if (!host) return make_error(format("%s: %s", filename.c_str(), host.error().message.c_str()));
        c.hosts.push_back(*host);
    }
    if (c.hosts.empty()) return make_error(format("%s: empty hosts list", filename.c_str()));
    c.user = get("user", "");
    c.password = get("password", "");
    c.dbname = get("dbname", "");
    c.query = get("query", "");
    c.result_format = get("result_format", get("result_filter", "%s").c_str());
    c.option_file = get("option_file", "");
    c.option_group = get("option_group", "client");
    for (const std::string& d : util::split_list(get("domain", ""))) c.domains.push_back(d);
    c.domain_restricted = !c.domains.empty();
    auto number = [&](const char* name, const char* def, long* out) -> Status {
        std::string s = get(name, def);
        if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) {
            return make_error(format("%s: bad numerical configuration: %s = %s", filename.c_str(), name, s.c_str()));
        }
        *out = std::atol(s.c_str());
        return ok_status();
    };
    if (Status s = number("expansion_limit", "0", &c.expansion_limit); !s) return s.error();
    if (Status s = number("retry_interval", "60", &c.retry_interval); !s) return s.error();
    if (c.query.empty()) {
        // The legacy form: SELECT select_field FROM table WHERE where_field = '%s' additional_conditions
        std::string table = get("table", "");
        std::string select_field = get("select_field", "");
        std::string where_field = get("where_field", "");
        if (table.empty() || select_field.empty() || where_field.empty()) {
            return make_error(format("%s: missing \"query\" (or the legacy table, select_field and where_field)",
                                     filename.c_str()));
        }
        c.query = format("SELECT %s FROM %s WHERE %s='%%s'", select_field.c_str(), table.c_str(),
                         where_field.c_str());
        std::string extra = get("additional_conditions", "");
        if (!extra.empty()) c.query += " " + extra;
    }
    if (c.dbname.empty()) return make_error(format("%s: missing \"dbname\"", filename.c_str()));
    if (Status s = check_mysql_template(c.query, false); !s) {
        return make_error(format("%s: %s", filename.c_str(), s.error().message.c_str()));
    }
    if (Status s = check_mysql_template(c.result_format, true); !s) {
        return make_error(format("%s: %s", filename.c_str(), s.error().message.c_str()));
    }
    return c;
}

namespace {

struct MysqlClose {
    const MysqlClient* api = nullptr;
    void operator()(MYSQL* m) const { api->close(m); }
};
struct ResultFree {
    const MysqlClient* api = nullptr;
    void operator()(MYSQL_RES* r) const { api->free_result(r); }
};
using MysqlPtr = std::unique_ptr<MYSQL, MysqlClose>;

class MysqlTable : public Table {
public:
    MysqlTable(std::string name, const MysqlClient* api, MysqlConfig cfg, const OpenOptions& options,
               std::vector<TablePtr> domain_tables)
        : Table("mysql", std::move(name)),
          api_(api),
          cfg_(std::move(cfg)),
          options_(options),
          domain_tables_(std::move(domain_tables)),
          stamp_(this->name()),
          dead_until_(cfg_.hosts.size(), 0),
          restrict_domains_(cfg_.domain_restricted) {}

    bool may_block() const override { return true; }
    bool changed() const override { return stamp_.changed(); }

    LookupResult lookup(std::string_view raw_key) override {
        std::string key = options_.fold_case ? util::lowercase(raw_key) : std::string(raw_key);
        if (restrict_domains_) {
            LookupResult ok = domain_allowed(key);
            if (!ok) return ok.error();
            if (!ok->has_value()) return std::optional<std::string>();
        }
        // Two passes: a connection that died since the last lookup is
        // replaced once.
        std::string last_error = "no usable host";
        for (int attempt = 0; attempt < 2; ++attempt) {
            if (!conn_) {
                Status s = connect();
                if (!s) return s.error();
            }
            MYSQL* m = conn_.get();
            auto quote = [m, api = api_](std::string_view s) {
                std::string out(s.size() * 2 + 1, '\0');
                unsigned long n = api->real_escape_string(m, out.data(), s.data(), s.size());
                out.resize(n);
                return out;
            };
            std::optional<std::string> query = expand_mysql_query(cfg_.query, key, quote);
            if (!query) return std::optional<std::string>();
            if (api_->real_query(m, query->data(), query->size()) != 0) {
                unsigned err = api_->errnum(m);
                last_error = api_->error(m);
                if (mysql_connection_lost(err)) {
                    mark_dead();
                    continue;
                }
                return make_temp_error(format("mysql:%s: query failed: %s", name().c_str(), last_error.c_str()));
            }
            std::unique_ptr<MYSQL_RES, ResultFree> res(api_->store_result(m), ResultFree{api_});
            if (!res) {
                if (api_->field_count(m) == 0) return std::optional<std::string>();
                last_error = api_->error(m);
                if (mysql_connection_lost(api_->errnum(m))) {
                    mark_dead();
                    continue;
                }
                return make_temp_error(format("mysql:%s: reading the result failed: %s", name().c_str(),
                                              last_error.c_str()));
            }
            return collect(res.get(), key);
        }
        return make_temp_error(format("mysql:%s: lookup failed: %s", name().c_str(), last_error.c_str()));
    }

private:
    LookupResult domain_allowed(const std::string& key) {
        address::Parts parts = address::split(key);
        if (parts.local.empty() || parts.domain.empty()) return std::optional<std::string>();
        const std::string& domain = parts.domain;
        for (const std::string& d : cfg_.domains) {
            if (util::iequals(d, domain)) return std::optional<std::string>(domain);
        }
        for (auto& t : domain_tables_) {
            LookupResult r = t->lookup(domain);
            if (!r) return r.error();
            if (r->has_value()) return std::optional<std::string>(domain);
        }
        return std::optional<std::string>();
    }

    LookupResult collect(MYSQL_RES* res, const std::string& key) {
        std::string out;
        bool found = false;
        long expansions = 0;
        unsigned nfields = api_->num_fields(res);
        while (MYSQL_ROW row = api_->fetch_row(res)) {
            unsigned long* lengths = api_->fetch_lengths(res);
            for (unsigned i = 0; i < nfields; ++i) {
                if (row[i] == nullptr || lengths[i] == 0) continue;
                std::optional<std::string> v =
                    expand_mysql_result(cfg_.result_format, std::string_view(row[i], lengths[i]), key);
                if (!v) continue;
                if (cfg_.expansion_limit > 0 && ++expansions > cfg_.expansion_limit) {
                    log::warn("mysql:%s: expansion limit exceeded for key: '%s'", name().c_str(),
                              log::log_printable(key).c_str());
                    return make_temp_error(format("mysql:%s: expansion limit exceeded", name().c_str()));
                }
                if (found) out += ",";
                out += *v;
                found = true;
            }
        }
        if (!found) return std::optional<std::string>();
        return std::optional<std::string>(out);
    }

    void mark_dead() {
        conn_.reset();
        if (current_ < dead_until_.size()) dead_until_[current_] = std::time(nullptr) + cfg_.retry_interval;
    }

    Status connect() {
        std::string errors;
        time_t now = std::time(nullptr);
        // Prefer hosts not known to be down; if all are, try them anyway.
        std::vector<size_t> order = host_order();
        for (int pass = 0; pass < 2; ++pass) {
            for (size_t i : order) {
                bool dead = dead_until_[i] > now;
                if ((pass == 0) == dead) continue;
                const MysqlHost& h = cfg_.hosts[i];
                MysqlPtr m(api_->init(nullptr), MysqlClose{api_});
                if (!m) return make_temp_error("mysql_init failed: out of memory");
                unsigned timeout = 10;
                api_->options(m.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
                api_->options(m.get(), MYSQL_OPT_READ_TIMEOUT, &timeout);
                api_->options(m.get(), MYSQL_OPT_WRITE_TIMEOUT, &timeout);
                if (!cfg_.option_file.empty()) api_->options(m.get(), MYSQL_READ_DEFAULT_FILE, cfg_.option_file.c_str());
                if (!cfg_.option_group.empty()) {
                    api_->options(m.get(), MYSQL_READ_DEFAULT_GROUP, cfg_.option_group.c_str());
                }
                // As with Postfix, an inet host named "localhost" lets the
                // client library pick its default socket (or the socket of
                // option_file), so Extman's "hosts = localhost" works.
                if (h.kind == MysqlHost::Kind::kUnix) {
                    unsigned protocol = MYSQL_PROTOCOL_SOCKET;
                    api_->options(m.get(), MYSQL_OPT_PROTOCOL, &protocol);
                }
                const char* host = h.kind == MysqlHost::Kind::kUnix ? "localhost" : h.address.c_str();
                const char* sock = h.kind == MysqlHost::Kind::kUnix ? h.address.c_str() : nullptr;
                unsigned port = h.kind == MysqlHost::Kind::kUnix ? 0 : h.port;
                if (api_->real_connect(m.get(), host, cfg_.user.c_str(), cfg_.password.c_str(),
                                       cfg_.dbname.c_str(), port, sock, 0) == nullptr) {
                    std::string why = api_->error(m.get());
                    log::warn("connect to mysql server %s: %s", h.address.c_str(), log::log_printable(why).c_str());
                    if (!errors.empty()) errors += "; ";
                    errors += h.address + ": " + why;
                    dead_until_[i] = now + cfg_.retry_interval;
                    continue;
                }
                conn_ = std::move(m);
                current_ = i;
                dead_until_[i] = 0;
                return ok_status();
            }
        }
        return make_temp_error(format("mysql:%s: no database server available (%s)", name().c_str(), errors.c_str()));
    }

    // Postfix's order: UNIX-socket hosts before TCP hosts, random within
    // each group, so clients spread over the servers of a cluster.
    std::vector<size_t> host_order() {
        std::vector<size_t> unix_hosts, inet_hosts;
        for (size_t i = 0; i < cfg_.hosts.size(); ++i) {
            (cfg_.hosts[i].kind == MysqlHost::Kind::kUnix ? unix_hosts : inet_hosts).push_back(i);
        }
        std::shuffle(unix_hosts.begin(), unix_hosts.end(), rng_);
        std::shuffle(inet_hosts.begin(), inet_hosts.end(), rng_);
        unix_hosts.insert(unix_hosts.end(), inet_hosts.begin(), inet_hosts.end());
        return unix_hosts;
    }

    const MysqlClient* api_;
    MysqlConfig cfg_;
    std::minstd_rand rng_{static_cast<unsigned>(std::time(nullptr)) ^ static_cast<unsigned>(::getpid())};
    OpenOptions options_;
    std::vector<TablePtr> domain_tables_;
    FileStamp stamp_;
    MysqlPtr conn_;
    size_t current_ = 0;
    std::vector<time_t> dead_until_;
    bool restrict_domains_;
};

}  // namespace

namespace detail {

Result<TablePtr> open_mysql(const std::string& name, const OpenOptions& options) {
    if (name.empty()) return make_error("mysql: missing configuration file name");
    Result<std::string> text = util::read_file(name);
    if (!text) return text.error();
    Result<MysqlConfig> cfg = parse_mysql_config(*text, name);
    if (!cfg) return cfg.error();
    // The domain list: names, type:table entries, and /file entries whose
    // contents are more names (comments and blank lines ignored).
    std::vector<TablePtr> domain_tables;
    std::vector<std::string> names;
    for (const std::string& d : cfg->domains) {
        if (d.front() == '/') {
            Result<std::string> list = util::read_file(d);
            if (!list) return list.error();
            for (const std::string& line : util::split(*list, "\n")) {
                std::string_view l = util::trim(line);
                if (l.empty() || l.front() == '#') continue;
                for (const std::string& n : util::split_list(l)) names.push_back(n);
            }
        } else if (d.find(':') != std::string::npos) {
            Result<TablePtr> t = open_table(d, options);
            if (!t) return t.error();
            domain_tables.push_back(std::move(*t));
        } else {
            names.push_back(d);
        }
    }
    cfg->domains = std::move(names);
    // The client library is loaded by the first mysql: table a process opens.
    Result<const MysqlClient*> api = mysql_client();
    if (!api) return api.error().prefixed("mysql:" + name + ": ");
    return TablePtr(std::make_unique<MysqlTable>(name, *api, std::move(*cfg), options, std::move(domain_tables)));
}

}  // namespace detail

bool mysql_connection_lost(unsigned err) {
    return err == CR_SERVER_GONE_ERROR || err == CR_SERVER_LOST || err == CR_CONNECTION_ERROR ||
           err == CR_CONN_HOST_ERROR || err == CR_COMMANDS_OUT_OF_SYNC;
}

}  // namespace mailroom::table
