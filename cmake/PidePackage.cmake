# PidePackage.cmake — `cpack` (run in the build folder) makes the Debian package
# pide-gateway_<version>_<arch>.deb: everything `cmake --install` lays out, installed under /usr
# with the configuration in /etc/pide-gateway (a conffile) and the maintainer scripts of
# packaging/debian (system user, permissions, systemd reload). docs/operator-guide.md.
include_guard(GLOBAL)

install(FILES ${CMAKE_SOURCE_DIR}/docs/operator-guide.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pide-gateway)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "pide-gateway maintainers <pide-gateway@example.gob.pe>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SOAP interoperability gateway for Peruvian state agencies (PIDE)")
set(CPACK_PACKAGE_DESCRIPTION "pide-gateway exposes SOAP services to member agencies, validates,
authenticates and routes each request through an adapter plugin to its provider (RENIEC,
Migraciones, Poder Judicial), signs every response and keeps a hash-chained exchange log in
PostgreSQL. Includes the auditor's tools (pide-audit), the adapter kit and the migrations.")
set(CPACK_PACKAGE_FILE_NAME "${CPACK_PACKAGE_NAME}_${PROJECT_VERSION}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# /usr, whatever CMAKE_INSTALL_PREFIX the build was configured with; DESTDIR-style staging so the
# absolute /etc and /var paths written by cmake/PideInstallGenerated.cmake land in the package.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/pide-gateway/pide-gateway")
# Library dependencies from the binaries themselves (dpkg-shlibdeps, in dpkg-dev); the programs
# the scripts run are named here: psql for pide-gateway-migrate and pide-audit, xmlsec1 for the
# auditor's signature checks, systemd's sysusers for the user (adduser is the fallback).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "postgresql-client, xmlsec1, adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql")
# A signing key in a PKCS#11 token needs OpenSSL's pkcs11 engine, loaded at run time (not a
# link dependency); SoftHSM2 is the software token (docs/signing.md, "Key custody").
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libengine-pkcs11-openssl, softhsm2")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm
    ${CMAKE_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
