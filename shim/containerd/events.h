// Task events for containerd: each is wrapped in an Envelope (timestamp, namespace, topic, the
// event as an Any named by its protobuf type) and forwarded over ttrpc to TTRPC_ADDRESS
// (containerd.services.events.ttrpc.v1.Events/Forward), in order, from one thread, so a slow
// containerd never blocks the Task service.
#pragma once

#include <google/protobuf/message.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "shim/containerd/ttrpc/client.h"

namespace kvrun::containerd {

class EventPublisher {
 public:
  // An empty address drops events (with a debug line): nobody listens.
  EventPublisher(std::string ttrpc_address, std::string ns);
  ~EventPublisher();  // sends what is queued (bounded by a short timeout), then stops
  EventPublisher(const EventPublisher&) = delete;
  EventPublisher& operator=(const EventPublisher&) = delete;

  // topic: "/tasks/create", "/tasks/exit", ...
  void publish(const std::string& topic, const google::protobuf::Message& event);

 private:
  struct Item {
    std::string topic;
    std::string forward_request;  // encoded ForwardRequest
  };
  void loop();
  bool forward(const Item& item);

  std::string address_;
  std::string namespace_;
  std::optional<ttrpc::Client> client_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace kvrun::containerd
