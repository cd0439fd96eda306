# Per-target build settings: C11, warnings, sanitizers. Applied by function so
# CMake's own feature checks never see -Werror.
function(hsdo_target_setup tgt)
	get_target_property(type ${tgt} TYPE)
	if(NOT type STREQUAL "INTERFACE_LIBRARY")
		set_target_properties(${tgt} PROPERTIES
			C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
	endif()
	if(type STREQUAL "OBJECT_LIBRARY" OR type STREQUAL "EXECUTABLE"
	   OR type STREQUAL "STATIC_LIBRARY" OR type STREQUAL "SHARED_LIBRARY")
		target_compile_definitions(${tgt} PRIVATE _DEFAULT_SOURCE)
		target_compile_options(${tgt} PRIVATE
			-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
			-Wformat=2 -Wvla -Wpointer-arith -Wcast-qual -Wundef)
		if(HSDO_WERROR)
			target_compile_options(${tgt} PRIVATE -Werror)
		endif()
		if(HSDO_SANITIZE)
			target_compile_options(${tgt} PRIVATE
				-fsanitize=${HSDO_SANITIZE} -fno-sanitize-recover=all
				-fno-omit-frame-pointer)
			target_link_options(${tgt} PRIVATE -fsanitize=${HSDO_SANITIZE})
		endif()
	endif()
endfunction()
