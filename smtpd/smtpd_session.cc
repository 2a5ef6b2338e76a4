// smtpd_session.cc - one SMTP session: state, peer name, greeting, commands; see smtpd_session.h.
#include "smtpd/smtpd_session_impl.h"


#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>

#include "lib/config/param_read.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/log/log.h"
#include "lib/submit/trigger.h"
#include "lib/table/maps.h"
#include "lib/util/base64.h"
#include "lib/util/strings.h"
#include "smtpd/smtpd_dns.h"

namespace mailroom::smtpd {

using queue::RecordType;

namespace {

// Commands in the order Postfix lists them on the disconnect line.
constexpr const char* kCounterNames[] = {"helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data",
                                         "bdat", "rset", "noop", "vrfy", "etrn", "quit", "unknown"};
int counter_index(Verb verb) {
    switch (verb) {
        case Verb::kHelo: return 0;
        case Verb::kEhlo: return 1;
        case Verb::kStartTls: return 2;
        case Verb::kAuth: return 3;
        case Verb::kMail: return 4;
        case Verb::kRcpt: return 5;
        case Verb::kData: return 6;
        case Verb::kBdat: return 7;
        case Verb::kRset: return 8;
        case Verb::kNoop: return 9;
        case Verb::kVrfy: return 10;
        case Verb::kEtrn: return 11;
        case Verb::kQuit: return 12;
        default: return 13;
    }
}


// RFC 2920: commands that must end a pipelined group.
bool must_end_group(Verb verb) {
    switch (verb) {
        case Verb::kHelo: case Verb::kEhlo: case Verb::kData: case Verb::kNoop: case Verb::kVrfy:
        case Verb::kEtrn: case Verb::kStartTls: case Verb::kAuth: case Verb::kUnknown: case Verb::kHelp:
            return true;
        default:
            return false;
    }
}

}  // namespace

Session::Session(SmtpdServer& server, server::Connection conn, Peer peer)
    : server_(server), cfg_(server.config()), conn_(std::move(conn)), peer_(std::move(peer)) {
    s_.client_name = peer_.name;
    s_.client_addr = peer_.addr;
    s_.client_in_mynetworks = server_.in_mynetworks(peer_);
    s_.protocol = "SMTP";  // until EHLO
    reject_bare_lf_ = cfg_.smtpd_forbid_bare_newline == BareNewline::kReject && !server_.bare_newline_excluded(peer_);
    decoder_ = DataDecoder(reject_bare_lf_);
}

Session::~Session() = default;

void Session::start() {
    // The greeting waits for the peer name; the resolver's own timeouts
    // bound the wait, and the loop serves other sessions meanwhile.
    if (dns::reverse_name(s_.client_addr).empty()) {
        begin();
        return;
    }
    if (event::Offload* workers = server_.peer_offload()) {
        // As Postfix's getnameinfo(): /etc/hosts and DNS in the system's
        // order, then the name's addresses of the same family. It blocks,
        // so a worker asks.
        using Answers = PeerCache::Answers;
        std::string addr = s_.client_addr;
        // The same client a moment ago: its answers, without asking.
        if (auto cached = server_.peer_cache().find(addr)) {
            if (auto name = reverse_known(cached->first)) on_forward(*name, std::move(cached->second));
            return;
        }
        std::weak_ptr<int> alive = alive_;
        SmtpdServer* server = &server_;
        workers->submit_value<Answers>(
            [addr] {
                Answers a{dns::system_reverse(addr), dns::Answer{}};
                if (a.first.found()) {
                    a.second = dns::system_forward(util::lowercase(a.first.names.front()),
                                                   addr.find(':') != std::string::npos);
                }
                return a;
            },
            [this, alive, server, addr](Answers a) {
                server->peer_cache().remember(addr, a);
                if (alive.expired()) return;
                if (auto name = reverse_known(a.first)) on_forward(*name, std::move(a.second));
            });
        return;
    }
    dns::Resolver* resolver = server_.resolver();
    if (resolver == nullptr) {
        begin();
        return;
    }
    resolver->lookup(dns::reverse_name(s_.client_addr), dns::Type::kPTR,
                     [this](dns::Answer a) { on_ptr(std::move(a)); });
}

void Session::on_ptr(dns::Answer answer) {
    auto name = reverse_known(answer);
    if (!name) return;
    // Forward confirmation: the name must resolve back to the address.
    dns::Type type = s_.client_addr.find(':') != std::string::npos ? dns::Type::kAAAA : dns::Type::kA;
    server_.resolver()->lookup(*name, type, [this, n = *name](dns::Answer a) { on_forward(n, std::move(a)); });
}

// The reverse name of the client, or nullopt (and begin()) without one.
std::optional<std::string> Session::reverse_known(const dns::Answer& answer) {
    if (!answer.found()) {
        // No PTR: permanently unknown; a failed lookup: temporarily.
        PeerStatus st = answer.outcome == dns::Outcome::kTempFail ? PeerStatus::kTempFail : PeerStatus::kPermFail;
        s_.client_name_status = st;
        s_.reverse_client_name_status = st;
        begin();
        return std::nullopt;
    }
    std::string name = util::lowercase(answer.names.front());
    if (!valid_hostname(name)) {
        log::warn("%s: malformed domain name in PTR record: %s", s_.client_addr.c_str(),
                  log::log_printable(name).c_str());
        s_.client_name_status = PeerStatus::kPermFail;
        s_.reverse_client_name_status = PeerStatus::kPermFail;
        begin();
        return std::nullopt;
    }
    s_.reverse_client_name = name;
    s_.reverse_client_name_status = PeerStatus::kOk;
    return name;
}

void Session::on_forward(const std::string& name, dns::Answer answer) {
    if (answer.outcome == dns::Outcome::kTempFail) {
        log::warn("hostname %s does not resolve to address %s: temporary failure in name resolution", name.c_str(),
                  s_.client_addr.c_str());
        s_.client_name_status = PeerStatus::kTempFail;
    } else if (std::find(answer.addresses.begin(), answer.addresses.end(), s_.client_addr) ==
               answer.addresses.end()) {
        if (answer.found()) {
            log::warn("hostname %s does not resolve to address %s", name.c_str(), s_.client_addr.c_str());
        } else {
            log::warn("hostname %s does not resolve to address %s: %s", name.c_str(), s_.client_addr.c_str(),
                      answer.error.empty() ? "Name or service not known" : answer.error.c_str());
        }
        s_.client_name_status = PeerStatus::kPermFail;
    } else {
        s_.client_name = name;
        s_.client_name_status = PeerStatus::kOk;
        peer_.name = name;
        s_.client_in_mynetworks = server_.in_mynetworks(peer_);
        reject_bare_lf_ =
            cfg_.smtpd_forbid_bare_newline == BareNewline::kReject && !server_.bare_newline_excluded(peer_);
        decoder_ = DataDecoder(reject_bare_lf_);
    }
    begin();
}

void Session::begin() {
    log::info("connect from %s", namaddr().c_str());
    sleep_timer_ = event::Timer(server_.loop(), [this] {
        sleeping_ = false;
        std::string out = std::move(delayed_);
        delayed_.clear();
        if (channel_) channel_->write(out);
        if (state_ == State::kClosing) {
            if (channel_ && channel_->output_size() == 0) finish_session();
            return;
        }
        pump();
    });
    event::ChannelOptions opt;
    opt.max_input = kMaxReadAhead;
    opt.read_timeout = opt.write_timeout = std::chrono::seconds(cfg_.smtpd_timeout_s);
    opt.nonblocking = conn_.nonblocking();
    channel_ = event::Channel::create(server_.loop(), conn_.fd(), opt);
    if (!channel_) {
        log::warn("cannot create a buffer event for %s", namaddr().c_str());
        finish_session();
        return;
    }
    setup_channel();
    if (cfg_.tls.wrappermode) {
        // SMTPS: the handshake first, the greeting inside TLS.
        if (!server_.tls_context()) {
            log::warn("TLS wrapper mode without a usable TLS context: dropping %s", namaddr().c_str());
            finish_session();
            return;
        }
        start_tls();
        return;
    }
    // A client that talks before the greeting is not waiting for replies
    // (RFC 5321 4.3.1): Postfix's "improper command pipelining after CONNECT".
    char peek[100];
    ssize_t early = ::recv(conn_.fd(), peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
    if (early > 0) {
        std::string next(peek, static_cast<size_t>(early));
        if (auto eol = next.find_first_of("\r\n"); eol != std::string::npos) next.resize(eol);
        s_.improper_pipelining = true;
        log::info("improper command pipelining after CONNECT from %s: %s", namaddr().c_str(),
                  log::log_printable(next).c_str());
        if (cfg_.smtpd_forbid_unauth_pipelining) {
            send_raw(replies::protocol_sync().format());
            close_after_reply();
            return;
        }
    }
    greet();
}

void Session::greet() {
    // smtpd_client_connection_count/rate_limit: anvil counts the connection
    // before the greeting; the session reads nothing meanwhile, other
    // sessions go on.
    if (!std::exchange(anvil_asked_, true)) {
        ClientLimits* limits = server_.limits();
        limited_ = limits->enabled() && !limits->exempt(s_.client_name, s_.client_addr);
        if (limited_) {
            busy_ = true;
            std::weak_ptr<int> alive = alive_;
            std::string addr = s_.client_addr;
            limits->connect(s_.client_name, addr,
                            [this, alive, limits, addr](std::optional<Reply> refusal, std::uint64_t gen) {
                                if (alive.expired() || finished_) return limits->disconnect(addr, gen);
                                anvil_generation_ = gen;
                                busy_ = false;
                                if (refusal) {
                                    send_raw(refusal->format());
                                    close_after_reply();
                                    return;
                                }
                                greet();
                                pump();
                            });
            return;
        }
    }
    if (!std::exchange(milter_connected_, true)) {
        milter_start();
        if (milters_) {
            milter::ConnectInfo info{s_.client_name, s_.client_addr, 0};
            if (auto port = milter_macro("client_port")) info.client_port = static_cast<std::uint16_t>(std::stoul(*port));
            milter_stage("CONNECT", [this, info](auto done) { milters_->connect(info, done); },
                         [this](std::optional<Reply> r) {
                             if (r) client_reject_ = *r;  // every command gets it, as a client restriction's
                             greet();
                         });
            return;
        }
    }
    greeted_ = true;
    reply(replies::greeting(cfg_.smtpd_banner));
    // smtpd_delay_reject = no: the client restrictions answer every command.
    run_check(&Checker::check_client, [this](CheckResult r) {
        if (r.rejected()) client_reject_ = r.reply;
    });
}


void Session::finish_session() {
    if (finished_) return;
    finished_ = true;
    abort_message();
    if (milters_) milters_->quit();
    sasl_end();
    std::string line = "disconnect from " + namaddr();
    unsigned ok_all = 0, total_all = 0;
    for (size_t i = 0; i < std::size(kCounterNames); ++i) {
        if (counts_total_[i] == 0) continue;
        ok_all += counts_ok_[i];
        total_all += counts_total_[i];
        line += " " + std::string(kCounterNames[i]) + "=";
        if (counts_ok_[i] == counts_total_[i]) {
            line += std::to_string(counts_total_[i]);
        } else {
            line += std::to_string(counts_ok_[i]) + "/" + std::to_string(counts_total_[i]);
        }
    }
    line += " commands=";
    line += ok_all == total_all ? std::to_string(total_all) : std::to_string(ok_all) + "/" + std::to_string(total_all);
    log::info("%s", line.c_str());
    if (channel_) {
        // close_notify, as Postfix's tls_server_stop() sends; no waiting
        // for the client's.
        if (s_.tls_active) channel_->close_tls();
        channel_->pause_reading();
        channel_->on_input(nullptr);
        channel_->on_drained(nullptr);
        channel_->on_event(nullptr);
    }
    sleep_timer_.cancel();
    sasl_timer_.cancel();
    if (anvil_generation_ != 0) server_.limits()->disconnect(s_.client_addr, anvil_generation_);
    anvil_generation_ = 0;
    server_.session_done(this);
}

void Session::count(Verb verb, bool ok) {
    int i = counter_index(verb);
    ++counts_total_[i];
    if (ok) ++counts_ok_[i];
}

void Session::run_check(CheckResult (Checker::*method)(SessionState&), std::function<void(CheckResult)> then) {
    auto st = std::make_shared<SessionState>(s_);
    std::weak_ptr<int> alive = alive_;
    busy_ = true;
    server_.run_check([st, method](Checker& checker) { return (checker.*method)(*st); },
                      [this, st, alive, then = std::move(then)](CheckResult r) {
                          if (alive.expired() || finished_) return;
                          s_ = *st;
                          busy_ = false;
                          then(std::move(r));
                          if (!busy_ && !finished_) check_error_limit();
                          pump();
                      });
}

// ---------------------------------------------------------------------------
// Commands

void Session::handle_command(std::string_view line, bool more_input) {
    ParseResult parsed = parse_command(line, cfg_.parse);
    Verb verb = parsed.ok() ? parsed.command().verb : Verb::kUnknown;
    if (!parsed.ok()) {
        // The verb may still be known ("MAIL FROM:<bad"): count it as such.
        std::string_view word = line.substr(0, line.find(' '));
        for (Verb v : {Verb::kHelo, Verb::kEhlo, Verb::kMail, Verb::kRcpt, Verb::kData, Verb::kBdat, Verb::kRset,
                       Verb::kNoop, Verb::kQuit, Verb::kVrfy, Verb::kEtrn, Verb::kStartTls, Verb::kAuth}) {
            if (util::iequals(word, verb_name(v))) verb = v;
        }
    }
    last_cmd_ = verb == Verb::kUnknown ? "UNKNOWN" : std::string(verb_name(verb));

    // RFC 2920: a command that must end a group, with more input behind it,
    // or any pipelining by a client that was not offered PIPELINING.
    if (more_input && verb != Verb::kQuit && verb != Verb::kBdat &&
        (must_end_group(verb) || !ehlo_) && !s_.improper_pipelining) {
        s_.improper_pipelining = true;
        std::string next = input_.substr(0, std::min<size_t>(input_.size(), 100));
        if (auto eol = next.find_first_of("\r\n"); eol != std::string::npos) next.resize(eol);
        log::info("improper command pipelining after %s from %s: %s", last_cmd_.c_str(), namaddr().c_str(),
                  log::log_printable(next).c_str());
        if (cfg_.smtpd_forbid_unauth_pipelining) {
            count(verb, false);
            send_raw(replies::protocol_sync().format());
            close_after_reply();
            return;
        }
    }

    // smtpd_tls_security_level = encrypt: only these before STARTTLS.
    if (cfg_.tls.required() && !s_.tls_active && verb != Verb::kUnknown && verb != Verb::kHelp &&
        verb != Verb::kEhlo && verb != Verb::kHelo && verb != Verb::kStartTls && verb != Verb::kNoop &&
        verb != Verb::kRset && verb != Verb::kQuit) {
        count(verb, false);
        reply_error(replies::encryption_required());
    } else if (!parsed.ok()) {
        count(verb, false);
        reply_error(make_reply(parsed.error().code, parsed.error().dsn, parsed.error().text));
    } else {
        const Command& cmd = parsed.command();
        switch (cmd.verb) {
            case Verb::kHelo: cmd_helo(cmd, false); break;
            case Verb::kEhlo: cmd_helo(cmd, true); break;
            case Verb::kMail: cmd_mail(cmd); break;
            case Verb::kRcpt: cmd_rcpt(cmd); break;
            case Verb::kData: cmd_data(cmd); break;
            case Verb::kBdat: cmd_bdat(cmd); break;
            case Verb::kRset: cmd_rset(); break;
            case Verb::kNoop:
                junk();
                count(verb, true);
                reply(replies::ok());
                break;
            case Verb::kQuit:
                count(verb, true);
                reply(replies::bye());
                close_after_reply();
                return;
            case Verb::kVrfy: cmd_vrfy(cmd); break;
            case Verb::kEtrn: cmd_etrn(cmd); break;
            case Verb::kStartTls: cmd_starttls(); break;
            case Verb::kAuth: cmd_auth(cmd); break;
            case Verb::kHelp:
            case Verb::kUnknown:
                milter_stage("UNKNOWN", [this, l = std::string(line)](auto done) { milters_->unknown(l, done); },
                             [this](std::optional<Reply> r) {
                                 count(Verb::kUnknown, false);
                                 reply_error(r ? *r : replies::not_recognized());
                             });
                break;
        }
    }
    if (!busy_) check_error_limit();
}

void Session::check_error_limit() {
    if (state_ != State::kCommand || error_count_ < cfg_.smtpd_hard_error_limit) return;
    log::info("too many errors after %s from %s", last_cmd_.c_str(), namaddr().c_str());
    abort_message();
    send_raw(replies::too_many_errors(cfg_.myhostname).format());
    close_after_reply();
}

void Session::junk() {
    if (junk_count_++ > cfg_.smtpd_junk_command_limit) ++error_count_;
}

void Session::cmd_helo(const Command& cmd, bool ehlo) {
    Verb verb = ehlo ? Verb::kEhlo : Verb::kHelo;
    if (cmd.argument.empty()) {
        count(verb, false);
        reply_error(make_reply(501, "", ehlo ? "Syntax: EHLO hostname" : "Syntax: HELO hostname"));
        return;
    }
    if (client_reject_) {
        count(verb, false);
        reply_error(*client_reject_);
        return;
    }
    reset_transaction();
    s_.helo_name = cmd.argument;
    s_.protocol = ehlo ? "ESMTP" : "SMTP";
    ehlo_ = false;
    if (ehlo) {
        for (const auto& k : ehlo_keywords(cfg_.ehlo)) {
            if (util::iequals(k, "PIPELINING")) ehlo_ = true;
        }
    }
    std::string arg = cmd.argument;
    run_check(&Checker::check_helo, [this, verb, ehlo](CheckResult r) {
        if (r.rejected()) {
            s_.helo_name.reset();
            count(verb, false);
            reply_error(r.reply);
            return;
        }
        milter_stage("HELO", [this](auto done) { milters_->helo(s_.helo_name.value_or(""), done); },
                     [this, verb, ehlo](std::optional<Reply> mr) {
                         if (mr) {
                             s_.helo_name.reset();
                             count(verb, false);
                             reply_error(*mr);
                             return;
                         }
                         count(verb, true);
                         if (!ehlo) {
                             reply(replies::helo(cfg_.myhostname));
                             return;
                         }
                         EhloOptions options = cfg_.ehlo;
                         options.starttls = offer_starttls();
                         if (offer_auth() && !server_.sasl_exception(peer_)) {
                             options.auth_mechanisms = server_.sasl()->cyrus().mechanisms(s_.tls_active);
                             options.broken_sasl_auth_clients = cfg_.sasl.broken_clients;
                         }
                         reply(replies::ehlo(options));
                     });
    });
}

void Session::cmd_mail(const Command& cmd) {
    auto fail = [&](const Reply& r) {
        count(Verb::kMail, false);
        reply_error(r);
    };
    if (cfg_.smtpd_helo_required && !s_.helo_name) return fail(replies::need_helo());
    if (bdat_used_) return fail(replies::mail_after_bdat());
    if (in_transaction()) return fail(replies::nested_mail());
    if (wait_for_rate(Verb::kMail, cmd)) return;
    if (client_reject_) return fail(*client_reject_);
    if (cmd.mail.size && cfg_.message_size_limit > 0 && *cmd.mail.size > cfg_.message_size_limit)
        return fail(replies::size_exceeded());
    if (cmd.mail.auth) {
        // RFC 4954 5: the AUTH= parameter, logged as sasl_sender.
        if (server_.sasl() == nullptr) return fail(replies::auth_param_disabled());
        sasl_sender_ = *cmd.mail.auth == "<>" ? "" : *cmd.mail.auth;
    }
    if (cmd.mail.smtputf8) s_.smtputf8 = true;
    s_.sender = cmd.address;
    auto params = cmd.mail;
    auto args = milters_ ? milter_args(cmd) : std::vector<std::string>{};
    run_check(&Checker::check_mail, [this, params, args](CheckResult r) {
        if (r.rejected()) {
            s_.reset_transaction();
            count(Verb::kMail, false);
            reply_error(r.reply);
            return;
        }
        mail_params_ = params;
        milter_stage("MAIL", [this, args](auto done) { milters_->mail(args, done); },
                     [this](std::optional<Reply> mr) {
                         if (mr) {
                             s_.reset_transaction();
                             mail_params_ = MailParams{};
                             count(Verb::kMail, false);
                             reply_error(*mr);
                             return;
                         }
                         count(Verb::kMail, true);
                         reply(replies::mail_ok());
                     });
    });
}

// smtpd_client_message_rate_limit, smtpd_client_recipient_rate_limit:
// anvil counts the MAIL or RCPT first; the command then runs again, or the
// client gets the refusal. True while anvil is being asked.
bool Session::wait_for_rate(Verb verb, const Command& cmd) {
    if (std::exchange(rate_ok_, false)) return false;
    ClientLimits* limits = server_.limits();
    if (!limited_) return false;
    int limit = verb == Verb::kMail ? limits->config().message_rate_limit : limits->config().recipient_rate_limit;
    if (limit <= 0) return false;
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    auto then = [this, alive, verb, cmd](std::optional<Reply> refusal) {
        if (alive.expired() || finished_) return;
        busy_ = false;
        if (refusal) {
            count(verb, false);
            reply_error(*refusal);
        } else {
            rate_ok_ = true;
            if (verb == Verb::kMail) cmd_mail(cmd);
            else cmd_rcpt(cmd);
        }
        if (!busy_ && !finished_) check_error_limit();
        pump();
    };
    if (verb == Verb::kMail) limits->message(s_.client_name, s_.client_addr, std::move(then));
    else limits->recipient(s_.client_name, s_.client_addr, std::move(then));
    return true;
}

void Session::cmd_rcpt(const Command& cmd) {
    auto fail = [&](const Reply& r) {
        count(Verb::kRcpt, false);
        reply_error(r);
    };
    if (!in_transaction()) return fail(replies::need_mail());
    if (wait_for_rate(Verb::kRcpt, cmd)) return;
    if (bdat_used_) return fail(replies::rcpt_after_bdat());
    if (client_reject_) return fail(*client_reject_);
    ++rcpt_attempts_;
    if (recipients_.size() >= cfg_.smtpd_recipient_limit) return fail(replies::too_many_recipients());
    s_.recipient = cmd.address;
    auto params = cmd.rcpt;
    std::string address = cmd.address;
    auto args = milters_ ? milter_args(cmd) : std::vector<std::string>{};
    run_check(&Checker::check_rcpt, [this, params, address, args](CheckResult r) {
        if (r.rejected()) {
            s_.recipient.reset();
            count(Verb::kRcpt, false);
            reply_error(r.reply);
            return;
        }
        milter_stage("RCPT", [this, args](auto done) { milters_->rcpt(args, done); },
                     [this, params, address](std::optional<Reply> mr) {
                         s_.recipient.reset();
                         if (mr) {
                             count(Verb::kRcpt, false);
                             reply_error(*mr);
                             return;
                         }
                         rcpt_accepted(params, address);
                     });
    });
}

// The restrictions and milters took the recipient: to cleanup.
void Session::rcpt_accepted(const RcptParams& params, const std::string& address) {
    if (sink_) {
        accept_recipient(params, address);
        return;
    }
    // The first recipient: connect to cleanup (master may have to start
    // a cleanup process first; the loop serves other sessions meanwhile).
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    server_.hooks().open_sink([this, alive, params, address](Result<std::unique_ptr<MessageSink>> sink) {
        if (alive.expired() || finished_) return;
        busy_ = false;
        if (!sink) {
            log::warn("%s: cannot hand the message to cleanup: %s", namaddr().c_str(),
                      sink.error().message.c_str());
            count(Verb::kRcpt, false);
            reply_error(replies::queue_write_error());
        } else {
            // The milters hold the message for cleanup; a before-queue proxy
            // (smtpd_proxy_filter) gets it as it arrives, without them.
            sink_ = attach_sink(cfg_.proxy.address ? std::move(*sink) : milter_wrap(std::move(*sink)));
            std::weak_ptr<int> still = alive_;
            sink_->on_drained([this, still] {
                if (still.expired() || !sink_full_) return;
                sink_full_ = false;
                pump();
            });
            start_sink(&sink_status_);
            accept_recipient(params, address);
        }
        check_error_limit();
        pump();
    });
}

void Session::accept_recipient(const RcptParams& params, const std::string& address) {
    if (sink_status_ && !params.orcpt_type.empty())
        sink_status_ = sink_->send(RecordType::kDsnOrcpt, params.orcpt_type + ";" + params.orcpt_address);
    if (sink_status_ && params.notify != kNotifyNone)
        sink_status_ = sink_->send(RecordType::kDsnNotify, dsn_notify_text(params.notify));
    if (sink_status_)
        sink_status_ = sink_->send(RecordType::kRecipient, std::string(1, queue::kRcptPending) + address);
    if (proxy_) return proxy_recipient(address);
    recipients_.push_back(address);
    s_.rcpt_count = static_cast<unsigned>(recipients_.size());
    count(Verb::kRcpt, true);
    reply(replies::rcpt_ok());
}


void Session::cmd_rset() {
    junk();
    reset_transaction();
    count(Verb::kRset, true);
    reply(replies::ok());
}

void Session::cmd_vrfy(const Command& cmd) {
    junk();
    if (cfg_.disable_vrfy_command) {
        count(Verb::kVrfy, false);
        reply_error(replies::vrfy_disabled());
        return;
    }
    // As Postfix: the address must be a known recipient of its class
    // (the recipient tables may block, so this runs like a check).
    std::string shown = cmd.argument;
    s_.recipient = cmd.address;
    run_check(&Checker::check_vrfy, [this, shown](CheckResult r) {
        s_.recipient.reset();
        if (r.rejected()) {
            count(Verb::kVrfy, false);
            reply_error(r.reply);
        } else {
            count(Verb::kVrfy, true);
            reply(replies::vrfy_ok(shown));
        }
    });
}

}  // namespace mailroom::smtpd
