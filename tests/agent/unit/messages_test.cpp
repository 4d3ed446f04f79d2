#include "protocol/messages.h"

#include <gtest/gtest.h>

namespace kvrun::protocol {
namespace {

std::string request(const std::string& type, const nlohmann::json& body, std::uint64_t id = 7) {
  return nlohmann::json{{"version", kProtocolVersion}, {"id", id}, {"type", type}, {"body", body}}
      .dump();
}

// The error a request decodes to, or "" if it decodes.
std::string decode_error(const std::string& text) {
  try {
    decode_request(text);
    return "";
  } catch (const RequestError& e) {
    return e.what();
  }
}

TEST(Messages, DecodesEveryRequestType) {
  auto create = decode_request(
      request("CreateContainer",
              {{"container_id", "c1"}, {"config", {{"process", {}}}}, {"rootfs", "/r"}}));
  EXPECT_EQ(create.id, 7u);
  const auto& c = std::get<CreateContainer>(create.body);
  EXPECT_EQ(c.container_id, "c1");
  EXPECT_EQ(c.rootfs, "/r");
  EXPECT_FALSE(c.stdin);

  EXPECT_TRUE(
      std::holds_alternative<Ping>(decode_request(request("Ping", nlohmann::json::object())).body));
  auto signal = std::get<SignalProcess>(
      decode_request(request("SignalProcess", {{"container_id", "c1"}, {"signal", 9}})).body);
  EXPECT_EQ(signal.exec_id, "");
  EXPECT_EQ(signal.signal, 9);
  auto attach = std::get<AttachStdio>(
      decode_request(
          request("AttachStdio", {{"container_id", "c1"}, {"exec_id", "e1"}, {"stream", "stderr"}}))
          .body);
  EXPECT_EQ(attach.stream, StdioStream::kStderr);
  auto exec = std::get<ExecProcess>(
      decode_request(
          request("ExecProcess",
                  {{"container_id", "c1"}, {"exec_id", "e1"}, {"process", {{"args", {"ls"}}}}}))
          .body);
  EXPECT_EQ(exec.process["args"][0], "ls");
}

TEST(Messages, EncodeDecodeRoundTrip) {
  Request r{42, RemoveContainer{"abc", true}};
  auto back = decode_request(encode_request(r));
  EXPECT_EQ(back.id, 42u);
  EXPECT_TRUE(std::get<RemoveContainer>(back.body).force);
}

TEST(Messages, MalformedJsonIsAnErrorWithIdZero) {
  try {
    decode_request("{\"version\":1,");
    FAIL() << "no error";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.id(), 0u);
    EXPECT_STREQ(e.what(), "request: malformed JSON at byte 13");
  }
}

TEST(Messages, ErrorsKeepTheRequestId) {
  try {
    decode_request(request("Bogus", nlohmann::json::object(), 99));
    FAIL() << "no error";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.id(), 99u);
    EXPECT_STREQ(e.what(), "type: unknown request type \"Bogus\"");
  }
}

TEST(Messages, MissingFieldIsNamed) {
  EXPECT_EQ(decode_error(request("StartContainer", nlohmann::json::object())),
            "body.container_id: required field is missing");
  EXPECT_EQ(decode_error(nlohmann::json{{"version", kProtocolVersion}, {"type", "Ping"}}.dump()),
            "id: required field is missing");
}

TEST(Messages, WrongTypesAreNamed) {
  EXPECT_EQ(decode_error(request("StartContainer", {{"container_id", 5}})),
            "body.container_id: expected a string");
  EXPECT_EQ(decode_error(request("SignalProcess", {{"container_id", "c"}, {"signal", "KILL"}})),
            "body.signal: expected an integer in [1, 64]");
  EXPECT_EQ(decode_error(request("SignalProcess", {{"container_id", "c"}, {"signal", 0}})),
            "body.signal: expected an integer in [1, 64]");
  EXPECT_EQ(decode_error(request("ExecProcess",
                                 {{"container_id", "c"}, {"exec_id", "e"}, {"process", {1, 2}}})),
            "body.process: expected an object");
  EXPECT_EQ(decode_error(
                nlohmann::json{{"version", kProtocolVersion}, {"id", -1}, {"type", "Ping"}}.dump()),
            "id: expected an integer in [0, 18446744073709551615]");
  EXPECT_EQ(decode_error("[1,2]"), ": expected an object");
}

