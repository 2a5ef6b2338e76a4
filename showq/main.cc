// main.cc - showq: the queue listing for users who cannot read the queue.
//
// Summary
//   A single server on public/showq (master.cf: "showq unix n - n - -
//   showq"). postqueue -p/-j (mailq) connects when its user cannot read
//   the queue directories; showq, running as mail_owner, reads the queue
//   and sends the listing back (lib/showq/showq_protocol.h).
//
// Security
//   Anyone on the host may connect, as with Postfix's showq: the listing
//   shows senders and recipients of queued mail, never message content.
//   Requests are one small attribute record, read with a timeout.
#include "lib/config/config.h"
#include "lib/log/log.h"
#include "lib/server/server.h"
#include "lib/showq/showq_protocol.h"

using namespace mailroom;

int main(int argc, char** argv) {
    server::ServiceSpec spec;
    spec.program = "showq";
    spec.on_connection = [](server::ServerContext& ctx, server::Connection conn) {
        auto q = ctx.config().get("queue_directory");
        if (!q) {
            log::warn("%s", q.error().message.c_str());
            return;
        }
        queue::QueueLayout layout;
        layout.queue_directory = *q;
        ipc::IpcStream stream(util::UniqueFd(::dup(conn.fd())), 10000);
        if (auto st = showq::serve_showq(stream, layout); !st) log::warn("%s", st.error().message.c_str());
    };
    return server::run_single_server(argc, argv, std::move(spec));
}
