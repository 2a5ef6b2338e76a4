// async_lookup.h - the one asynchronous lookup path of an event loop.
//
// Summary
//   Every event-loop process looks tables up through this file, so that a
//   lookup that can block (mysql:, a unionmap or pipemap or proxy: holding
//   one) never stalls the other sessions of the loop. Whether a table may
//   block is its type's answer (Table::may_block(), spec_may_block() in
//   table.h for a "type:name" not opened yet), never a search of
//   parameter text.
//
//   LookupRunner::run(may_block, work, done) runs `work` (any function
//   that looks tables up) at once on the loop when may_block is false, and
//   on the runner's worker thread otherwise, `done` then running on the
//   loop. smtpd runs its restriction checks through it, qmgr its
//   recipient routing. AsyncTable and AsyncMaps put one table or one
//   parameter's list of tables on it.
//
// Description
//   The worker is started on first use, so a process whose tables are all
//   local files has no extra thread. One runner's work items run one at a
//   time in submission order on its thread, so state used only by that
//   work (a Checker with its own table connections) needs no lock; a
//   process that wants several lookups in flight uses several runners.
//   `done` of an inline run is called before run() returns. Worker threads
//   that share one Table (AsyncTable, AsyncMaps) take turns (a Table is not
//   thread-safe); the table stays alive while a lookup is running even if
//   the AsyncTable is destroyed. `done` gets the LookupResult unchanged: a
//   temporary error must become "try again later" for the caller's client.
//   Destroy a runner on the loop thread, not from inside a `done`.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "lib/event/event_loop.h"
#include "lib/event/offload.h"
#include "lib/table/maps.h"
#include "lib/table/table.h"

namespace mailroom::table {

class LookupRunner {
public:
    explicit LookupRunner(event::Loop& loop) : loop_(loop) {}
    LookupRunner(const LookupRunner&) = delete;
    LookupRunner& operator=(const LookupRunner&) = delete;

    template <class T>
    void run(bool may_block, std::function<T()> work, std::function<void(T)> done) {
        if (!may_block || !worker()) {
            done(work());
            return;
        }
        offload_->submit_value<T>(std::move(work), std::move(done));
    }
    // Work items handed to the worker whose `done` has not run yet.
    std::size_t pending() const { return offload_ ? offload_->pending() : 0; }
    // True once the worker thread exists.
    bool started() const { return offload_ != nullptr; }

private:
    bool worker();  // starts the thread; false (and a warning) when it cannot

    event::Loop& loop_;
    std::unique_ptr<event::Offload> offload_;
    bool failed_ = false;
};

class AsyncTable {
public:
    // `runner` must outlive this object.
    AsyncTable(std::shared_ptr<Table> table, LookupRunner* runner);

    void lookup(std::string key, std::function<void(LookupResult)> done);

    Table& table() { return *shared_->table; }
    bool may_block() const { return shared_->table->may_block(); }

private:
    struct Shared {
        std::mutex mu;
        std::shared_ptr<Table> table;
    };
    std::shared_ptr<Shared> shared_;
    LookupRunner* runner_;
};

// The same for a parameter's list of tables: the whole search runs on the
// worker when any member may block.
class AsyncMaps {
public:
    AsyncMaps(std::shared_ptr<Maps> maps, LookupRunner* runner);

    void lookup(std::string key, std::function<void(LookupResult)> done);

    const Maps& maps() const { return *shared_->maps; }

private:
    struct Shared {
        std::mutex mu;
        std::shared_ptr<Maps> maps;
    };
    std::shared_ptr<Shared> shared_;
    LookupRunner* runner_;
};

}  // namespace mailroom::table
