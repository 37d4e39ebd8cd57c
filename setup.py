"""The compiled part of the build: the list path's reader (dmp_desktop/dmp/_ebrimscan.c).

Everything else is in pyproject.toml. The extension is optional: without a C compiler or
libxml2's headers (Debian: libxml2-dev), the build goes on and the pure-Python reader
(lxml) is used instead, with the same results, slower (issue #16, docs/performance.md).
"""

from __future__ import annotations

import shutil
import subprocess

from setuptools import Extension, setup


def libxml2_flags() -> tuple[list[str], list[str]]:
    """Include directories and libraries from pkg-config, else Debian's usual place."""
    pkg_config = shutil.which("pkg-config")
    if pkg_config:
        try:
            cflags = subprocess.run(  # noqa: S603 - pkg-config, found on PATH
                [pkg_config, "--cflags-only-I", "libxml-2.0"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            libs = subprocess.run(  # noqa: S603
                [pkg_config, "--libs-only-l", "libxml-2.0"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            return [f[2:] for f in cflags], [f[2:] for f in libs] or ["xml2"]
        except (OSError, subprocess.CalledProcessError):
            pass
    return ["/usr/include/libxml2"], ["xml2"]


includes, libraries = libxml2_flags()

setup(
    ext_modules=[
        Extension(
            "dmp_desktop.dmp._ebrimscan",
            sources=["dmp_desktop/dmp/_ebrimscan.c"],
            include_dirs=includes,
            libraries=libraries,
            optional=True,
        )
    ]
)
