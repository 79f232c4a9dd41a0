# One INTERFACE target carries the warning flags (and sanitizers) for every drosera target.
add_library(drosera_warnings INTERFACE)
target_compile_options(drosera_warnings INTERFACE -Wall -Wextra -Werror -Wno-missing-field-initializers)
if(DROSERA_SANITIZE)
  target_compile_options(drosera_warnings INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(drosera_warnings INTERFACE -fsanitize=address,undefined)
endif()
