// maps.cc - see maps.h.
#include "lib/table/maps.h"

#include "lib/util/strings.h"

namespace mailroom::table {

Result<Maps> Maps::open(std::string_view list_value, const OpenOptions& options, std::string_view default_type) {
    Maps m;
    for (const std::string& item : util::split_list(list_value)) {
        Result<TableSpec> spec = parse_table_spec(item, default_type);
        if (!spec) return spec.error();
        Result<TablePtr> t = open_table(*spec, options);
        if (!t) return t.error();
        m.tables_.push_back(std::move(*t));
    }
    return m;
}

LookupResult Maps::lookup(std::string_view key) const {
    for (const TablePtr& t : tables_) {
        LookupResult r = t->lookup(key);
        if (!r || r->has_value()) return r;
    }
    return std::optional<std::string>();
}

bool Maps::changed() const {
    for (const TablePtr& t : tables_) {
        if (t->changed()) return true;
    }
    return false;
}

bool Maps::may_block() const {
    for (const TablePtr& t : tables_) {
        if (t->may_block()) return true;
    }
    return false;
}

}  // namespace mailroom::table
