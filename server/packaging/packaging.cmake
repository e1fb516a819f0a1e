# `cpack -G DEB` in the build directory: a Debian package of the `stampede` command with
# its systemd unit, its settings file (a conffile) and maintainer scripts that create its
# user, data directory and secrets. Dependencies come from dpkg-shlibdeps (Debian's
# runtime libraries of what the binary links), plus adduser for the postinst.
install(TARGETS stampede RUNTIME DESTINATION bin)
install(FILES ${PROJECT_SOURCE_DIR}/server/packaging/stampede.service DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/server/packaging/stampede.default DESTINATION /etc/default
        RENAME stampede)
# Packaging installs what is built already; it never builds everything first.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME stampede)
set(CPACK_PACKAGE_VERSION 1.0.0)
set(CPACK_PACKAGE_CONTACT "Stampede maintainers <stampede@example.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "in-memory inventory and order server for flash sales")
set(CPACK_PACKAGE_DESCRIPTION
    "Stampede sells a few hundred units to tens of thousands of shoppers at one instant\nwithout overselling, with a write-ahead log, live updates over WebSocket and order email.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/server/packaging/debian/conffiles
    ${PROJECT_SOURCE_DIR}/server/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/server/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/server/packaging/debian/postrm)
include(CPack)
