// virtual_deliver.cc - see virtual_deliver.h.
#include "virtual/virtual_deliver.h"

#include <sys/stat.h>

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <unordered_set>

#include "lib/address/addr_find.h"
#include "lib/agent/agent_headers.h"
#include "lib/agent/agent_identity.h"
#include "lib/mailbox/maildir.h"
#include "lib/mailbox/mbox.h"
#include "lib/util/strings.h"

namespace mailroom::virt {

Result<mailbox::QuotaLimits> quota_limit(const VirtualSettings& s, const std::optional<std::string>& user_value) {
    mailbox::QuotaLimits global{s.virtual_mailbox_limit, 0};
    if (!user_value) return global;
    auto user = mailbox::parse_quota_spec(util::trim(*user_value));
    if (!user) return user.error();
    if (s.virtual_mailbox_limit_override) return *user;
    // Without override a table entry may only lower the global limit.
    if (global.bytes == 0) return *user;
    mailbox::QuotaLimits l = *user;
    if (l.bytes == 0 || l.bytes > global.bytes) l.bytes = global.bytes;
    return l;
}

agent::Outcome over_quota(const VirtualSettings& s) {
    if (s.virtual_overquota_bounce) return agent::bounced(s.virtual_maildir_limit_message, "5.2.2");
    return agent::deferred(s.virtual_maildir_limit_message, "4.2.2");
}

namespace {

// The first answer over virtual(8)'s keys (lib/address); an error stops the search.
Result<std::optional<std::string>> find(const Lookup& lookup, const std::string& address,
                                        const address::FindOptions& options) {
    if (!lookup) return std::optional<std::string>();
    auto found = address::find(address, options, lookup);
    if (!found) return found.error();
    if (!*found) return std::optional<std::string>();
    return std::optional<std::string>(std::move((*found)->value));
}

Result<std::uint64_t> parse_id(const std::string& text, const char* what) {
    std::string t(util::trim(text));
    char* end = nullptr;
    unsigned long long v = std::strtoull(t.c_str(), &end, 10);
    if (t.empty() || *end) return make_error(util::format("bad %s value: %s", what, t.c_str()));
    return static_cast<std::uint64_t>(v);
}

// The over-quota verdict of a delivery step.
Error over_quota_error() { return make_coded_error(ErrorCode::kOverQuota, "mailbox over quota"); }

// Maildirs this process has created or found whole (cur/, new/, tmp/):
// the next delivery to one skips the mkdir and stat of each directory. A
// delivery that then finds a directory missing (removed meanwhile) makes
// them again and tries once more.
class KnownMaildirs {
public:
    bool known(const std::string& dir) const { return dirs_.count(dir) != 0; }
    void remember(const std::string& dir) {
        if (dirs_.size() >= kMax) dirs_.clear();
        dirs_.insert(dir);
    }
    void forget(const std::string& dir) { dirs_.erase(dir); }

private:
    static constexpr std::size_t kMax = 4096;
    std::unordered_set<std::string> dirs_;
};

KnownMaildirs& known_maildirs() {
    static KnownMaildirs known;
    return known;
}

// The host part of Maildir file names, asked for once per process.
const std::string& maildir_host() {
    static const std::string host = [] {
        char buf[HOST_NAME_MAX + 1];
        if (::gethostname(buf, sizeof(buf)) < 0) return std::string("localhost");
        buf[sizeof(buf) - 1] = '\0';
        return std::string(buf);
    }();
    return host;
}

struct Target {
    std::string path;
    bool maildir = false;
    agent::Identity who;
    mailbox::QuotaLimits limits;
};

// One Maildir delivery as the recipient (inside run_as): the directories
// first when `make` (else they are taken to exist), the quota, then the
// file in tmp/, linked into new/.
Status maildir_step(const std::string& dir, bool make, const std::string& prefix, std::uint64_t size,
                    const agent::MessageCopy& message, const VirtualSettings& s, const Target& t) {
    if (make) {
        if (auto e = mailbox::ensure_maildir(dir); !e) return e;
    }
    bool use_file = s.virtual_create_maildirsize || s.virtual_mailbox_extended;
    mailbox::QuotaOptions qo;
    qo.exclude_trash = !s.virtual_trash_count;
    if (!t.limits.unlimited()) {
        mailbox::QuotaUsage usage;
        if (use_file) {
            auto q = mailbox::read_maildir_quota(dir, t.limits, qo);
            if (!q) return q.error();
            usage = q->usage;
        } else {
            // One count; a settled recount only when that one says no: a
            // refusal is never the result of a race.
            qo.settle = false;
            auto u = mailbox::calculate_maildir_usage(dir, qo);
            if (u && mailbox::quota_would_exceed(t.limits, *u, size)) {
                qo.settle = true;
                u = mailbox::calculate_maildir_usage(dir, qo);
            }
            if (!u) return u.error();
            usage = *u;
        }
        if (mailbox::quota_would_exceed(t.limits, usage, size)) return over_quota_error();
    }
    mailbox::DeliveryOptions o;
    o.queue_device = message.queue_device();
    o.create_dirs = false;
    o.host = maildir_host();
    auto w = mailbox::MaildirWriter::open(dir, o);
    if (!w) return w.error();
    if (auto e = agent::append_message(*w, prefix, message); !e) return e;
    auto done = w->commit();
    if (!done) return done.error();
    if (use_file && !t.limits.unlimited()) {
        // The delivery stands even when the size cache cannot be updated:
        // the next reader recounts it.
        (void)mailbox::append_quota_delta(dir, static_cast<int64_t>(w->size()), 1);
    }
    return ok_status();
}

agent::Outcome deliver_one(const agent::Job& job, const agent::JobRecipient& r, const agent::MessageCopy& message,
                           const VirtualSettings& s, const Target& t, time_t now) {
    agent::PrefixFlags headers{false, true, true, true};
    std::string prefix = agent::delivery_prefix(job.sender, r.original(), r.address, headers, now);
    std::uint64_t size = prefix.size() + message.size();
    Status st = agent::run_as(t.who, [&]() -> Status {
        if (t.maildir) {
            std::string dir = t.path.substr(0, t.path.size() - 1);
            KnownMaildirs& known = known_maildirs();
            bool was_known = known.known(dir);
            Status done = maildir_step(dir, !was_known, prefix, size, message, s, t);
            // A directory removed since this process last saw it whole
            // (nothing was delivered): make them all and try once more.
            if (!done && was_known && done.error().sys_errno == ENOENT)
                done = maildir_step(dir, true, prefix, size, message, s, t);
            if (done)
                known.remember(dir);
            else
                known.forget(dir);
            return done;
        }
        if (t.limits.bytes > 0) {
            struct stat sb;
            std::uint64_t have = ::lstat(t.path.c_str(), &sb) == 0 ? static_cast<std::uint64_t>(sb.st_size) : 0;
            if (have + size + 100 > t.limits.bytes) return over_quota_error();
        }
        mailbox::MboxOptions mo;
        mo.lock = s.lock;
        auto w = mailbox::MboxWriter::open(t.path, job.sender.empty() ? "MAILER-DAEMON" : job.sender, now, mo);
        if (!w) return w.error();
        if (auto e = agent::append_message(*w, prefix, message); !e) return e;
        return w->commit();
    });
    if (!st && st.error().is(ErrorCode::kOverQuota)) return over_quota(s);
    if (!st) {
        // As local: the status follows the errno (agent::mailbox_failure()).
        return agent::mailbox_failure(t.maildir ? "maildir delivery failed: " : "cannot update mailbox " + t.path + ". ",
                                      st.error(), t.maildir);
    }
    return agent::sent(t.maildir ? "delivered to maildir" : "delivered to mailbox");
}

agent::Outcome deliver_recipient(const agent::Job& job, const agent::JobRecipient& r,
                                 const agent::MessageCopy& message, const std::string& head,
                                 const VirtualSettings& s, const VirtualMaps& maps, time_t now) {
    if (agent::delivered_to_loop(head, r.address))
        return agent::bounced("mail forwarding loop for " + r.address, "5.4.6");
    // virtual(8)'s keys: user+ext@domain, user@domain, @domain (lib/address).
    address::FindOptions key_options;
    key_options.recipient_delimiter = s.recipient_delimiter;
    key_options.strategy = address::kFindVirtualMailbox;
    const std::string key = util::lowercase(r.address);
    auto mbox = find(maps.mailbox, key, key_options);
    if (!mbox) return agent::outcome_from_error(mbox.error(), "4.3.0", "5.3.0");
    if (!*mbox) return agent::bounced("unknown user: \"" + r.address + "\"", "5.1.1");
    std::string result(util::trim(**mbox));
    if (result.empty() || result.find("..") != std::string::npos)
        return agent::deferred("mail system configuration error: bad mailbox name for " + r.address, "4.3.5");

    auto uid_text = find(maps.uid, key, key_options);
    if (!uid_text) return agent::outcome_from_error(uid_text.error(), "4.3.0", "4.3.5");
    if (!*uid_text) return agent::deferred("mail system configuration error: recipient " + r.address +
                                               ": uid not found in virtual_uid_maps", "4.3.5");
    auto gid_text = find(maps.gid, key, key_options);
    if (!gid_text) return agent::outcome_from_error(gid_text.error(), "4.3.0", "4.3.5");
    if (!*gid_text) return agent::deferred("mail system configuration error: recipient " + r.address +
                                               ": gid not found in virtual_gid_maps", "4.3.5");
    auto uid = parse_id(**uid_text, "virtual_uid_maps");
    auto gid = parse_id(**gid_text, "virtual_gid_maps");
    if (!uid || !gid) return agent::deferred("mail system configuration error: " +
                                                 (!uid ? uid.error() : gid.error()).message, "4.3.5");
    if (*uid < s.virtual_minimum_uid)
        return agent::deferred(util::format("mail system configuration error: recipient %s: uid %llu is below "
                                            "virtual_minimum_uid %llu",
                                            r.address.c_str(), (unsigned long long)*uid,
                                            (unsigned long long)s.virtual_minimum_uid),
                               "4.3.5");
    if (*gid == 0) return agent::deferred("mail system configuration error: recipient " + r.address +
                                              ": gid 0 is not allowed", "4.3.5");

    std::optional<std::string> user_limit;
    if (maps.limit) {
        auto l = find(maps.limit, key, key_options);
        if (!l) return agent::outcome_from_error(l.error(), "4.3.0", "4.3.5");
        user_limit = *l;
    }
    auto limits = quota_limit(s, user_limit);
    if (!limits) return agent::deferred("mail system configuration error: recipient " + r.address +
                                            ": bad virtual_mailbox_limit_maps value: " + limits.error().message,
                                        "4.3.5");

    Target t;
    t.path = s.virtual_mailbox_base + "/" + result;
    t.maildir = result.back() == '/';
    t.who = agent::Identity{static_cast<uid_t>(*uid), static_cast<gid_t>(*gid), "", "", ""};
    t.limits = *limits;
    return deliver_one(job, r, message, s, t, now);
}

}  // namespace

std::vector<agent::Outcome> virtual_deliver(const agent::Job& job, const agent::MessageCopy& message,
                                            const VirtualSettings& settings, const VirtualMaps& maps, time_t now) {
    std::vector<agent::Outcome> out;
    auto head = message.head();
    for (const auto& r : job.recipients) {
        if (!head) {
            out.push_back(agent::outcome_from_error(head.error()));
            continue;
        }
        out.push_back(deliver_recipient(job, r, message, *head, settings, maps, now));
    }
    return out;
}

}  // namespace mailroom::virt
