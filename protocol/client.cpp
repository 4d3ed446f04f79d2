#include "protocol/client.h"

#include "common/error.h"
#include "protocol/framing.h"

namespace kvrun::protocol {
namespace {

Reply exchange(int fd, const Request& request) {
  write_frame(fd, encode_request(request));
  auto frame = read_frame(fd);
  if (!frame) throw Error(std::string(type_name(request.body)) + ": agent closed the connection");
  Reply reply = decode_reply(*frame);
  if (reply.id != request.id) {
    throw Error(std::string(type_name(request.body)) + ": reply for request " +
                std::to_string(reply.id) + " instead of " + std::to_string(request.id));
  }
  return reply;
}

}  // namespace

Reply Client::call(const RequestBody& body) { return exchange(fd_.get(), {next_id_++, body}); }

nlohmann::json Client::call_ok(const RequestBody& body) {
  Reply reply = call(body);
  if (!reply.ok) throw Error(std::string(type_name(body)) + ": " + reply.error);
  return reply.body;
}

UniqueFd attach_stdio(UniqueFd connection, const AttachStdio& request) {
  Reply reply = exchange(connection.get(), {1, request});
  if (!reply.ok)
    throw Error("attach " + std::string(to_string(request.stream)) + ": " + reply.error);
  return connection;
}

void configure_network(Client& client, const ConfigureNetwork& request) { client.call_ok(request); }

}  // namespace kvrun::protocol
