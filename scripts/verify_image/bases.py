"""Local stand-ins for the two base images (no registry here) and the host-side wheelhouse.

- ``debian:13-slim``: ``mmdebstrap --variant=minbase trixie``, like the real slim image.
- ``gcr.io/distroless/python3-debian13:nonroot``: the Debian 13 packages distroless assembles
  its python3-debian13 image from (static, base, cc and python layers), extracted without
  maintainer scripts, plus the CA bundle, passwd/group with ``nonroot`` (65532), an
  ``ld.so.cache`` and NO shell of any kind. Exactly those packages: distroless resolves no
  dependencies (its apt rules run with ``resolve_transitive = False``), so what Debian's
  dependency resolution adds (openssl, debconf, mawk, python3.13, the pip and setuptools
  wheels, ...) is removed again, or the stand-in would weigh more than the real image.

Each artefact is cached under the cache directory by a key made of its inputs (package list,
suite, architecture, lock files), so a warm run only imports or reuses them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

from host import Docker, log, run

SUITE = "trixie"
BUILDER_TAG = "debian:13-slim"
RUNTIME_TAG = "gcr.io/distroless/python3-debian13:nonroot"
KEY_LABEL = "tronpay.verify.key"
STANDIN_VERSION = "4"  # bump to rebuild every cached stand-in

# distroless python3-debian13, layer by layer (its static/, base/, cc/ and python3/ configs)
DISTROLESS_PACKAGES = (
    # static
    "base-files",
    "netbase",
    "tzdata",
    "tzdata-legacy",
    "media-types",
    # base
    "libc6",
    "libssl3t64",
    "libzstd1",
    "zlib1g",
    # cc
    "libgomp1",
    "libstdc++6",
    "libgcc-s1",
    "gcc-14-base",
    # python
    "libbz2-1.0",
    "libdb5.3t64",
    "libexpat1",
    "liblzma5",
    "libsqlite3-0",
    "libuuid1",
    "libncursesw6",
    "libtinfo6",
    "libcom-err2",
    "libcrypt1",
    "libc-bin",
    "libgssapi-krb5-2",
    "libk5crypto3",
    "libkeyutils1",
    "libkrb5-3",
    "libkrb5support0",
    "libnsl2",
    "libreadline8t64",
    "libtirpc3t64",
    "libffi8",
    "libpython3.13-minimal",
    "libpython3.13-stdlib",
    "python3.13-minimal",
    "python3.13-venv",
)
SHELLS = ("sh", "bash", "dash", "busybox", "rbash", "ash", "zsh", "ksh", "mksh", "posh")
# Present in Debian packages but not in a distroless image.
DROP = ("etc/apt", "var/lib/apt", "var/cache/apt", "var/lib/dpkg", "var/log", "usr/share/doc")
USER_ENTRIES = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
)
GROUP = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"
NSSWITCH = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"


def key_of(*parts: str | bytes) -> str:
    digest = hashlib.sha256(STANDIN_VERSION.encode())
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _has_image(docker: Docker, tag: str, key: str) -> bool:
    found = docker(
        "image", "inspect", "-f", f'{{{{index .Config.Labels "{KEY_LABEL}"}}}}', tag, check=False
    )
    return found.code == 0 and found.out.strip() == key


def ensure_builder_base(docker: Docker, cache: Path) -> str:
    """``debian:13-slim``: minbase trixie (apt, no Python: the Dockerfile installs it)."""
    key = key_of("builder", SUITE, "minbase")
    if _has_image(docker, BUILDER_TAG, key):
        return "cached image"
    tar = cache / f"debian13-slim-{key}.tar"
    how = "cached tarball"
    if not tar.exists():
        log(f"building the {BUILDER_TAG} stand-in with mmdebstrap")
        _mmdebstrap(["--variant=minbase", SUITE, str(tar)])
        how = "built"
    docker(
        "import",
        "--change",
        f"LABEL {KEY_LABEL}={key}",
        "--change",
        'CMD ["bash"]',
        tar,
        BUILDER_TAG,
    )
    return how


def ensure_runtime_base(docker: Docker, cache: Path) -> str:
    """``python3-debian13:nonroot``: the distroless package set, no shell, user 65532."""
    key = key_of("runtime", SUITE, "amd64", *DISTROLESS_PACKAGES)
    if _has_image(docker, RUNTIME_TAG, key):
        return "cached image"
    tar = cache / f"python3-debian13-nonroot-amd64-{key}.tar"
    how = "cached tarball"
    if not tar.exists():
        log(f"building the {RUNTIME_TAG} stand-in from Debian {SUITE} packages")
        build_distroless_rootfs_tar(cache, "amd64", tar)
        how = "built"
    docker(
        "import",
        "--change",
        f"LABEL {KEY_LABEL}={key}",
        "--change",
        "USER 65532",
        "--change",
        "WORKDIR /home/nonroot",
        "--change",
        "ENV LANG=C.UTF-8",
        "--change",  # distroless's static layer: OpenSSL finds the bundle (no openssl package)
        "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
        "--change",
        'ENTRYPOINT ["/usr/bin/python3.13"]',
        tar,
        RUNTIME_TAG,
    )
    return how


def distroless_rootfs(cache: Path, arch: str) -> Path:
    """The unpacked stand-in root filesystem for ``arch`` (cached; for the arm64 check)."""
    key = key_of("runtime", SUITE, arch, *DISTROLESS_PACKAGES)
    root = cache / f"rootfs-{arch}-{key}"
    if not (root / "usr/bin/python3.13").exists():
        log(f"building the {arch} distroless stand-in root filesystem")
        with tempfile.TemporaryDirectory(dir=cache) as work:
            tar = Path(work) / "rootfs.tar"
            build_distroless_rootfs_tar(cache, arch, tar)
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            run(["tar", "-C", root, "-xpf", tar])
    return root


def build_distroless_rootfs_tar(cache: Path, arch: str, out: Path) -> None:
    with tempfile.TemporaryDirectory(dir=cache) as work:
        root = Path(work) / "root"
        root.mkdir()
        packages_tar = Path(work) / "packages.tar"
        debs = Path(work) / "debs"
        debs.mkdir()
        _mmdebstrap(
            [
                "--variant=extract",
                f"--architectures={arch}",
                f"--include={','.join(DISTROLESS_PACKAGES)}",
                f'--extract-hook=cp "$1"/var/cache/apt/archives/*.deb {debs}/',
                SUITE,
                str(packages_tar),
            ]
        )
        run(["tar", "-C", root, "-xpf", packages_tar])
        dropped = _drop_unlisted_packages(root, debs)
        log(f"{arch} stand-in: dropped the dependencies distroless does not ship: {dropped}")
        _add_ca_bundle(Path(work), root)
        _make_distroless(root)
        run(["tar", "-C", root, "--numeric-owner", "-cpf", out, "."])


def _drop_unlisted_packages(root: Path, debs: Path) -> list[str]:
    """Remove the files of every extracted package that is not in DISTROLESS_PACKAGES."""
    dropped = []
    for deb in sorted(debs.glob("*.deb")):
        package = run(["dpkg-deb", "--field", deb, "Package"], capture=True).stdout.decode()
        if package.strip() in DISTROLESS_PACKAGES:
            continue
        dropped.append(package.strip())
        content = run(["dpkg-deb", "--fsys-tarfile", deb], capture=True).stdout
        with tarfile.open(fileobj=io.BytesIO(content)) as tar:
            members = tar.getmembers()
        for member in members:
            path = root / member.name.removeprefix("./")
            if not member.isdir() and (path.is_symlink() or path.is_file()):
                path.unlink()
        for member in reversed(members):  # then its directories that are left empty
            path = root / member.name.removeprefix("./")
            if member.isdir() and path.is_dir() and not path.is_symlink():
                with contextlib.suppress(OSError):  # not empty: another package's too
                    path.rmdir()
    return dropped


def _add_ca_bundle(work: Path, root: Path) -> None:
    """distroless ships only the concatenated bundle, not the ca-certificates package."""
    ca_tar = work / "ca.tar"
    _mmdebstrap(["--variant=extract", "--include=ca-certificates", SUITE, str(ca_tar)])
    with tarfile.open(ca_tar) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.isfile() and m.name.startswith("./usr/share/ca-certificates/mozilla/")
        ]
        pems = [tar.extractfile(m).read() for m in sorted(members, key=lambda m: m.name)]  # type: ignore[union-attr]
    certs = root / "etc/ssl/certs"
    certs.mkdir(parents=True, exist_ok=True)
    (certs / "ca-certificates.crt").write_bytes(b"".join(pem.rstrip() + b"\n" for pem in pems))


def _make_distroless(root: Path) -> None:
    for relative in DROP:
        target = root / relative
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
    for shell in _find_shells(root):
        shell.unlink()
    (root / "etc/passwd").write_text(USER_ENTRIES)
    (root / "etc/group").write_text(GROUP)
    (root / "etc/nsswitch.conf").write_text(NSSWITCH)
    for name in ("python", "python3"):
        link = root / "usr/bin" / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to("python3.13")
    home = root / "home/nonroot"
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    _chown(home, 65532)
    (root / "tmp").mkdir(exist_ok=True)
    (root / "tmp").chmod(0o1777)
    run(["ldconfig", "-r", root], check=False)  # the foreign-arch cache may not build: fine
    left = list(_find_shells(root))
    if left:
        raise RuntimeError(f"a shell survived in the stand-in: {left}")


def _find_shells(root: Path) -> Iterable[Path]:
    for directory in ("bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin"):
        base = root / directory
        if base.is_symlink() or not base.is_dir():
            continue
        for entry in base.iterdir():
            if entry.name in SHELLS:
                yield entry


def _chown(path: Path, uid: int) -> None:
    shutil.chown(path, user=uid, group=uid)


def _mmdebstrap(args: list[str]) -> None:
    # extract-only variants run no maintainer scripts, so no emulation is needed for arm64
    done = subprocess.run(
        ["mmdebstrap", "--quiet", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"mmdebstrap {' '.join(args[:3])} failed: {done.stderr[-2000:]}")


def ensure_wheelhouse(cache: Path, root: Path, locks: Iterable[str], arch: str) -> Path:
    """cp313 manylinux wheels of every lock (hash-checked) plus the build backend, downloaded
    on the host: pip inside a build container cannot verify the index's TLS here."""
    lock_list = list(locks)
    key = key_of("wheels", arch, *[(root / lock).read_bytes() for lock in lock_list])
    wheels = cache / f"wheelhouse-{arch}-{key}"
    if (wheels / ".complete").exists():
        return wheels
    log(f"downloading cp313 {arch} wheels into {wheels}")
    wheels.mkdir(parents=True, exist_ok=True)
    python = root / ".venv/bin/python"
    platforms = platform_args(arch)
    for lock in lock_list:
        run(
            [
                *(python, "-m", "pip", "download", "-q", "--disable-pip-version-check"),
                *("--require-hashes", "--only-binary=:all:", "--no-deps"),
                *("--implementation", "cp", "--python-version", "3.13", *platforms),
                *("-d", wheels, "-r", root / lock),
            ]
        )
    # setuptools builds the tronpay wheel inside the image (pure Python, any platform)
    run(
        [
            *(python, "-m", "pip", "download", "-q", "--disable-pip-version-check"),
            *("--only-binary=:all:", "--no-deps", "-d", wheels, "setuptools>=70"),
        ]
    )
    (wheels / ".complete").write_text(key)
    return wheels


def platform_args(arch: str) -> list[str]:
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(41, 16, -1)]
    return [arg for tag in [*tags, f"manylinux2014_{arch}"] for arg in ("--platform", tag)]
