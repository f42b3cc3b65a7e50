# PideInstallGenerated.cmake — runs at install time (install(CODE) in cmake/PideInstall.cmake):
# writes the example configuration and the systemd unit with the paths of THIS install's prefix.
#
#   prefix /usr (the .deb):  /etc/pide-gateway/pide-gateway.xml, /usr/lib/systemd/system/...,
#                            /var/lib/pide-gateway
#   any other prefix P:      P/etc/pide-gateway/pide-gateway.xml, P/lib/systemd/system/...,
#                            P/var/lib/pide-gateway
#
# An existing configuration is never overwritten: the new example goes next to it as
# pide-gateway.xml.dist. DESTDIR is honoured; every file written joins the install manifest.

set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" prefix "${prefix}")
if(prefix STREQUAL "/usr" OR prefix STREQUAL "")
  set(etc "/etc")
  set(var "/var")
  set(prefix "/usr")
else()
  set(etc "${prefix}/etc")
  set(var "${prefix}/var")
endif()
set(confdir "${etc}/pide-gateway")
set(bindir "${prefix}/${PIDE_BINDIR}")
set(datadir "${prefix}/${PIDE_DATADIR}")
set(adapterdir "${prefix}/${PIDE_ADAPTERDIR}")
set(statedir "${var}/lib/pide-gateway")
set(unitdir "${prefix}/lib/systemd/system")

# --- the example configuration: conf/pide-gateway.xml with installed paths ------------------
file(READ "${PIDE_SOURCE_DIR}/conf/pide-gateway.xml" xml)
foreach(pair
    "../build/adapters|${adapterdir}"
    "../wsdl/|${datadir}/wsdl/"
    "../schemas/|${datadir}/schemas/"
    "../var/pki/|keys/"
    "../var/pg/gateway.password|db.password"
    "host=127.0.0.1 port=54329 dbname=pide user=pide_gateway|host=localhost port=5432 dbname=pide user=pide_gateway"
    "../var/pg/auditor.password|auditor.password"
    "host=127.0.0.1 port=54329 dbname=pide user=pide_auditor|host=localhost port=5432 dbname=pide user=pide_auditor")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 from)
  list(GET pair 1 to)
  string(FIND "${xml}" "${from}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "conf/pide-gateway.xml no longer contains '${from}': update cmake/PideInstallGenerated.cmake")
  endif()
  string(REPLACE "${from}" "${to}" xml "${xml}")
endforeach()
string(REPLACE "<gateway xmlns" "<!--
  INSTALLED EXAMPLE, written by the installation (cmake install or the .deb) for this prefix. Relative paths below
  are relative to ${confdir}: put the signing key and certificate in keys/ (owner pide-gateway,
  key mode 600) and the database password of pide_gateway in db.password (mode 600).
  docs/operator-guide.md, \"First start\".
-->
<gateway xmlns" xml "${xml}")

set(config "$ENV{DESTDIR}${confdir}/pide-gateway.xml")
if(EXISTS "${config}")
  set(config "${config}.dist")
  message(STATUS "Keeping the existing ${confdir}/pide-gateway.xml; the new example is pide-gateway.xml.dist")
endif()
message(STATUS "Installing: ${config}")
file(MAKE_DIRECTORY "$ENV{DESTDIR}${confdir}/keys")
file(WRITE "${config}" "${xml}")
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${config}")

# --- the systemd unit: conf/pide-gateway.service names /usr/bin and /etc/pide-gateway ----------
file(READ "${PIDE_SOURCE_DIR}/conf/pide-gateway.service" unit)
string(REPLACE "/usr/bin/" "${bindir}/" unit "${unit}")
string(REPLACE "/etc/pide-gateway/" "${confdir}/" unit "${unit}")
# A daemon built without libsystemd never sends READY=1: systemd would wait for it and kill it.
if(NOT PIDE_HAVE_SYSTEMD)
  string(REPLACE "Type=notify\nNotifyAccess=main\n" "Type=simple\n" unit "${unit}")
endif()
set(unit_file "$ENV{DESTDIR}${unitdir}/pide-gateway.service")
message(STATUS "Installing: ${unit_file}")
file(MAKE_DIRECTORY "$ENV{DESTDIR}${unitdir}")
file(WRITE "${unit_file}" "${unit}")
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${unit_file}")

# The state directory (systemd's StateDirectory= makes it the service user's on start).
file(MAKE_DIRECTORY "$ENV{DESTDIR}${statedir}")
