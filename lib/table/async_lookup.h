// async_lookup.h - table lookups that never stall an event loop.
//
// Summary
//   AsyncTable wraps a Table for a process that runs a libevent loop. For a
//   table whose lookups may block (Table::may_block(): mysql, or a union
//   that contains one), lookup() runs the query on an event::Offload worker
//   and calls `done` later on the loop thread. For the others (files in
//   memory or on local disk) it calls `done` at once, before lookup()
//   returns.
//
// Description
//   Worker threads that share one table take turns (a Table is not
//   thread-safe); the table stays alive while a lookup is running even if
//   the AsyncTable is destroyed. AsyncMaps does the same for a Maps list.
//   `done` gets the LookupResult unchanged: a
//   temporary error must become "try again later" for the caller's client.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "lib/event/offload.h"
#include "lib/table/maps.h"
#include "lib/table/table.h"

namespace mailroom::table {

class AsyncTable {
public:
    // `offload` must outlive this object.
    AsyncTable(std::shared_ptr<Table> table, event::Offload* offload);

    void lookup(std::string key, std::function<void(LookupResult)> done);

    Table& table() { return *shared_->table; }
    bool may_block() const { return shared_->table->may_block(); }

private:
    struct Shared {
        std::mutex mu;
        std::shared_ptr<Table> table;
    };
    std::shared_ptr<Shared> shared_;
    event::Offload* offload_;
};

// The same for a parameter's list of tables: the whole search runs on a
// worker when any member may block.
class AsyncMaps {
public:
    AsyncMaps(std::shared_ptr<Maps> maps, event::Offload* offload);

    void lookup(std::string key, std::function<void(LookupResult)> done);

    const Maps& maps() const { return *shared_->maps; }

private:
    struct Shared {
        std::mutex mu;
        std::shared_ptr<Maps> maps;
    };
    std::shared_ptr<Shared> shared_;
    event::Offload* offload_;
};

}  // namespace mailroom::table