TEST(Messages, UnknownFieldsAndVersionsAreRejected) {
  EXPECT_EQ(decode_error(request("StartContainer", {{"container_id", "c"}, {"extra", 1}})),
            "body.extra: unknown field");
  EXPECT_EQ(decode_error(nlohmann::json{{"version", 1}, {"id", 1}, {"type", "Ping"}}.dump()),
            "version: unsupported protocol version 1 (this agent speaks 2)");
  EXPECT_EQ(decode_error(request("AttachStdio", {{"container_id", "c"}, {"stream", "stdlog"}})),
            "body.stream: expected one of \"stdin\", \"stdout\", \"stderr\", got \"stdlog\"");
}

TEST(Messages, CreateNeedsExactlyOneConfigSource) {
  EXPECT_EQ(decode_error(request("CreateContainer", {{"container_id", "c"}})),
            "body: exactly one of body.bundle_path and body.config is required");
  EXPECT_EQ(decode_error(request("CreateContainer", {{"container_id", "c"},
                                                     {"bundle_path", "/b"},
                                                     {"config", nlohmann::json::object()}})),
            "body: exactly one of body.bundle_path and body.config is required");
}

TEST(Messages, CreateCarriesCopiedFilesWithAnInlineConfig) {
  CreateContainer sent;
  sent.container_id = "c1";
  sent.config = nlohmann::json{{"mounts", nlohmann::json::array()}};
  sent.files = {{3, "127.0.0.1 localhost\n"}, {5, ""}};
  auto received = std::get<CreateContainer>(decode_request(encode_request({1, sent})).body);
  EXPECT_EQ(received.files, sent.files);
  EXPECT_EQ(decode_error(request("CreateContainer", {{"container_id", "c"},
                                                     {"bundle_path", "/b"},
                                                     {"files", nlohmann::json::array()}})),
            "body.files: needs body.config");
  EXPECT_EQ(
      decode_error(request("CreateContainer", {{"container_id", "c"},
                                               {"config", nlohmann::json::object()},
                                               {"files", {{{"mount", 5000}, {"content", ""}}}}})),
      "body.files[0].mount: expected an integer in [0, 1023]");
  EXPECT_EQ(decode_error(request("CreateContainer",
                                 {{"container_id", "c"},
                                  {"config", nlohmann::json::object()},
                                  {"files", {{{"mount", 1}, {"content", ""}, {"mode", 1}}}}})),
            "body.files[0].mode: unknown field");
}

TEST(Messages, IdsMustBeSafePathComponents) {
  EXPECT_EQ(decode_error(request("StartContainer", {{"container_id", "../etc"}})),
            "body.container_id: must be 1-64 characters of [A-Za-z0-9_.-] not starting with '.'");
  EXPECT_EQ(decode_error(request("StartContainer", {{"container_id", std::string(65, 'a')}})),
            "body.container_id: must be 1-64 characters of [A-Za-z0-9_.-] not starting with '.'");
  EXPECT_EQ(decode_error(request("StartContainer", {{"container_id", ""}})),
            "body.container_id: must not be empty");
}

TEST(Messages, RepliesRoundTripOnOneLine) {
  auto ok = decode_reply(encode_ok(3, {{"pid", 12}}));
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.body["pid"], 12);
  auto error = decode_reply(encode_error(4, ErrorCode::kNotFound, "first\nsecond"));
  EXPECT_FALSE(error.ok);
  EXPECT_EQ(error.id, 4u);
  EXPECT_EQ(error.code, ErrorCode::kNotFound);
  EXPECT_EQ(error.error, "first second");
}

TEST(Messages, EveryErrorCodeRoundTrips) {
  for (ErrorCode code :
       {ErrorCode::kNotFound, ErrorCode::kAlreadyExists, ErrorCode::kInvalidArgument,
        ErrorCode::kFailedPrecondition, ErrorCode::kInternal}) {
    EXPECT_EQ(decode_reply(encode_error(1, code, "e")).code, code) << to_string(code);
  }
}

// The code is the guest's too: one this build does not know is internal, none (a version 1
// agent's) as well, and one that is not a string is refused like any field of the wrong kind.
TEST(Messages, ErrorCodesFromTheGuestAreChecked) {
  auto reply = [](const nlohmann::json& j) { return decode_reply(j.dump()); };
  EXPECT_EQ(reply({{"id", 1}, {"ok", false}, {"code", "gone"}, {"error", "e"}}).code,
            ErrorCode::kInternal);
  EXPECT_EQ(reply({{"id", 1}, {"ok", false}, {"code", "NOT_FOUND"}, {"error", "e"}}).code,
            ErrorCode::kInternal);
  EXPECT_EQ(reply({{"id", 1}, {"ok", false}, {"error", "e"}}).code, ErrorCode::kInternal);
  EXPECT_THROW(reply({{"id", 1}, {"ok", false}, {"code", 5}, {"error", "e"}}), Error);
  EXPECT_THROW(reply({{"id", 1}, {"ok", false}, {"code", {"not_found"}}, {"error", "e"}}), Error);
  EXPECT_THROW(reply({{"id", 1}, {"ok", false}, {"code", "not_found"}, {"error", "e"}, {"x", 1}}),
               Error);
}

}  // namespace
}  // namespace kvrun::protocol

