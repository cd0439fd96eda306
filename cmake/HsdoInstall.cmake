# What `cmake --install` puts where (docs/install.md). Directories come from
# HsdoInstallDirs.cmake; everything under the prefix is installed relative
# to it, so the tree can be installed at another prefix or moved.
include(CMakePackageConfigHelpers)
set(HSDO_AGENT_BIN "${CMAKE_INSTALL_FULL_BINDIR}/hsdo-agent")

# ---- the man page ---------------------------------------------------------------
if(HSDO_BUILD_MAN)
	if(NOT HSDO_SCDOC)
		message(FATAL_ERROR "HSDO_BUILD_MAN needs scdoc (apt install scdoc), or -DHSDO_BUILD_MAN=OFF")
	endif()
	set(hsdo_man_src ${PROJECT_SOURCE_DIR}/man/hsdo-agent.8.scd)
	set(hsdo_man ${PROJECT_BINARY_DIR}/man/hsdo-agent.8)
	add_custom_command(OUTPUT ${hsdo_man}
		COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
		COMMAND sh -c "exec \"$0\" <\"$1\" >\"$2\"" ${HSDO_SCDOC} ${hsdo_man_src} ${hsdo_man}
		DEPENDS ${hsdo_man_src}
		COMMENT "scdoc hsdo-agent.8" VERBATIM)
	add_custom_target(hsdo_man ALL DEPENDS ${hsdo_man})
	install(FILES ${hsdo_man} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
endif()

# ---- systemd units and the hsdo user --------------------------------------------
foreach(unit hsdo-client.service hsdo-server.service)
	configure_file(${PROJECT_SOURCE_DIR}/systemd/${unit}.in
		${PROJECT_BINARY_DIR}/systemd/${unit} @ONLY)
endforeach()
if(HSDO_INSTALL_SYSTEMD)
	install(FILES ${PROJECT_BINARY_DIR}/systemd/hsdo-client.service
		${PROJECT_BINARY_DIR}/systemd/hsdo-server.service
		DESTINATION ${HSDO_SYSTEMD_UNITDIR})
	install(FILES ${PROJECT_SOURCE_DIR}/systemd/hsdo.sysusers
		DESTINATION ${HSDO_SYSUSERSDIR} RENAME hsdo.conf)
endif()

# ---- libraries, headers, pkg-config, CMake package -----------------------------
install(TARGETS hsdo EXPORT hsdo-targets
	LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
	INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS hsdo_static ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/hsdo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# libhsdo.pc: absolute paths for a system prefix, else relative to the .pc
# file itself (${pcfiledir}), like the agent's $ORIGIN RUNPATH.
if(HSDO_AGENT_RUNPATH STREQUAL "")
	set(HSDO_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
	file(RELATIVE_PATH hsdo_pc_up "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
	set(HSDO_PC_PREFIX "\${pcfiledir}/${hsdo_pc_up}")
endif()
hsdo_install_dest(HSDO_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
hsdo_install_dest(HSDO_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
foreach(v HSDO_PC_LIBDIR HSDO_PC_INCLUDEDIR)
	if(NOT IS_ABSOLUTE "${${v}}")
		set(${v} "\${prefix}/${${v}}")
	endif()
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/libhsdo.pc.in ${PROJECT_BINARY_DIR}/libhsdo.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/libhsdo.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# find_package(hsdo) gives hsdo::hsdo, the shared library (for the static
# one, pkg-config --static libhsdo lists what it needs).
set(hsdo_cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/hsdo)
install(EXPORT hsdo-targets NAMESPACE hsdo:: DESTINATION ${hsdo_cmakedir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hsdo-config.cmake.in
	${PROJECT_BINARY_DIR}/hsdo-config.cmake INSTALL_DESTINATION ${hsdo_cmakedir})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hsdo-config-version.cmake
	COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hsdo-config.cmake
	${PROJECT_BINARY_DIR}/hsdo-config-version.cmake DESTINATION ${hsdo_cmakedir})

# ---- the agent, its configuration, examples and documents ---------------------
install(TARGETS hsdo-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES conf/env.yaml DESTINATION ${HSDO_CONFDIR_DEST})
install(DIRECTORY spoe/ DESTINATION ${CMAKE_INSTALL_DATADIR}/hsdo/spoe PATTERN .keep EXCLUDE)
install(DIRECTORY haproxy-examples/ DESTINATION ${CMAKE_INSTALL_DATADIR}/hsdo/haproxy-examples)
install(DIRECTORY monitoring/ DESTINATION ${CMAKE_INSTALL_DATADIR}/hsdo/monitoring)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES README.md CHANGELOG.md LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
