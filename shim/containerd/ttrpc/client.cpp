#include "shim/containerd/ttrpc/client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <cstring>

#include "kvrun/ttrpc.pb.h"
#include "shim/containerd/ttrpc/frame.h"
#include "shim/containerd/ttrpc/status.h"

namespace kvrun::containerd::ttrpc {

Client Client::connect(std::string_view address) {
  if (address.starts_with("unix://")) address.remove_prefix(7);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (address.empty() || address.size() >= sizeof sa.sun_path) {
    throw Error("ttrpc: bad socket address '" + std::string(address) + "'");
  }
  std::memcpy(sa.sun_path, address.data(), address.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("ttrpc: socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    throw_errno("ttrpc: connect " + std::string(address));
  }
  return Client(std::move(fd));
}

std::string Client::call(const std::string& service, const std::string& method,
                         const std::string& payload, std::chrono::milliseconds timeout) {
  timeval tv{.tv_sec = static_cast<time_t>(timeout.count() / 1000),
             .tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  kvrun::ttrpc::Request request;
  request.set_service(service);
  request.set_method(method);
  request.set_payload(payload);
  request.set_timeout_nano(std::chrono::nanoseconds(timeout).count());
  std::uint32_t stream = next_stream_;
  next_stream_ += 2;
  write_frame(fd_.get(), stream, MessageType::kRequest, request.SerializeAsString());

  auto frame = read_frame(fd_.get());
  if (!frame) throw Error("ttrpc: " + service + "/" + method + ": connection closed");
  if (frame->type != MessageType::kResponse || frame->stream_id != stream) {
    throw Error("ttrpc: " + service + "/" + method + ": reply for another stream");
  }
  kvrun::ttrpc::Response response;
  if (!response.ParseFromString(frame->payload)) {
    throw Error("ttrpc: " + service + "/" + method + ": undecodable reply");
  }
  if (response.status().code() != 0) {
    throw RpcError(static_cast<Code>(response.status().code()),
                   service + "/" + method + ": " + response.status().message());
  }
  return response.payload();
}

}  // namespace kvrun::containerd::ttrpc
