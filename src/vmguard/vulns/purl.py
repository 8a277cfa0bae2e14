"""Package URLs (https://github.com/package-url/purl-spec) for installed distro packages.

``pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12``,
``pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1&distro=rocky-9.4``,
``pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3``. Encoding is left to
packageurl-python so that guest-controlled names cannot break the URL's structure.
Never invents a namespace: an unknown distribution gets its os-release id.
"""

from __future__ import annotations

from urllib.parse import quote

from packageurl import PackageURL

from vmguard.guest.facts import InstalledPackage, OsFacts
from vmguard.vulns.versions.evr import split_evr

_SLASH = "\x00"
_PURL_TYPE = {"dpkg": "deb", "rpm": "rpm", "apk": "apk", "windows": "generic"}
_NAMESPACE = {"rhel": "redhat", "ol": "oracle", "opensuse-leap": "opensuse"}


def _distro(os: OsFacts | None) -> str | None:
    if os is None or os.distro == "unknown":
        return None
    version = os.version
    if os.distro == "debian":
        version = version.split(".")[0]  # Debian names releases by major (debian-12)
    return f"{os.distro}-{version}" if version else os.distro


def package_purl(package: InstalledPackage, os: OsFacts | None) -> str:
    """The purl of one installed package."""
    qualifiers: dict[str, str] = {}
    if package.arch:
        qualifiers["arch"] = package.arch
    version = package.version
    if package.manager == "rpm":
        epoch, upstream, release = split_evr(version)
        version = f"{upstream}-{release}" if release else upstream
        if epoch:
            qualifiers["epoch"] = str(epoch)
    distro = _distro(os)
    if distro:
        qualifiers["distro"] = distro
    if package.manager == "dpkg" and package.source_name and package.source_name != package.name:
        qualifiers["upstream"] = package.source_name
    namespace = None
    if package.manager == "windows":
        # No purl type exists for Windows programs: "generic", namespaced by publisher.
        namespace = package.vendor.replace("/", _SLASH) or None
    elif os is not None and os.distro != "unknown":
        namespace = _NAMESPACE.get(os.distro, os.distro)
    # packageurl-python leaves "/" in a name or version as a separator; no package manager
    # allows one there, so a hostile name's slashes are encoded through a placeholder that
    # guest strings cannot hold (guest_text removed every control character).
    purl = PackageURL(
        type=_PURL_TYPE[package.manager],
        namespace=namespace,
        name=package.name.replace("/", _SLASH),
        version=version.replace("/", _SLASH),
        qualifiers=qualifiers,
    ).to_string()
    return purl.replace(quote(_SLASH), "%2F")
