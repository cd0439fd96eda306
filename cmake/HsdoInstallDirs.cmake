# Where things are installed, decided once from GNUInstallDirs so that the
# agent, its units, its configuration and the package files agree.
#
# A directory under the prefix is installed relative to it, so
# `cmake --install --prefix OTHER` moves it; one outside the prefix
# (GNUInstallDirs' special cases: prefix /usr puts the configuration in
# /etc, /opt/P in /etc/opt/P) is absolute and staged with DESTDIR.
#
# Sets:
#   HSDO_CONFDIR           the configuration directory at the configured prefix
#   HSDO_CONFDIR_DEST      its install destination (relative when under the prefix)
#   HSDO_CONFDIR_FROM_BIN  what the agent is compiled with: HSDO_CONFDIR when
#                          absolute-only, else the path from the agent's
#                          directory (../etc/hsdo)
#   HSDO_AGENT_RUNPATH     $ORIGIN/<bindir to libdir>, empty for a libdir the
#                          dynamic linker searches anyway (/usr/lib/<triplet>)
#   HSDO_SYSTEMD_UNITDIR, HSDO_SYSUSERSDIR (cache), HSDO_INSTALL_SYSTEMD,
#   HSDO_BUILD_MAN (options)

# "dir" relative to the prefix when it is under it, else unchanged.
function(hsdo_install_dest out dir)
	string(REGEX REPLACE "/+$" "" prefix "${CMAKE_INSTALL_PREFIX}")
	string(FIND "${dir}/" "${prefix}/" pos)
	if(pos EQUAL 0 AND NOT prefix STREQUAL "")
		file(RELATIVE_PATH rel "${prefix}" "${dir}")
		set(${out} "${rel}" PARENT_SCOPE)
	else()
		set(${out} "${dir}" PARENT_SCOPE)
	endif()
endfunction()

set(HSDO_CONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/hsdo")
hsdo_install_dest(HSDO_CONFDIR_DEST "${HSDO_CONFDIR}")
if(IS_ABSOLUTE "${HSDO_CONFDIR_DEST}")
	set(HSDO_CONFDIR_FROM_BIN "${HSDO_CONFDIR}")
else()
	file(RELATIVE_PATH HSDO_CONFDIR_FROM_BIN "${CMAKE_INSTALL_FULL_BINDIR}" "${HSDO_CONFDIR}")
endif()

set(hsdo_system_libdirs ${CMAKE_C_IMPLICIT_LINK_DIRECTORIES}
	${CMAKE_PLATFORM_IMPLICIT_LINK_DIRECTORIES})
list(FIND hsdo_system_libdirs "${CMAKE_INSTALL_FULL_LIBDIR}" hsdo_libdir_is_system)
if(hsdo_libdir_is_system GREATER -1)
	set(HSDO_AGENT_RUNPATH "")
else()
	file(RELATIVE_PATH hsdo_bin_to_lib "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBDIR}")
	set(HSDO_AGENT_RUNPATH "$ORIGIN/${hsdo_bin_to_lib}")
endif()

# systemd: under the prefix (systemd also reads /usr/local/lib/systemd/system
# and /usr/local/lib/sysusers.d), except for /usr, where systemd.pc says
# where the distribution keeps them (/lib/systemd/system on Debian 12).
option(HSDO_INSTALL_SYSTEMD "Install the systemd units and the sysusers.d entry" ON)
set(hsdo_unitdir lib/systemd/system)
set(hsdo_sysusersdir lib/sysusers.d)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
	set(hsdo_unitdir /usr/lib/systemd/system)
	set(hsdo_sysusersdir /usr/lib/sysusers.d)
	pkg_get_variable(hsdo_pc_unitdir systemd systemdsystemunitdir)
	pkg_get_variable(hsdo_pc_sysusersdir systemd sysusersdir)
	if(hsdo_pc_unitdir)
		set(hsdo_unitdir "${hsdo_pc_unitdir}")
	endif()
	if(hsdo_pc_sysusersdir)
		set(hsdo_sysusersdir "${hsdo_pc_sysusersdir}")
	endif()
endif()
set(HSDO_SYSTEMD_UNITDIR "${hsdo_unitdir}" CACHE STRING
	"Where the units go (relative: under the prefix)")
set(HSDO_SYSUSERSDIR "${hsdo_sysusersdir}" CACHE STRING
	"Where the sysusers.d entry for the hsdo user goes (relative: under the prefix)")

find_program(HSDO_SCDOC scdoc)
mark_as_advanced(HSDO_SCDOC)
if(HSDO_SCDOC)
	set(hsdo_man_default ON)
else()
	set(hsdo_man_default OFF)
endif()
option(HSDO_BUILD_MAN "Build and install the man page hsdo-agent(8) (needs scdoc; on when scdoc is found)"
	${hsdo_man_default})
