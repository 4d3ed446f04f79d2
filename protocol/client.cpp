#include "protocol/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "common/error.h"
#include "protocol/framing.h"
#include "protocol/replies.h"
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

Reply exchange(int fd, const Request& request, std::chrono::milliseconds timeout) {
  send_request(fd, request, timeout);
  return receive_reply(fd, request, timeout);
}

}  // namespace

Client::Client(UniqueFd connection) : fd_(std::move(connection)), timeout_(kDefaultCallTimeout) {
  if (auto set = receive_timeout(fd_.get()); set > std::chrono::milliseconds::zero())
    timeout_ = set;
}

Reply Client::call(const RequestBody& body) {
  return exchange(fd_.get(), {next_id_++, body}, timeout_);
}

nlohmann::json Client::call_ok(const RequestBody& body) {
  Reply reply = call(body);
  if (!reply.ok) throw Error(std::string(type_name(body)) + ": " + reply.error);
  return reply.body;
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

Reply receive_reply(int fd, const Request& request, std::chrono::milliseconds timeout) {
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
    Reply reply = decode_reply(*frame);
    check_reply(request, reply);
    return reply;
  } catch (const JsonError& e) {
    throw JsonError(e.kind(), type + ": " + e.what());
  } catch (const ReplyError&) {
    throw;  // names the request already
  } catch (const Error& e) {
    throw Error(type + ": " + e.what());
  }
}

UniqueFd attach_stdio(UniqueFd connection, const AttachStdio& request,
                      std::chrono::milliseconds timeout) {
  Reply reply = exchange(connection.get(), {1, request}, timeout);
  if (!reply.ok)
    throw Error("attach " + std::string(to_string(request.stream)) + ": " + reply.error);
  return connection;
}

void configure_network(Client& client, const ConfigureNetwork& request) { client.call_ok(request); }

}  // namespace kvrun::protocol
