#include "shim/containerd/ttrpc/server.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <thread>

#include "kvrun/ttrpc.pb.h"
#include "shim/containerd/ttrpc/frame.h"

namespace kvrun::containerd::ttrpc {
namespace {

std::string error_response(Code code, const std::string& message) {
  kvrun::ttrpc::Response response;
  response.mutable_status()->set_code(static_cast<int>(code));
  response.mutable_status()->set_message(message);
  return response.SerializeAsString();
}

// A connection shared by its reader and the request threads writing replies to it.
struct Connection {
  UniqueFd fd;
  std::mutex write_mutex;
};

}  // namespace

void Registry::add(const std::string& service, const std::string& method, Method handler) {
  methods_[{service, method}] = std::move(handler);
}

std::string Registry::dispatch(std::string_view bytes) const {
  kvrun::ttrpc::Request request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return error_response(Code::kInvalidArgument, "ttrpc: undecodable request");
  }
  auto it = methods_.find({request.service(), request.method()});
  if (it == methods_.end()) {
    return error_response(Code::kUnimplemented,
                          request.service() + "/" + request.method() + " is not implemented");
  }
  try {
    kvrun::ttrpc::Response response;
    response.set_payload(it->second(request.payload()));
    response.mutable_status()->set_code(static_cast<int>(Code::kOk));
    return response.SerializeAsString();
  } catch (const RpcError& e) {
    return error_response(e.code(), e.what());
  } catch (const std::exception& e) {
    return error_response(Code::kUnknown, e.what());
  }
}

Server::Server(UniqueFd listener, const Registry& registry)
    : listener_(std::move(listener)),
      stop_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      registry_(registry) {
  if (!stop_event_) throw_errno("ttrpc server: eventfd");
}

void Server::stop() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_event_.get(), &one, sizeof one);
}

void Server::serve() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_event_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("ttrpc server: poll");
    }
    if (fds[1].revents != 0) break;
    UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      throw_errno("ttrpc server: accept");
    }
    std::thread([this, c = std::move(connection)]() mutable {
      serve_connection(std::move(c));
    }).detach();
  }
  std::unique_lock lock(mutex_);
  idle_.wait_for(lock, std::chrono::seconds(1), [this] { return in_flight_ == 0; });
}

void Server::serve_connection(UniqueFd fd) {
  auto connection = std::make_shared<Connection>();
  connection->fd = std::move(fd);
  try {
    while (auto frame = read_frame(connection->fd.get())) {
      if (frame->type != MessageType::kRequest) {
        throw Error("ttrpc: a client sent a response frame");
      }
      {
        std::lock_guard lock(mutex_);
        ++in_flight_;
      }
      std::thread([this, connection, stream = frame->stream_id,
                   payload = std::move(frame->payload)] {
        std::string response = registry_.dispatch(payload);
        try {
          std::lock_guard lock(connection->write_mutex);
          write_frame(connection->fd.get(), stream, MessageType::kResponse, response);
        } catch (const std::exception& e) {
          spdlog::warn("ttrpc: reply to stream {} lost: {}", stream, e.what());
        }
        std::lock_guard lock(mutex_);
        --in_flight_;
        idle_.notify_all();
      }).detach();
    }
  } catch (const std::exception& e) {
    // A malformed frame ends this connection only; the shim keeps serving others.
    spdlog::warn("{}; closing the connection", e.what());
    ::shutdown(connection->fd.get(), SHUT_RDWR);
  }
}

}  // namespace kvrun::containerd::ttrpc
