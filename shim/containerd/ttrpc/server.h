// A ttrpc server on a listening Unix socket: one reader thread per connection, one thread per
// request (containerd keeps a Wait outstanding while it sends Kill on the same connection), and
// replies written whole under the connection's lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "common/unique_fd.h"
#include "shim/containerd/ttrpc/status.h"

namespace kvrun::containerd::ttrpc {

// Request payload in, reply payload out. Throws RpcError for a specific status, any other
// exception becomes Unknown with its message.
using Method = std::function<std::string(std::string_view payload)>;

class Registry {
 public:
  void add(const std::string& service, const std::string& method, Method handler);
  // Encoded ttrpc Request in, encoded ttrpc Response out; never throws for bad input (an
  // undecodable request or an unknown method is answered with an error status).
  std::string dispatch(std::string_view request) const;

 private:
  std::map<std::pair<std::string, std::string>, Method> methods_;
};

class Server {
 public:
  // registry must outlive the server.
  Server(UniqueFd listener, const Registry& registry);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Accepts and serves connections until stop(); then waits up to a second for requests in
  // flight (a Shutdown reply) to be written.
  void serve();
  // Any thread, any time.
  void stop();

 private:
  void serve_connection(UniqueFd connection);

  UniqueFd listener_;
  UniqueFd stop_event_;
  const Registry& registry_;
  std::mutex mutex_;
  std::condition_variable idle_;
  int in_flight_ = 0;
};

}  // namespace kvrun::containerd::ttrpc