namespace kvrun::protocol {
namespace {

TEST(Messages, DecodesTheCgroupTerminalAndOomRequests) {
  auto pause = std::get<PauseContainer>(
      decode_request(request("PauseContainer", {{"container_id", "c1"}})).body);
  EXPECT_EQ(pause.container_id, "c1");
  EXPECT_TRUE(std::holds_alternative<ResumeContainer>(
      decode_request(request("ResumeContainer", {{"container_id", "c1"}})).body));
  EXPECT_TRUE(std::holds_alternative<StatsContainer>(
      decode_request(request("StatsContainer", {{"container_id", "c1"}})).body));
  EXPECT_TRUE(std::holds_alternative<GetOomEvent>(
      decode_request(request("GetOomEvent", nlohmann::json::object())).body));
  auto resize = std::get<ResizePty>(
      decode_request(request("ResizePty", {{"container_id", "c1"}, {"rows", 24}, {"cols", 80}}))
          .body);
  EXPECT_EQ(resize.exec_id, "");
  EXPECT_EQ(resize.rows, 24);
  EXPECT_EQ(resize.cols, 80);
  auto create = std::get<CreateContainer>(
      decode_request(
          request("CreateContainer",
                  {{"container_id", "c1"}, {"config", {{"process", {}}}}, {"overlay", true}}))
          .body);
  EXPECT_TRUE(create.overlay);
}

TEST(Messages, RejectsBadCgroupTerminalAndOomRequests) {
  EXPECT_EQ(decode_error(request("ResizePty", {{"container_id", "c1"}, {"rows", 0}, {"cols", 80}})),
            "body.rows: expected an integer in [1, 65535]");
  EXPECT_EQ(decode_error(request("ResizePty", {{"container_id", "c1"}, {"rows", 24}})),
            "body.cols: required field is missing");
  EXPECT_EQ(decode_error(request("PauseContainer", {{"container_id", "../x"}})),
            "body.container_id: must be 1-64 characters of [A-Za-z0-9_.-] not starting with '.'");
  EXPECT_EQ(decode_error(request("GetOomEvent", {{"container_id", "c1"}})),
            "body.container_id: unknown field");
  EXPECT_EQ(decode_error(request("StatsContainer", nlohmann::json::object())),
            "body.container_id: required field is missing");
  EXPECT_EQ(decode_error(request("UpdateContainer", {{"container_id", "c1"}})),
            "body.resources: required field is missing");
  EXPECT_EQ(decode_error(request("UpdateContainer", {{"container_id", "c1"}, {"resources", 5}})),
            "body.resources: expected an object");
}

TEST(Messages, NewRequestsRoundTrip) {
  for (const RequestBody& body :
       std::vector<RequestBody>{PauseContainer{"a"}, ResumeContainer{"a"}, StatsContainer{"a"},
                                GetOomEvent{}, ResizePty{"a", "e", 3, 4},
                                UpdateContainer{"a", {{"pids", {{"limit", 5}}}}}}) {
    Request decoded = decode_request(encode_request({5, body}));
    EXPECT_EQ(decoded.body.index(), body.index());
    EXPECT_EQ(type_name(decoded.body), type_name(body));
  }
}

}  // namespace
}  // namespace kvrun::protocol

