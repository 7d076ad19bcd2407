# Enforces the dependency rule of ARCHITECTURE.md on every project include:
#   messages <- config <- runtime <- {actors, cluster} <- tools
# and: a folder under actors/ never includes another actor folder.
# Usage: cmake -DROOT=<repo> -DSTAMP=<file> -P check_layering.cmake

set(allowed_messages "messages")
set(allowed_config "messages;config")
set(allowed_runtime "messages;config;runtime")
set(allowed_cluster "messages;config;runtime;cluster")
set(allowed_actors "messages;config;runtime")

set(violations "")
foreach(layer messages config runtime cluster actors)
  file(GLOB_RECURSE files "${ROOT}/${layer}/*.hpp" "${ROOT}/${layer}/*.cpp")
  foreach(f ${files})
    file(RELATIVE_PATH rel "${ROOT}" "${f}")
    set(allowed ${allowed_${layer}})
    if(layer STREQUAL "actors")
      # actors/<kind>/... may include its own folder only.
      string(REGEX MATCH "^actors/[^/]+" own "${rel}")
      list(APPEND allowed "${own}")
    endif()
    file(STRINGS "${f}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(inc ${includes})
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*" "\\1"
                           path "${inc}")
      string(REGEX MATCH "^(messages|config|runtime|actors/[^/]+|cluster|tools)"
                   target_layer "${path}")
      if(NOT target_layer)
        continue() # a local or third-party header
      endif()
      set(ok FALSE)
      foreach(a ${allowed})
        if(target_layer STREQUAL a OR (a STREQUAL target_layer))
          set(ok TRUE)
        endif()
      endforeach()
      if(NOT ok)
        string(APPEND violations "  ${rel} includes \"${path}\"\n")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  file(REMOVE "${STAMP}")
  message(FATAL_ERROR
          "dependency rule broken (messages <- config <- runtime <- "
          "{actors, cluster} <- tools; actor folders never include each "
          "other):\n${violations}")
endif()
file(TOUCH "${STAMP}")
