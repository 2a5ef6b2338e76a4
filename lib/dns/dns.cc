// dns.cc - the c-ares channel on a libevent loop (see dns.h).
//
// Description
//   c-ares reports each socket it wants watched through the socket state
//   callback; we keep one pair of FdWatchers per descriptor (read, write)
//   and enable or disable them as told. A watcher is kept, disabled, after
//   c-ares closes its socket: destroying it from inside the state callback
//   would free the watcher that is running. After every call into c-ares
//   the Timer is re-armed to ares_timeout(), which drives retries and
//   timeouts. Answers are not handed to the caller from inside c-ares:
//   they are queued and delivered by a zero-delay timer, so a callback may
//   start new lookups or destroy the Resolver.
#include "lib/dns/dns.h"

#include <arpa/inet.h>
#include <ares.h>
#include <netdb.h>

#include <algorithm>
#include <deque>
#include <mutex>

#include "lib/log/log.h"

namespace mailroom::dns {

namespace {

std::once_flag g_ares_init;

std::string strip_dot(const char* name) {
    std::string s = name ? name : "";
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

int ares_type(Type type) {
    switch (type) {
    case Type::kA: return 1;
    case Type::kAAAA: return 28;
    case Type::kPTR: return 12;
    case Type::kMX: return 15;
    case Type::kTXT: return 16;
    }
    return 1;
}

void collect_addresses(const hostent* host, Answer* answer) {
    if (host == nullptr) return;
    char buf[INET6_ADDRSTRLEN];
    for (char** p = host->h_addr_list; p && *p; ++p) {
        if (inet_ntop(host->h_addrtype, *p, buf, sizeof(buf))) answer->addresses.emplace_back(buf);
    }
}

// Parses a successful reply into `answer` (sets outcome).
void parse_reply(Type type, const unsigned char* buf, int len, Answer* answer) {
    int status = ARES_SUCCESS;
    switch (type) {
    case Type::kA:
    case Type::kAAAA: {
        hostent* host = nullptr;
        status = type == Type::kA ? ares_parse_a_reply(buf, len, &host, nullptr, nullptr)
                                  : ares_parse_aaaa_reply(buf, len, &host, nullptr, nullptr);
        if (status == ARES_SUCCESS) collect_addresses(host, answer);
        if (host) ares_free_hostent(host);
        if (status == ARES_SUCCESS && answer->addresses.empty()) status = ARES_ENODATA;
        break;
    }
    case Type::kPTR: {
        hostent* host = nullptr;
        unsigned char dummy[4] = {0, 0, 0, 0};
        status = ares_parse_ptr_reply(buf, len, dummy, sizeof(dummy), AF_INET, &host);
        if (status == ARES_SUCCESS && host) {
            auto add = [answer](const char* n) {
                std::string s = strip_dot(n);
                if (!s.empty() && std::find(answer->names.begin(), answer->names.end(), s) == answer->names.end())
                    answer->names.push_back(std::move(s));
            };
            add(host->h_name);
            for (char** p = host->h_aliases; p && *p; ++p) add(*p);
        }
        if (host) ares_free_hostent(host);
        if (status == ARES_SUCCESS && answer->names.empty()) status = ARES_ENODATA;
        break;
    }
    case Type::kMX: {
        ares_mx_reply* mx = nullptr;
        status = ares_parse_mx_reply(buf, len, &mx);
        if (status == ARES_SUCCESS) {
            for (ares_mx_reply* p = mx; p; p = p->next) {
                answer->mx.push_back(Mx{p->priority, strip_dot(p->host)});
            }
            std::stable_sort(answer->mx.begin(), answer->mx.end(),
                             [](const Mx& a, const Mx& b) { return a.preference < b.preference; });
            answer->null_mx = answer->mx.size() == 1 && answer->mx.front().exchange.empty();
        }
        if (mx) ares_free_data(mx);
        if (status == ARES_SUCCESS && answer->mx.empty()) status = ARES_ENODATA;
        break;
    }
    case Type::kTXT: {
        ares_txt_ext* txt = nullptr;
        status = ares_parse_txt_reply_ext(buf, len, &txt);
        if (status == ARES_SUCCESS) {
            for (ares_txt_ext* p = txt; p; p = p->next) {
                std::string chunk(reinterpret_cast<const char*>(p->txt), p->length);
                if (p->record_start || answer->txt.empty()) {
                    answer->txt.push_back(std::move(chunk));
                } else {
                    answer->txt.back() += chunk;
                }
            }
        }
        if (txt) ares_free_data(txt);
        if (status == ARES_SUCCESS && answer->txt.empty()) status = ARES_ENODATA;
        break;
    }
    }
    if (status == ARES_SUCCESS) {
        answer->outcome = Outcome::kFound;
    } else if (status == ARES_ENODATA) {
        answer->outcome = Outcome::kNotFound;
    } else {
        answer->outcome = Outcome::kTempFail;
        answer->error = std::string("malformed DNS reply: ") + ares_strerror(status);
    }
}

}  // namespace

const char* type_name(Type type) {
    switch (type) {
    case Type::kA: return "A";
    case Type::kAAAA: return "AAAA";
    case Type::kPTR: return "PTR";
    case Type::kMX: return "MX";
    case Type::kTXT: return "TXT";
    }
    return "?";
}

std::string reverse_name(std::string_view address) {
    std::string a(address);
    if (a.rfind("IPv6:", 0) == 0 || a.rfind("ipv6:", 0) == 0) a.erase(0, 5);
    unsigned char b[16];
    if (inet_pton(AF_INET, a.c_str(), b) == 1) {
        return std::to_string(b[3]) + "." + std::to_string(b[2]) + "." + std::to_string(b[1]) + "." +
               std::to_string(b[0]) + ".in-addr.arpa";
    }
    if (inet_pton(AF_INET6, a.c_str(), b) == 1) {
        static const char kHex[] = "0123456789abcdef";
        std::string out;
        for (int i = 15; i >= 0; --i) {
            out += kHex[b[i] & 0xf];
            out += '.';
            out += kHex[b[i] >> 4];
            out += '.';
        }
        return out + "ip6.arpa";
    }
    return "";
}

struct Resolver::Impl {
    struct Socket {
        event::FdWatcher read;
        event::FdWatcher write;
    };
    struct Request {
        Impl* impl;
        Type type;
        Callback done;
    };
    struct Delivery {
        Callback done;
        Answer answer;
    };

