// async_lookup.cc - see async_lookup.h.
#include "lib/table/async_lookup.h"

#include <optional>

namespace mailroom::table {

AsyncTable::AsyncTable(std::shared_ptr<Table> table, event::Offload* offload)
    : shared_(std::make_shared<Shared>()), offload_(offload) {
    shared_->table = std::move(table);
}

void AsyncTable::lookup(std::string key, std::function<void(LookupResult)> done) {
    if (!shared_->table->may_block()) {
        std::optional<LookupResult> r;
        {
            std::lock_guard<std::mutex> lock(shared_->mu);
            r.emplace(shared_->table->lookup(key));
        }
        done(std::move(*r));
        return;
    }
    offload_->submit_value<LookupResult>(
        [shared = shared_, key = std::move(key)]() {
            std::lock_guard<std::mutex> lock(shared->mu);
            return shared->table->lookup(key);
        },
        std::move(done));
}

AsyncMaps::AsyncMaps(std::shared_ptr<Maps> maps, event::Offload* offload)
    : shared_(std::make_shared<Shared>()), offload_(offload) {
    shared_->maps = std::move(maps);
}

void AsyncMaps::lookup(std::string key, std::function<void(LookupResult)> done) {
    if (!shared_->maps->may_block()) {
        std::optional<LookupResult> r;
        {
            std::lock_guard<std::mutex> lock(shared_->mu);
            r.emplace(shared_->maps->lookup(key));
        }
        done(std::move(*r));
        return;
    }
    offload_->submit_value<LookupResult>(
        [shared = shared_, key = std::move(key)]() {
            std::lock_guard<std::mutex> lock(shared->mu);
            return shared->maps->lookup(key);
        },
        std::move(done));
}

}  // namespace mailroom::table
