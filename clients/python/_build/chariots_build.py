"""A minimal PEP 517 / PEP 660 build backend for the chariots package, standard library only,
so that ``pip install ./clients/python`` works offline (no setuptools or wheel to fetch)."""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "chariots"
PACKAGE = "chariots"


def _version():
    with open(os.path.join(ROOT, PACKAGE, "__init__.py"), encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def _metadata():
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
            "Summary: Client of the Chariots shared log: HTTP and raw TCP appends, causal chains, reads and tails\n"
            "Requires-Python: >=3.8\n" % (NAME, _version()))


ENTRY_POINTS = "[console_scripts]\nchariots-py = chariots.cli:main\n"
WHEEL = "Wheel-Version: 1.0\nGenerator: chariots_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _sources():
    pkg = os.path.join(ROOT, PACKAGE)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py"):
            yield "%s/%s" % (PACKAGE, name), os.path.join(pkg, name)


def _write_wheel(wheel_directory, files):
    version = _version()
    dist_info = "%s-%s.dist-info" % (NAME, version)
    files = list(files) + [
        ("%s/METADATA" % dist_info, _metadata().encode()),
        ("%s/WHEEL" % dist_info, WHEEL.encode()),
        ("%s/entry_points.txt" % dist_info, ENTRY_POINTS.encode()),
    ]
    record = []
    name = "%s-%s-py3-none-any.whl" % (NAME, version)
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in files:
            z.writestr(arc, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append("%s,sha256=%s,%d" % (arc, digest, len(data)))
        record.append("%s/RECORD,," % dist_info)
        z.writestr("%s/RECORD" % dist_info, "\n".join(record) + "\n")
    return name


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = []
    for arc, path in _sources():
        with open(path, "rb") as f:
            files.append((arc, f.read()))
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [("%s.pth" % NAME, (ROOT + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (NAME, _version())
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for rel in ["pyproject.toml", "README.md", "_build/chariots_build.py"] + [a for a, _ in _sources()]:
            p = os.path.join(ROOT, rel)
            if os.path.exists(p):
                t.add(p, arcname="%s/%s" % (base, rel))
        info = tarfile.TarInfo("%s/PKG-INFO" % base)
        data = _metadata().encode()
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return name
