# tickflow_add_plugin(NAME SOURCES...)
# Builds an EP plugin: a shared library loadable with `tickflow run --plugin PATH`.
# It compiles as C++20 against tickflow's public headers and exports only its entry point.
function(tickflow_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  if(TARGET tickflow::engine)
    target_link_libraries(${name} PRIVATE tickflow::engine)
  else()
    target_link_libraries(${name} PRIVATE tickflow_engine)  # inside tickflow's own build
  endif()
  target_compile_features(${name} PRIVATE cxx_std_20)
  set_target_properties(${name} PROPERTIES PREFIX "lib" CXX_VISIBILITY_PRESET hidden
                                           VISIBILITY_INLINES_HIDDEN ON)
endfunction()
