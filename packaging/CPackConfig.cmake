set(CPACK_PACKAGE_NAME lvsd)
set(CPACK_PACKAGE_VENDOR "lvsd developers")
set(CPACK_PACKAGE_CONTACT "lvsd developers <dev@lvsd.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Load-balancer daemon: IPVS programmer, health checker and VRRP")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# Runtime library dependencies are read off the binaries by dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ipvsadm")
# The maintainer scripts use init-system-helpers' deb-systemd-helper and deb-systemd-invoke
# (Essential in Debian 12; named with the version whose helpers these scripts rely on).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "init-system-helpers (>= 1.54~)")
# /etc/lvsd/lvsd.conf is a conffile: dpkg keeps the operator's edits on upgrade.
# postinst/prerm/postrm: an upgrade restarts a running lvsd, removal stops it (see each).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_CURRENT_LIST_DIR}/conffiles;${CMAKE_CURRENT_LIST_DIR}/postinst;${CMAKE_CURRENT_LIST_DIR}/prerm;${CMAKE_CURRENT_LIST_DIR}/postrm")
# Keep the scripts' mode 0755 (CPack copies them as they are otherwise).
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
