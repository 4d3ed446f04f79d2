#include "protocol/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "common/error.h"
#include "protocol/framing.h"
#include "protocol/untrusted_json.h"

namespace kvrun::protocol {
namespace {

// The receive timeout set on the socket, or zero.
std::chrono::milliseconds receive_timeout(int fd) {
  timeval tv{};
  socklen_t size = sizeof tv;
  if (::getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &size) != 0) return {};
  return std::chrono::seconds(tv.tv_sec) + std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::microseconds(tv.tv_usec));
}

ReplyEnvelope exchange(int fd, const Request& request, std::chrono::milliseconds timeout) {
  send_request(fd, request, timeout);
  return receive_envelope(fd, request, timeout);
}

}  // namespace

Client::Client(UniqueFd connection) : fd_(std::move(connection)), timeout_(kDefaultCallTimeout) {
  if (auto set = receive_timeout(fd_.get()); set > std::chrono::milliseconds::zero())
    timeout_ = set;
}

ReplyEnvelope Client::exchange(const Request& request) {
  return protocol::exchange(fd_.get(), request, timeout_);
}

bool is_waiting_request(const RequestBody& body) {
  return std::holds_alternative<WaitProcess>(body) || std::holds_alternative<GetOomEvent>(body);
}

void send_request(int fd, const Request& request, std::chrono::milliseconds timeout) {
  std::string type(type_name(request.body));
  try {
    write_frame(fd, encode_request(request), Deadline::after(timeout));
  } catch (const TimeoutError&) {
    throw TimeoutError(type + ": the agent took no request within " +
                       std::to_string(timeout.count()) + " ms");
  } catch (const Error& e) {
    throw Error(type + ": " + e.what());
  }
}

ReplyEnvelope receive_envelope(int fd, const Request& request, std::chrono::milliseconds timeout) {
  std::string type(type_name(request.body));
  std::optional<std::string> frame;
  try {
    if (is_waiting_request(request.body)) wait_ready(fd, POLLIN, Deadline::never(), "read frame");
    frame = read_frame(fd, Deadline::after(timeout));
  } catch (const TimeoutError&) {
    throw TimeoutError(type + ": no reply from the agent within " +
                       std::to_string(timeout.count()) + " ms");
  } catch (const Error& e) {
    throw Error(type + ": " + e.what());
  }
  if (!frame) throw Error(type + ": agent closed the connection");
  try {
    return decode_reply(*frame);
  } catch (const JsonError& e) {
    throw JsonError(e.kind(), type + ": " + e.what());
  } catch (const Error& e) {
    throw Error(type + ": " + e.what());
  }
}

ProcessWait::ProcessWait(UniqueFd connection, WaitProcess request,
                         std::chrono::milliseconds timeout)
    : fd_(std::move(connection)), request_{1, std::move(request)}, timeout_(timeout) {
  send_request(fd_.get(), request_, timeout_);
}

int ProcessWait::exit_status() {
  return decode_reply_for<WaitProcess>(request_.id, receive_envelope(fd_.get(), request_, timeout_))
      .exit_status;
}

UniqueFd attach_stdio(UniqueFd connection, const AttachStdio& request,
                      std::chrono::milliseconds timeout) {
  const Request attach{1, request};
  ReplyEnvelope reply = exchange(connection.get(), attach, timeout);
  try {
    decode_reply_for<AttachStdio>(attach.id, reply);
  } catch (const AgentError& e) {
    throw AgentError(e.code(),
                     "attach " + std::string(to_string(request.stream)) + ": " + reply.error);
  }
  return connection;
}

void configure_network(Client& client, const ConfigureNetwork& request) { client.call(request); }

}  // namespace kvrun::protocol
