#include "shim/host_cgroup/cgroups_path.h"

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"

namespace kvrun::host_cgroup {
namespace {

CgroupPath parse(std::string_view text) { return parse_cgroups_path(text, "kvrun-0/c1"); }

std::string refusal(std::string_view text) {
  try {
    auto path = parse(text);
    return "accepted as " + path.path;
  } catch (const Error& e) {
    return e.what();
  }
}

TEST(CgroupsPath, AbsoluteIsFromTheHierarchysRoot) {
  auto p = parse("/libpod_parent/libpod-abc");
  EXPECT_TRUE(p.absolute);
  EXPECT_EQ(p.path, "libpod_parent/libpod-abc");
  EXPECT_EQ(parse("/k8s.io/0123").path, "k8s.io/0123");
}

TEST(CgroupsPath, RelativeIsFromKvrunsOwnCgroup) {
  auto p = parse("default/c1");
  EXPECT_FALSE(p.absolute);
  EXPECT_EQ(p.path, "default/c1");
}

TEST(CgroupsPath, EmptyAndDotComponentsCollapse) {
  EXPECT_EQ(parse("//a///b/./c/").path, "a/b/c");
  EXPECT_EQ(parse("./a").path, "a");
}

TEST(CgroupsPath, EmptyMeansKvrunsDefault) {
  auto p = parse("");
  EXPECT_FALSE(p.absolute);
  EXPECT_EQ(p.path, "kvrun-0/c1");
}

TEST(CgroupsPath, DefaultLeafDependsOnTheStateRootOnly) {
  EXPECT_EQ(default_leaf("/run/kvrun", "c1"), default_leaf("/run/kvrun", "c1"));
  EXPECT_NE(default_leaf("/run/kvrun", "c1"), default_leaf("/tmp/other", "c1"));
  EXPECT_EQ(default_leaf("/run/kvrun", "c1").rfind("kvrun-", 0), 0u);
  EXPECT_EQ(default_leaf("/run/kvrun", "c1").size(), std::string("kvrun-12345678/c1").size());
}

TEST(CgroupsPath, SystemdFormMapsToTheScopeSystemdWouldMake) {
  auto p = parse("machine.slice:libpod:abc");
  EXPECT_TRUE(p.absolute);
  EXPECT_EQ(p.path, "machine.slice/libpod-abc.scope");
  EXPECT_EQ(parse("kubepods-besteffort-pod12.slice:cri-containerd:abc").path,
            "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/"
            "cri-containerd-abc.scope");
  EXPECT_EQ(parse(":docker:abc").path, "system.slice/docker-abc.scope");
  EXPECT_EQ(parse("-.slice:x:abc").path, "x-abc.scope");
  EXPECT_EQ(parse("system.slice::abc").path, "system.slice/abc.scope");
  EXPECT_EQ(parse("user.slice:x:sub.slice").path, "user.slice/sub.slice");
}

TEST(CgroupsPathHostile, DotDotIsRefusedNotCleanedIntoAnotherCgroup) {
  for (const char* text : {"..", "../../", "../../etc", "/a/../../b", "a/..", "/..", "a/b/../c"})
    EXPECT_NE(refusal(text).find("\"..\" is not allowed"), std::string::npos) << text;
}

TEST(CgroupsPathHostile, RootAndOwnCgroupAreRefused) {
  EXPECT_NE(refusal("/").find("the hierarchy's root"), std::string::npos);
  EXPECT_NE(refusal("///./").find("the hierarchy's root"), std::string::npos);
  EXPECT_NE(refusal(".").find("kvrun's own cgroup"), std::string::npos);
}

TEST(CgroupsPathHostile, ControlCharactersAreRefused) {
  using namespace std::string_literals;
  for (const std::string& text : {"/a\0b"s, "/a\nb"s, "a\tb"s, "/a\x7f"s, "x.slice:p:\nid"s})
    EXPECT_NE(refusal(text).find("control character"), std::string::npos);
}

TEST(CgroupsPathHostile, AbsurdLengthsAreRefusedWithOneLine) {
  std::string message = refusal("/" + std::string(1 << 20, 'a'));
  EXPECT_EQ(message, "linux.cgroupsPath: longer than 4096 bytes");
  EXPECT_NE(refusal("/" + std::string(256, 'a')).find("longer than 255 bytes"), std::string::npos);
  EXPECT_EQ(parse("/" + std::string(255, 'a')).path, std::string(255, 'a'));
}

TEST(CgroupsPathHostile, MalformedSystemdFormsAreRefused) {
  EXPECT_NE(refusal("a:b").find("slice:prefix:name"), std::string::npos);
  EXPECT_NE(refusal("a.slice:b:c:d").find("slice:prefix:name"), std::string::npos);
  EXPECT_NE(refusal("machine:p:id").find("does not end in .slice"), std::string::npos);
  EXPECT_NE(refusal(".slice:p:id").find("does not end in .slice"), std::string::npos);
  EXPECT_NE(refusal("a--b.slice:p:id").find("empty '-' component"), std::string::npos);
  EXPECT_NE(refusal("-a.slice:p:id").find("empty '-' component"), std::string::npos);
  EXPECT_NE(refusal("a/b.slice:p:id").find("contains '/'"), std::string::npos);
  EXPECT_NE(refusal("a.slice:p/../..:id").find("contains '/'"), std::string::npos);
  EXPECT_NE(refusal("a.slice:p:../x").find("contains '/'"), std::string::npos);
  EXPECT_NE(refusal("a.slice:p:").find("empty name"), std::string::npos);
}

TEST(CgroupsPathHostile, EveryRefusalIsOneLineNamingTheField) {
  using namespace std::string_literals;
  for (const std::string& text :
       {"../x"s, "/"s, "a\nb"s, std::string(5000, '/'), "a:b"s, "a.slice:p:"s}) {
    std::string message = refusal(text);
    EXPECT_EQ(message.rfind("linux.cgroupsPath: ", 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace kvrun::host_cgroup
