// bench_core.cc - figures for the hot paths under the daemons.
//
// Summary
//   Prints operations per second for: reading and expanding a seed-sized
//   main.cf, hash: table lookups, and durable queue-file writes (create,
//   write a 4 KiB message, fsync, rename), with the fsyncs each write costs.
//   Usage: bench_core [seconds-per-figure] (default 2).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "lib/config/config.h"
#include "lib/queue/queue_dirs.h"
#include "lib/queue/queue_file.h"
#include "lib/table/table.h"
#include "lib/util/fs.h"

using namespace mailroom;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs fn until `budget` seconds pass; returns operations per second.
template <class Fn>
double rate(double budget, Fn fn) {
    long n = 0;
    auto t0 = Clock::now();
    do {
        for (int i = 0; i < 16; ++i) fn(n++);
    } while (seconds_since(t0) < budget);
    return static_cast<double>(n) / seconds_since(t0);
}

const char* kMainCf =
    "myhostname = mail.magedu.com\n"
    "myorigin = magedu.com\n"
    "mydomain = magedu.com\n"
    "mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain\n"
    "mynetworks = 192.168.1.0/24, 127.0.0.0/8\n"
    "smtpd_banner = Welcome to our $myhostname ESMTP,Warning: Version not Available!\n"
    "virtual_mailbox_base = /var/mailbox\n"
    "virtual_uid_maps = static:2525\n"
    "message_size_limit = 14336000\n";

}  // namespace

int main(int argc, char** argv) {
    double budget = argc > 1 ? std::atof(argv[1]) : 2.0;
    char tmpl[] = "/tmp/mr-bench-XXXXXX";
    if (!::mkdtemp(tmpl)) return 1;
    std::string dir = tmpl;

    double cfg_rate = rate(budget, [](long) {
        auto cfg = config::Config::from_text(kMainCf, "/etc/mailroom");
        if (!cfg) {
            std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
            std::abort();
        }
        auto v = cfg->get("mydestination");
        if (!v) {
            std::fprintf(stderr, "%s\n", v.error().message.c_str());
            std::abort();
        }
    });
    std::printf("main.cf parse + expand mydestination: %.0f per second\n", cfg_rate);

    std::string src = dir + "/access";
    std::string text;
    for (int i = 0; i < 10000; ++i) text += "user" + std::to_string(i) + "@example.com OK\n";
    if (!util::write_file_atomic(src, text)) return 1;
    {
        table::OpenOptions w;
        w.for_update = true;
        w.create = true;
        auto t = table::open_table("hash:" + src, w);
        if (!t) {
            std::fprintf(stderr, "%s\n", t.error().message.c_str());
            return 1;
        }
        for (int i = 0; i < 10000; ++i) (void)(*t)->update("user" + std::to_string(i) + "@example.com", "OK");
        (void)(*t)->sync();
    }
    auto table = table::open_table("hash:" + src);
    if (!table) return 1;
    double lookup_rate = rate(budget, [&](long n) {
        auto r = (*table)->lookup("user" + std::to_string(n % 20000) + "@example.com");
        if (!r) std::abort();
    });
    std::printf("hash: lookups (10000 keys, half misses): %.0f per second\n", lookup_rate);

    queue::QueueLayout layout;
    layout.queue_directory = dir + "/queue";
    if (!queue::create_queue_directories(layout)) return 1;
    std::string line(76, 'x');
    long written = 0;
    double write_rate = rate(budget, [&](long) {
        auto w = queue::QueueWriter::create(layout);
        if (!w) {
            std::fprintf(stderr, "%s\n", w.error().message.c_str());
            std::abort();
        }
        (void)w->set_arrival_time(1700000000, 0);
        (void)w->set_sender("sender@example.com");
        (void)w->add_recipient(queue::RecipientSpec("rcpt@example.com"));
        (void)w->begin_content();
        for (int i = 0; i < 52; ++i) (void)w->add_line(line);
        auto id = w->commit();
        if (!id) {
            std::fprintf(stderr, "%s\n", id.error().message.c_str());
            std::abort();
        }
        ++written;
        ::unlink(layout.file_path("incoming", *id).c_str());
    });
    // QueueWriter::commit fsyncs the file and the incoming/ directory.
    std::printf("durable 4 KiB queue-file writes: %.0f per second (2 fsyncs each)\n", write_rate);

    std::string cmd = "rm -rf '" + dir + "'";
    (void)!std::system(cmd.c_str());
    return written > 0 ? 0 : 1;
}
