// virtual_config.cc - see virtual_config.h.
#include "virtual/virtual_config.h"

#include "lib/log/log.h"
#include "lib/util/strings.h"

namespace mailroom::virt {

namespace {

Result<Lookup> open_maps(const config::Config& c, const char* name, bool required,
                         std::vector<std::shared_ptr<table::Maps>>* keep) {
    auto value = c.get(name);
    if (!value) return value.error();
    if (util::trim(*value).empty()) {
        if (required) return make_error(std::string(name) + " is not set");
        return Lookup();
    }
    auto maps = table::Maps::open(*value);
    if (!maps) {
        // As Postfix does: an unavailable table defers the mail that needs
        // it instead of stopping the agent.
        log::warn("%s is unavailable. %s", value->c_str(), maps.error().message.c_str());
        std::string what = std::string(name) + ": table lookup problem";
        return Lookup([what](std::string_view, bool) -> table::LookupResult { return make_temp_error(what); });
    }
    auto shared = std::make_shared<table::Maps>(std::move(*maps));
    keep->push_back(shared);
    return Lookup([shared, lookup = address::maps_lookup(*shared)](std::string_view key, bool partial) {
        return lookup(key, partial);
    });
}

}  // namespace

Result<VirtualRuntime> load_virtual_runtime(const config::Config& c) {
    VirtualRuntime rt;
    VirtualSettings& s = rt.settings;
    auto base = c.get("virtual_mailbox_base");
    if (!base) return base.error();
    if (util::trim(*base).empty()) return make_error("virtual_mailbox_base is not set");
    s.virtual_mailbox_base = *base;
    while (s.virtual_mailbox_base.size() > 1 && s.virtual_mailbox_base.back() == '/') s.virtual_mailbox_base.pop_back();
    for (auto [name, target] : {std::pair{"virtual_mailbox_maps", &rt.maps.mailbox},
                                std::pair{"virtual_uid_maps", &rt.maps.uid}, std::pair{"virtual_gid_maps", &rt.maps.gid}}) {
        auto m = open_maps(c, name, true, &rt.tables);
        if (!m) return m.error();
        *target = *m;
    }
    auto limit_maps = open_maps(c, "virtual_mailbox_limit_maps", false, &rt.tables);
    if (!limit_maps) return limit_maps.error();
    rt.maps.limit = *limit_maps;

    auto min_uid = c.get_int("virtual_minimum_uid");
    auto limit = c.get_int("virtual_mailbox_limit");
    if (!min_uid) return min_uid.error();
    if (!limit) return limit.error();
    s.virtual_minimum_uid = static_cast<std::uint64_t>(*min_uid);
    s.virtual_mailbox_limit = static_cast<std::uint64_t>(*limit);
    for (auto [name, target] : {std::pair{"virtual_mailbox_limit_override", &s.virtual_mailbox_limit_override},
                                std::pair{"virtual_create_maildirsize", &s.virtual_create_maildirsize},
                                std::pair{"virtual_mailbox_extended", &s.virtual_mailbox_extended},
                                std::pair{"virtual_overquota_bounce", &s.virtual_overquota_bounce},
                                std::pair{"virtual_trash_count", &s.virtual_trash_count}}) {
        auto b = c.get_bool(name);
        if (!b) return b.error();
        *target = *b;
    }
    auto maildir_ext = c.get_bool("virtual_maildir_extended");
    if (!maildir_ext) return maildir_ext.error();
    s.virtual_mailbox_extended = s.virtual_mailbox_extended || *maildir_ext;
    auto msg = c.get("virtual_maildir_limit_message");
    if (!msg) return msg.error();
    s.virtual_maildir_limit_message = *msg;
    auto delim = c.get("recipient_delimiter");
    if (!delim) return delim.error();
    s.recipient_delimiter = *delim;
    auto lock = c.get("virtual_mailbox_lock");
    if (!lock) return lock.error();
    auto methods = mailbox::parse_lock_methods(*lock);
    if (!methods) return methods.error();
    s.lock.methods = *methods;
    auto tries = c.get_int("deliver_lock_attempts");
    auto delay = c.get_time("deliver_lock_delay");
    auto stale = c.get_time("stale_lock_time");
    if (!tries) return tries.error();
    if (!delay) return delay.error();
    if (!stale) return stale.error();
    s.lock.tries = static_cast<int>(*tries);
    s.lock.delay_ms = static_cast<unsigned>(*delay * 1000);
    s.lock.stale_seconds = static_cast<long>(*stale);
    return rt;
}

}  // namespace mailroom::virt
