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
# /etc/lvsd/lvsd.conf is a conffile: dpkg keeps the operator's edits on upgrade.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${CMAKE_CURRENT_LIST_DIR}/conffiles")
include(CPack)
