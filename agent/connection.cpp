#include "agent/connection.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <variant>

#include "common/error.h"
#include "protocol/agent_error.h"

namespace kvrun::agent {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
// How long DestroySandbox waits for its client to close before the agent ends regardless.
constexpr int kEndGraceSeconds = 2;

}  // namespace

Connection::Connection(EventLoop& loop, Engine& engine, UniqueFd fd, ClosedCallback on_closed)
    : loop_(loop), engine_(engine), fd_(std::move(fd)), on_closed_(std::move(on_closed)) {}

void Connection::start() {
  std::weak_ptr<Connection> weak = weak_from_this();
  watch_ = loop_.watch(fd_.get(), EPOLLIN, [weak](std::uint32_t events) {
    if (auto self = weak.lock()) self->on_events(events);
  });
}

void Connection::on_events(std::uint32_t events) {
  auto keep_alive = shared_from_this();  // close() drops the server's reference
  if (events & EPOLLOUT) flush();
  if (fd_.valid() && !closing_ && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) read_some();
}

void Connection::read_some() {
  char buffer[kReadChunk];
  ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    spdlog::debug("control connection: {}", std::strerror(errno));
    close();
    return;
  }
  if (n == 0) {
    close();
    return;
  }
  try {
    decoder_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
  } catch (const Error& e) {
    // The length cannot be trusted, so the stream cannot be resynchronised.
    spdlog::warn("control connection: {}; closing it", e.what());
    closing_ = true;
    send(protocol::encode_error(0, ErrorCode::kInvalidArgument, e.what()));
    return;
  }
  while (fd_.valid() && !closing_) {
    auto frame = decoder_.next();
    if (!frame) break;
    handle_frame(*frame);
  }
}

void Connection::handle_frame(const std::string& frame) {
  protocol::Request request;
  try {
    request = protocol::decode_request(frame);
  } catch (const protocol::RequestError& e) {
    spdlog::warn("rejected request {}: {}", e.id(), e.what());
    first_message_ = false;
    send(protocol::encode_error(e.id(), ErrorCode::kInvalidArgument, e.what()));
    return;
  }
  if (const auto* attach_request = std::get_if<protocol::AttachStdio>(&request.body)) {
    attach(request, *attach_request);
    return;
  }
  first_message_ = false;
  dispatch(request);
}

void Connection::dispatch(const protocol::Request& request) {
  std::uint64_t id = request.id;
  spdlog::debug("request {} {}", id, protocol::type_name(request.body));
  try {
    nlohmann::json body = std::visit(
        [&](const auto& m) -> nlohmann::json {
          using T = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<T, protocol::Ping>) {
            return {{"version", protocol::kProtocolVersion}};
          } else if constexpr (std::is_same_v<T, protocol::CreateContainer>) {
            return engine_.create(m);
          } else if constexpr (std::is_same_v<T, protocol::StartContainer>) {
            std::weak_ptr<Connection> weak = weak_from_this();
            engine_.start(
                m, [weak, id, type = protocol::type_name(request.body)](std::exception_ptr error) {
                  auto self = weak.lock();
                  if (!self) return;
                  if (!error) {
                    self->send(protocol::encode_ok(id));
                    return;
                  }
                  try {
                    std::rethrow_exception(error);
                  } catch (const std::exception& e) {
                    self->send_failure(id, type, e);
                  }
                });
            return nullptr;  // replied by the callback, once the init has exec'd
          } else if constexpr (std::is_same_v<T, protocol::ExecProcess>) {
            return engine_.exec(m);
          } else if constexpr (std::is_same_v<T, protocol::SignalProcess>) {
            return engine_.signal(m);
          } else if constexpr (std::is_same_v<T, protocol::RemoveContainer>) {
            return engine_.remove(m);
          } else if constexpr (std::is_same_v<T, protocol::WaitProcess>) {
            std::weak_ptr<Connection> weak = weak_from_this();
            engine_.wait(m, [weak, id](int status) {
              if (auto self = weak.lock()) {
                self->send(protocol::encode_ok(id, {{"exit_status", status}}));
              }
            });
            return nullptr;  // replied by the callback, now or later
          } else if constexpr (std::is_same_v<T, protocol::GetOomEvent>) {
            std::weak_ptr<Connection> weak = weak_from_this();
            engine_.wait_oom([weak, id](const std::string& container_id) {
              auto self = weak.lock();
              if (!self || !self->fd_.valid()) return false;
              self->send(protocol::encode_ok(id, {{"container_id", container_id}}));
              return true;
            });
            return nullptr;
          } else if constexpr (std::is_same_v<T, protocol::PauseContainer>) {
            return engine_.pause(m);
          } else if constexpr (std::is_same_v<T, protocol::ResumeContainer>) {
            return engine_.resume(m);
          } else if constexpr (std::is_same_v<T, protocol::StatsContainer>) {
            return engine_.stats(m);
          } else if constexpr (std::is_same_v<T, protocol::ResizePty>) {
            return engine_.resize(m);
          } else if constexpr (std::is_same_v<T, protocol::UpdateContainer>) {
            return engine_.update(m);
          } else if constexpr (std::is_same_v<T, protocol::CreateSandbox>) {
            return engine_.create_sandbox(m);
          } else if constexpr (std::is_same_v<T, protocol::ConfigureNetwork>) {
            return engine_.configure_network(m);
          } else if constexpr (std::is_same_v<T, protocol::ListProcesses>) {
            return engine_.list_processes(m);
          } else if constexpr (std::is_same_v<T, protocol::DestroySandbox>) {
            nlohmann::json reply = engine_.destroy_sandbox();
            ends_agent_ = true;
            return reply;
          } else {
            throw protocol::AgentError(
                ErrorCode::kFailedPrecondition,
                "AttachStdio must be the first message on its own connection");
          }
        },
        request.body);
    if (!body.is_null()) send(protocol::encode_ok(id, body));
    if (ends_agent_ && !end_timer_) end_agent_when_done();
  } catch (const std::exception& e) {
    send_failure(id, protocol::type_name(request.body), e);
  }
}