namespace kvrun::protocol {
namespace {

TEST(Messages, DecodesProcessListingKillAllAndDestroy) {
  auto all = std::get<SignalProcess>(
      decode_request(
          request("SignalProcess", {{"container_id", "c1"}, {"signal", 15}, {"all", true}}))
          .body);
  EXPECT_TRUE(all.all);
  EXPECT_FALSE(
      std::get<SignalProcess>(
          decode_request(request("SignalProcess", {{"container_id", "c1"}, {"signal", 9}})).body)
          .all);
  EXPECT_EQ(std::get<ListProcesses>(
                decode_request(request("ListProcesses", {{"container_id", "c1"}})).body)
                .container_id,
            "c1");
  EXPECT_TRUE(std::holds_alternative<DestroySandbox>(
      decode_request(request("DestroySandbox", nlohmann::json::object())).body));
  // "all" is sent only when set, so an older agent still understands a plain signal.
  auto plain = nlohmann::json::parse(encode_request({1, SignalProcess{"c1", "", 9}}));
  EXPECT_FALSE(plain["body"].contains("all"));
  auto back = decode_request(encode_request({2, SignalProcess{"c1", "", 9, true}}));
  EXPECT_TRUE(std::get<SignalProcess>(back.body).all);
  EXPECT_EQ(type_name(back.body), "SignalProcess");
  EXPECT_EQ(type_name(RequestBody{ListProcesses{"c"}}), "ListProcesses");
  EXPECT_EQ(type_name(RequestBody{DestroySandbox{}}), "DestroySandbox");
}

TEST(Messages, RejectsBadProcessListingKillAllAndDestroy) {
  EXPECT_EQ(decode_error(
                request("SignalProcess", {{"container_id", "c"}, {"signal", 9}, {"all", "yes"}})),
            "body.all: expected a boolean");
  EXPECT_EQ(decode_error(
                request("SignalProcess",
                        {{"container_id", "c"}, {"exec_id", "e"}, {"signal", 9}, {"all", true}})),
            "body.all: cannot be combined with body.exec_id (it signals every process)");
  EXPECT_EQ(decode_error(request("ListProcesses", nlohmann::json::object())),
            "body.container_id: required field is missing");
  EXPECT_EQ(decode_error(request("ListProcesses", {{"container_id", "c"}, {"exec_id", "e"}})),
            "body.exec_id: unknown field");
  EXPECT_EQ(decode_error(request("DestroySandbox", {{"force", true}})),
            "body.force: unknown field");
}

}  // namespace
}  // namespace kvrun::protocol

namespace kvrun::protocol {
namespace {

TEST(Messages, DecodesAndChecksCreateSandbox) {
  auto sandbox = std::get<CreateSandbox>(
      decode_request(
          request("CreateSandbox",
                  {{"sandbox_id", "pod"}, {"hostname", "web-1"}, {"shared", {"network", "uts"}}}))
          .body);
  EXPECT_EQ(sandbox.sandbox_id, "pod");
  EXPECT_EQ(sandbox.hostname, "web-1");
  EXPECT_EQ(sandbox.shared, (std::vector<std::string>{"network", "uts"}));
  auto back = std::get<CreateSandbox>(decode_request(encode_request({1, sandbox})).body);
  EXPECT_EQ(back.shared, sandbox.shared);
  EXPECT_EQ(back.hostname, "web-1");

  CreateContainer create;
  create.container_id = "c";
  create.config = nlohmann::json::object();
  EXPECT_FALSE(nlohmann::json::parse(encode_request({1, create}))["body"].contains("sandbox"));
  create.sandbox = true;
  EXPECT_TRUE(std::get<CreateContainer>(decode_request(encode_request({1, create})).body).sandbox);

  EXPECT_EQ(decode_error(request("CreateSandbox", {{"shared", {"ipc"}}})),
            "body.sandbox_id: required field is missing");
  EXPECT_EQ(decode_error(request("CreateSandbox", {{"sandbox_id", "p"}})),
            "body.shared: required field is missing");
  EXPECT_EQ(decode_error(request("CreateSandbox", {{"sandbox_id", "p"}, {"shared", {"mount"}}})),
            "body.shared[0]: expected one of \"network\", \"ipc\", \"uts\", got \"mount\"");
  EXPECT_EQ(decode_error(
                request("CreateSandbox", {{"sandbox_id", "p"}, {"shared", {"ipc", "net", "ipc"}}})),
            "body.shared[1]: expected one of \"network\", \"ipc\", \"uts\", got \"net\"");
  EXPECT_EQ(decode_error(
                request("CreateSandbox", {{"sandbox_id", "p"}, {"shared", {"ipc", "uts", "ipc"}}})),
            "body.shared[2]: \"ipc\" listed twice");
  EXPECT_EQ(decode_error(request("CreateSandbox",
                                 {{"sandbox_id", "p"}, {"hostname", "a b"}, {"shared", {"uts"}}})),
            "body.hostname: must be 1-64 characters of [A-Za-z0-9.-]");
  EXPECT_EQ(decode_error(request(
                "CreateSandbox",
                {{"sandbox_id", "p"}, {"hostname", std::string(65, 'h')}, {"shared", {"uts"}}})),
            "body.hostname: must be 1-64 characters of [A-Za-z0-9.-]");
  EXPECT_EQ(decode_error(request("CreateSandbox",
                                 {{"sandbox_id", "p"}, {"shared", {"uts"}}, {"pid", true}})),
            "body.pid: unknown field");
  EXPECT_EQ(decode_error(request(
                "CreateContainer",
                {{"container_id", "c"}, {"config", nlohmann::json::object()}, {"sandbox", 1}})),
            "body.sandbox: expected a boolean");
}

}  // namespace
}  // namespace kvrun::protocol