    Resolver& owner;
    ares_channel channel = nullptr;
    std::map<int, Socket> sockets;
    event::Timer timer;
    event::Timer flush;
    std::deque<Delivery> ready;
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);

    explicit Impl(Resolver& r) : owner(r) {}
    ~Impl() {
        *alive = false;
        // Outstanding queries end with ARES_EDESTRUCTION; their callbacks
        // free the requests without calling back.
        if (channel) ares_destroy(channel);
    }

    static void sock_state_cb(void* data, ares_socket_t fd, int readable, int writable) {
        auto* impl = static_cast<Impl*>(data);
        auto it = impl->sockets.find(fd);
        if (it == impl->sockets.end()) {
            if (!readable && !writable) return;
            event::Loop& loop = impl->owner.loop_;
            Socket s;
            s.read = event::FdWatcher(loop, fd, event::Interest::kRead, [impl, fd] {
                ares_process_fd(impl->channel, fd, ARES_SOCKET_BAD);
                impl->after_ares();
            });
            s.write = event::FdWatcher(loop, fd, event::Interest::kWrite, [impl, fd] {
                ares_process_fd(impl->channel, ARES_SOCKET_BAD, fd);
                impl->after_ares();
            });
            it = impl->sockets.emplace(fd, std::move(s)).first;
        }
        if (readable) it->second.read.enable(); else it->second.read.disable();
        if (writable) it->second.write.enable(); else it->second.write.disable();
    }

    static void query_cb(void* arg, int status, int /*timeouts*/, unsigned char* buf, int len) {
        std::unique_ptr<Request> req(static_cast<Request*>(arg));
        if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
        Answer answer;
        if (status == ARES_SUCCESS) {
            parse_reply(req->type, buf, len, &answer);
        } else if (status == ARES_ENOTFOUND) {
            answer.outcome = Outcome::kNotFound;
            answer.nxdomain = true;
        } else if (status == ARES_ENODATA) {
            answer.outcome = Outcome::kNotFound;
        } else {
            answer.outcome = Outcome::kTempFail;
            answer.error = ares_strerror(status);
        }
        Impl* impl = req->impl;
        impl->ready.push_back(Delivery{std::move(req->done), std::move(answer)});
        if (!impl->flush.pending()) impl->flush.start(std::chrono::milliseconds(0));
    }