void Connection::send_failure(std::uint64_t id, std::string_view type, const std::exception& e) {
  // The one place a failed request becomes a reply, now or later (StartContainer): AgentErrors
  // carry their code, the rest (a system call that failed, a bug) are internal.
  spdlog::warn("request {} {} failed: {}", id, type, e.what());
  send(protocol::encode_error(id, code_of(e), e.what()));
}

void Connection::attach(const protocol::Request& request, const protocol::AttachStdio& attach) {
  try {
    if (!first_message_) {
      throw protocol::AgentError(ErrorCode::kFailedPrecondition,
                                 "AttachStdio must be the first message on its own connection");
    }
    if (!decoder_.idle()) {
      throw protocol::AgentError(ErrorCode::kInvalidArgument,
                                 "AttachStdio: data sent before the reply");
    }
    engine_.check_attach(attach);
  } catch (const std::exception& e) {
    first_message_ = false;
    send(protocol::encode_error(request.id, code_of(e), e.what()));
    return;
  }
  // Nothing else was ever sent on this connection, so the short reply fits the empty socket
  // buffer and can be written synchronously before the raw stream begins.
  std::string frame = protocol::encode_frame(protocol::encode_ok(request.id));
  ssize_t n = ::send(fd_.get(), frame.data(), frame.size(), MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(frame.size())) {
    spdlog::warn("AttachStdio: could not acknowledge; closing");
    close();
    return;
  }
  watch_.reset();
  try {
    engine_.attach(attach, std::move(fd_));
  } catch (const std::exception& e) {
    spdlog::warn("AttachStdio: {}", e.what());  // the stream socket was closed with the relay
  }
  on_closed_(this);
}

void Connection::send(std::string reply) {
  if (!fd_.valid()) return;
  output_ += protocol::encode_frame(reply);
  flush();
}

void Connection::flush() {
  while (!output_.empty()) {
    ssize_t n = ::send(fd_.get(), output_.data(), output_.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      spdlog::debug("control connection: {}", std::strerror(errno));
      close();
      return;
    }
    output_.erase(0, static_cast<std::size_t>(n));
  }
  if (output_.empty() && closing_) {
    close();
    return;
  }
  update_events();
}

void Connection::update_events() {
  std::uint32_t events = output_.empty() ? 0u : static_cast<std::uint32_t>(EPOLLOUT);
  if (!closing_) events |= EPOLLIN;
  watch_.set_events(events);
}

void Connection::close() {
  if (!fd_.valid()) return;
  watch_.reset();
  fd_.reset();
  if (ends_agent_) loop_.stop();
  on_closed_(this);
}

void Connection::end_agent_when_done() {
  if (!fd_.valid()) {
    loop_.stop();
    return;
  }
  end_timer_ = UniqueFd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  itimerspec grace{};
  grace.it_value.tv_sec = kEndGraceSeconds;
  if (!end_timer_ || ::timerfd_settime(end_timer_.get(), 0, &grace, nullptr) != 0) {
    loop_.stop();  // no timer: end now rather than maybe never
    return;
  }
  end_timer_watch_ = loop_.watch(end_timer_.get(), EPOLLIN, [this](std::uint32_t) {
    spdlog::info("DestroySandbox: the client kept its connection open; ending anyway");
    loop_.stop();
  });
}

}  // namespace kvrun::agent
