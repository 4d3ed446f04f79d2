# More than one label on discovered gtest tests.
#
# gtest_discover_tests(... PROPERTIES LABELS "unit;hostile") does not work with CMake 3.25:
# the discovery script flattens the list into separate arguments of set_tests_properties, and
# the tests end up labelled "unit" only (ctest -L hostile finds none). Instead:
#
#   include(${PROJECT_SOURCE_DIR}/tests/labels.cmake)
#   gtest_discover_tests(my_tests TEST_FILTER "Hostile*" TEST_LIST my_hostile_tests
#                        PROPERTIES LABELS unit)
#   kvrun_label_tests(my_hostile_tests unit hostile)
#
# kvrun_label_tests writes a ctest include file, run after the discovery's own, that sets the
# whole label list on the tests discovery put in TEST_LIST (a name unique in the directory).
function(kvrun_label_tests test_list)
  set(file ${CMAKE_CURRENT_BINARY_DIR}/${test_list}_labels.cmake)
  file(WRITE ${file}
       "if(${test_list})\n"
       "  set_tests_properties(\${${test_list}} PROPERTIES LABELS \"${ARGN}\")\n"
       "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${file})
endfunction()