    void after_ares() {
        timeval tv{};
        timeval* t = ares_timeout(channel, nullptr, &tv);
        if (t == nullptr) {
            timer.cancel();
            return;
        }
        auto ms = std::chrono::milliseconds(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
        timer.start(ms);
    }

    void deliver() {
        std::deque<Delivery> batch;
        batch.swap(ready);
        std::shared_ptr<bool> still = alive;
        for (auto& d : batch) {
            if (!*still) return;
            --owner.pending_;
            d.done(std::move(d.answer));
        }
    }
};

Resolver::Resolver(Private, event::Loop& loop) : loop_(loop) {}

Resolver::~Resolver() = default;

Result<std::unique_ptr<Resolver>> Resolver::create(event::Loop& loop, const Options& options) {
    std::call_once(g_ares_init, [] { ares_library_init(ARES_LIB_INIT_ALL); });
    auto r = std::make_unique<Resolver>(Private{}, loop);
    r->impl_ = std::make_unique<Impl>(*r);
    Impl* impl = r->impl_.get();
    ares_options opts{};
    opts.timeout = static_cast<int>(std::max<long long>(1, options.timeout.count()));
    opts.tries = std::max(1, options.tries);
    opts.sock_state_cb = &Impl::sock_state_cb;
    opts.sock_state_cb_data = impl;
    int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
    int st = ares_init_options(&impl->channel, &opts, mask);
    if (st != ARES_SUCCESS) {
        impl->channel = nullptr;
        return make_temp_error(std::string("cannot initialise the DNS resolver: ") + ares_strerror(st));
    }
    if (!options.servers.empty()) {
        st = ares_set_servers_ports_csv(impl->channel, options.servers.c_str());
        if (st != ARES_SUCCESS) {
            return make_error("bad DNS server list \"" + options.servers + "\": " + ares_strerror(st));
        }
    }
    impl->timer = event::Timer(loop, [impl] {
        ares_process_fd(impl->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        impl->after_ares();
    });
    impl->flush = event::Timer(loop, [impl] { impl->deliver(); });
    return r;
}

void Resolver::lookup(std::string_view name, Type type, Callback done) {
    ++pending_;
    std::string n(name);
    if (!n.empty() && n.back() == '.') n.pop_back();
    auto req = std::make_unique<Impl::Request>(Impl::Request{impl_.get(), type, std::move(done)});
    ares_query(impl_->channel, n.c_str(), 1 /* C_IN */, ares_type(type), &Impl::query_cb, req.release());
    impl_->after_ares();
}

Answer lookup_blocking(std::string_view name, Type type, const Options& options) {
    event::Loop loop;
    auto r = Resolver::create(loop, options);
    if (!r) {
        Answer a;
        a.error = r.error().message;
        return a;
    }
    Answer out;
    bool done = false;
    (*r)->lookup(name, type, [&](Answer a) {
        out = std::move(a);
        done = true;
        loop.stop();
    });
    while (!done) {
        if (loop.run_once() != 0) break;
    }
    return out;
}

namespace {

Outcome gai_outcome(int err) {
    // EAI_AGAIN is the resolver's "try again"; everything else (no such
    // name, no address, a bad name) is final for this connection.
    return err == EAI_AGAIN ? Outcome::kTempFail : Outcome::kNotFound;
}

}  // namespace

Answer system_reverse(std::string_view address) {
    Answer a;
    sockaddr_storage ss{};
    socklen_t len = 0;
    std::string text(address);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        len = sizeof(*v6);
    } else {
        a.outcome = Outcome::kNotFound;
        a.error = "not an address";
        return a;
    }
    char host[NI_MAXHOST];
    int err = getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof(host), nullptr, 0, NI_NAMEREQD);
    if (err != 0) {
        a.outcome = gai_outcome(err);
        a.error = gai_strerror(err);
        return a;
    }
    a.outcome = Outcome::kFound;
    a.names.push_back(strip_dot(host));
    return a;
}

Answer system_forward(std::string_view name, bool ipv6) {
    Answer a;
    addrinfo hints{};
    hints.ai_family = ipv6 ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string host(name);
    int err = getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (err != 0) {
        a.outcome = gai_outcome(err);
        a.error = gai_strerror(err);
        return a;
    }
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        char buf[INET6_ADDRSTRLEN];
        const void* src = ai->ai_family == AF_INET
                              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
                              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
        if (inet_ntop(ai->ai_family, src, buf, sizeof(buf)) == nullptr) continue;
        if (std::find(a.addresses.begin(), a.addresses.end(), buf) == a.addresses.end()) a.addresses.emplace_back(buf);
    }
    freeaddrinfo(res);
    a.outcome = a.addresses.empty() ? Outcome::kNotFound : Outcome::kFound;
    return a;
}

}  // namespace mailroom::dns
