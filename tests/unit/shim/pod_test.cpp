#include "shim/oci/pod.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace kvrun::oci {
namespace {

using Annotations = std::map<std::string, std::string>;

std::string error_of(const Annotations& annotations, const std::string& id) {
  try {
    pod_placement(annotations, id);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PodPlacementTest, NoAnnotationsIsStandalone) {
  PodPlacement placement = pod_placement({{"org.example", "x"}}, "c1");
  EXPECT_EQ(placement.role, PodRole::kStandalone);
  EXPECT_EQ(placement.sandbox_id, "");
}

TEST(PodPlacementTest, ContainerdSandboxNamesItself) {
  PodPlacement placement = pod_placement(
      {{"io.kubernetes.cri.container-type", "sandbox"}, {"io.kubernetes.cri.sandbox-id", "pod1"}},
      "pod1");
  EXPECT_EQ(placement.role, PodRole::kSandbox);
  EXPECT_EQ(placement.sandbox_id, "pod1");
}

TEST(PodPlacementTest, ContainerdMemberNamesItsSandbox) {
  PodPlacement placement = pod_placement(
      {{"io.kubernetes.cri.container-type", "container"}, {"io.kubernetes.cri.sandbox-id", "pod1"}},
      "app");
  EXPECT_EQ(placement.role, PodRole::kMember);
  EXPECT_EQ(placement.sandbox_id, "pod1");
}

TEST(PodPlacementTest, CriOConventionToo) {
  PodPlacement placement = pod_placement({{"io.kubernetes.cri-o.ContainerType", "container"},
                                          {"io.kubernetes.cri-o.SandboxID", "pod2"}},
                                         "app");
  EXPECT_EQ(placement.role, PodRole::kMember);
  EXPECT_EQ(placement.sandbox_id, "pod2");
}

TEST(PodPlacementTest, BadInputIsOneClearLine) {
  EXPECT_EQ(error_of({{"io.kubernetes.cri.container-type", "pod"}}, "c"),
            "config.json: annotations.io.kubernetes.cri.container-type: must be \"sandbox\" or "
            "\"container\", not \"pod\"");
  EXPECT_EQ(error_of({{"io.kubernetes.cri.container-type", "container"}}, "c"),
            "config.json: annotations.io.kubernetes.cri.sandbox-id: required for a container of "
            "a pod");
  EXPECT_EQ(error_of({{"io.kubernetes.cri.container-type", "container"},
                      {"io.kubernetes.cri.sandbox-id", "c"}},
                     "c"),
            "config.json: annotations.io.kubernetes.cri.sandbox-id: a container of a pod cannot "
            "be its own sandbox");
  EXPECT_NE(error_of({{"io.kubernetes.cri.container-type", "container"},
                      {"io.kubernetes.cri.sandbox-id", "../x"}},
                     "c"),
            "");
  EXPECT_NE(error_of({{"io.kubernetes.cri.container-type", "sandbox"},
                      {"io.kubernetes.cri.sandbox-id", "other"}},
                     "c"),
            "");
  EXPECT_NE(error_of({{"io.kubernetes.cri.container-type", "container"},
                      {"io.kubernetes.cri.sandbox-id", "pod1"},
                      {"io.kubernetes.cri-o.ContainerType", "container"},
                      {"io.kubernetes.cri-o.SandboxID", "pod2"}},
                     "c"),
            "");
}

}  // namespace
}  // namespace kvrun::oci
