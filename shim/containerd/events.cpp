#include "shim/containerd/events.h"

#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"

namespace kvrun::containerd {
namespace {
constexpr int kAttempts = 5;  // as containerd's own shims: then the event is dropped
constexpr std::size_t kMaxQueued = 2048;
}  // namespace

EventPublisher::EventPublisher(std::string ttrpc_address, std::string ns)
    : address_(std::move(ttrpc_address)), namespace_(std::move(ns)) {
  thread_ = std::thread([this] { loop(); });
}

EventPublisher::~EventPublisher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void EventPublisher::publish(const std::string& topic, const google::protobuf::Message& event) {
  ::containerd::services::events::ttrpc::v1::ForwardRequest request;
  auto* envelope = request.mutable_envelope();
  *envelope->mutable_timestamp() = google::protobuf::util::TimeUtil::GetCurrentTime();
  envelope->set_namespace_(namespace_);
  envelope->set_topic(topic);
  // containerd resolves the Any by the bare message name (typeurl), without a URL prefix.
  envelope->mutable_event()->set_type_url(event.GetTypeName());
  envelope->mutable_event()->set_value(event.SerializeAsString());
  std::lock_guard lock(mutex_);
  if (queue_.size() >= kMaxQueued) {
    spdlog::error("event queue full, dropping {}", queue_.front().topic);
    queue_.pop_front();
  }
  queue_.push_back({topic, request.SerializeAsString()});
  changed_.notify_all();
}

void EventPublisher::loop() {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    for (int attempt = 1; !forward(item); ++attempt) {
      if (attempt == kAttempts) {
        spdlog::error("event {} dropped after {} attempts", item.topic, kAttempts);
        break;
      }
      std::unique_lock lock(mutex_);
      if (stopping_) break;
      changed_.wait_for(lock, std::chrono::seconds(attempt), [this] { return stopping_; });
    }
  }
}

bool EventPublisher::forward(const Item& item) {
  if (address_.empty()) {
    spdlog::debug("no TTRPC_ADDRESS: event {} not sent", item.topic);
    return true;
  }
  try {
    if (!client_) client_.emplace(ttrpc::Client::connect(address_));
    client_->call("containerd.services.events.ttrpc.v1.Events", "Forward", item.forward_request,
                  std::chrono::seconds(5));
    spdlog::debug("event {} sent", item.topic);
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("event {}: {}", item.topic, e.what());
    client_.reset();  // reconnect on the next attempt
    return false;
  }
}

}  // namespace kvrun::containerd
