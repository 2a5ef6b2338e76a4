// domain_list.cc - see domain_list.h.
#include "lib/table/domain_list.h"

#include "lib/table/table_text.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::table {

Result<bool> in_domain_list(const std::vector<std::string>& list, std::string_view domain, bool match_subdomains,
                            const DomainTableLookup& domain_table) {
    for (const auto& raw : list) {
        std::string entry = raw;
        bool negate = false;
        while (!entry.empty() && entry[0] == '!') {
            negate = !negate;
            entry.erase(0, 1);
        }
        if (entry.empty()) continue;
        bool hit = false;
        if (entry.find(':') != std::string::npos) {
            // type:table: the domain itself, then (when parents match) each
            // parent domain, as Postfix's domain lists look them up.
            if (!domain_table) return make_error("domain list table without a lookup: " + entry);
            std::string key(domain);
            for (;;) {
                auto r = domain_table(entry, key);
                if (!r) return r.error();
                if (*r) {
                    hit = true;
                    break;
                }
                if (!match_subdomains) break;
                auto dot = key.find('.');
                if (dot == std::string::npos) break;
                key = key.substr(dot + 1);
            }
        } else {
            entry = util::lowercase(entry);
            if (entry[0] == '.') {
                // ".example.com" matches subdomains only.
                hit = domain.size() > entry.size() && domain.ends_with(entry);
            } else {
                hit = domain == entry ||
                      (match_subdomains && domain.size() > entry.size() + 1 && domain.ends_with(entry) &&
                       domain[domain.size() - entry.size() - 1] == '.');
            }
        }
        if (hit) return !negate;
    }
    return false;
}

std::vector<std::string> expand_list_files(const std::vector<std::string>& list, std::vector<std::string>* warnings) {
    std::vector<std::string> out;
    for (const auto& e : list) {
        if (e.empty() || e[0] != '/') {
            out.push_back(e);
            continue;
        }
        auto text = util::read_file(e);
        if (!text) {
            if (warnings) warnings->push_back(text.error().message);
            continue;
        }
        for (const TextLine& l : split_table_lines(*text, e, warnings)) {
            for (auto& name : util::split_list(l.text)) out.push_back(std::move(name));
        }
    }
    return out;
}

Result<Table*> DomainTables::open(std::string_view spec) {
    auto it = tables_.find(spec);
    if (it == tables_.end()) {
        auto t = open_table(spec);
        if (!t) return t.error();
        it = tables_.emplace(std::string(spec), std::move(*t)).first;
    }
    return it->second.get();
}

Result<std::optional<std::string>> DomainTables::lookup(std::string_view spec, std::string_view key) {
    auto t = open(spec);
    if (!t) return t.error();
    return (*t)->lookup(key);
}

DomainTableLookup DomainTables::lookup_function() {
    return [this](std::string_view spec, std::string_view key) { return lookup(spec, key); };
}

}  // namespace mailroom::table
