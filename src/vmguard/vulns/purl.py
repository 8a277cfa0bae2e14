"""Package URLs (https://github.com/package-url/purl-spec) for installed packages.

``pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12``,
``pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1&distro=rocky-9.4``,
``pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3``. Encoding is left to
packageurl-python so that guest-controlled names cannot break the URL's structure.
Never invents a namespace: an unknown distribution gets its os-release id. Application
packages get their ecosystem's type and namespace rules: ``pkg:pypi/requests@2.19.1``,
``pkg:npm/%40babel/core@7.0.0``, ``pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1``,
``pkg:golang/golang.org/x/text@v0.3.7``, ``pkg:composer/monolog/monolog@1.0.0``.
"""

from __future__ import annotations

from urllib.parse import quote

from packageurl import PackageURL

from vmguard.guest.facts import InstalledPackage, OsFacts
from vmguard.vulns.ecosystems import APP_ECOSYSTEMS
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


def _encoded(purl: PackageURL) -> str:
    return purl.to_string().replace(quote(_SLASH), "%2F")


def _split_namespace(manager: str, name: str) -> tuple[str | None, str]:
    """(namespace, name) by the ecosystem's purl rules."""
    match manager:
        case "npm" | "composer" | "golang" if "/" in name:
            namespace, _, last = name.rpartition("/")
            segments = namespace.split("/")
            single = manager != "golang" and len(segments) > 1
            if single or (manager == "npm" and not namespace.startswith("@")):
                return None, name
            if any(part in ("", ".", "..") for part in segments) or not last:
                return None, name  # not a namespace: kept whole, its slashes encoded
            return namespace, last
        case "maven" if ":" in name:
            group, _, artifact = name.partition(":")
            return group, artifact
        case "pypi":
            return None, "-".join(name.replace("_", "-").split()).lower()
        case _:
            return None, name


def app_purl(package: InstalledPackage) -> str:
    """The purl of one application package (pypi, npm, maven, golang, cargo, gem...)."""
    namespace, name = _split_namespace(package.manager, package.name)
    return _encoded(
        PackageURL(
            type=APP_ECOSYSTEMS[package.manager].purl_type,
            namespace=namespace or None,
            name=name.replace("/", _SLASH),
            version=package.version.replace("/", _SLASH) or None,
        )
    )


def package_purl(package: InstalledPackage, os: OsFacts | None) -> str:
    """The purl of one installed package."""
    if package.manager in APP_ECOSYSTEMS:
        return app_purl(package)
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
