// async_lookup.cc - see async_lookup.h.
#include "lib/table/async_lookup.h"

#include "lib/log/log.h"

namespace mailroom::table {

bool LookupRunner::worker() {
    if (offload_) return true;
    if (failed_) return false;
    auto off = event::Offload::create(loop_.base(), 1);
    if (!off) {
        // Looking up on the loop is slow for the other sessions, not wrong.
        log::warn("cannot start the lookup worker: %s", off.error().message.c_str());
        failed_ = true;
        return false;
    }
    offload_ = std::move(*off);
    return true;
}

AsyncTable::AsyncTable(std::shared_ptr<Table> table, LookupRunner* runner)
    : shared_(std::make_shared<Shared>()), runner_(runner) {
    shared_->table = std::move(table);
}

void AsyncTable::lookup(std::string key, std::function<void(LookupResult)> done) {
    runner_->run<LookupResult>(
        shared_->table->may_block(),
        [shared = shared_, key = std::move(key)]() {
            std::lock_guard<std::mutex> lock(shared->mu);
            return shared->table->lookup(key);
        },
        std::move(done));
}

AsyncMaps::AsyncMaps(std::shared_ptr<Maps> maps, LookupRunner* runner)
    : shared_(std::make_shared<Shared>()), runner_(runner) {
    shared_->maps = std::move(maps);
}

void AsyncMaps::lookup(std::string key, std::function<void(LookupResult)> done) {
    runner_->run<LookupResult>(
        shared_->maps->may_block(),
        [shared = shared_, key = std::move(key)]() {
            std::lock_guard<std::mutex> lock(shared->mu);
            return shared->maps->lookup(key);
        },
        std::move(done));
}

}  // namespace mailroom::table
